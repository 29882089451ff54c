"""HMAC-SHA256 request signing shared by both directions of the 12345 integration.

The signed string is ``METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n hex(sha256(body))`` where PATH is the request
path with its query string (if any), TIMESTAMP is Unix seconds and NONCE a random token used once. The
signature is the lowercase hex HMAC-SHA256 of that string with the client's secret.

Pure functions only: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

CLIENT_HEADER = "X-Hotline-Client"
TIMESTAMP_HEADER = "X-Hotline-Timestamp"
NONCE_HEADER = "X-Hotline-Nonce"
SIGNATURE_HEADER = "X-Hotline-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"

NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), canonical(method, path, timestamp, nonce, body), hashlib.sha256).hexdigest()


def signed_headers(client_id: str, secret: str, method: str, path: str, body: bytes, now: float) -> dict[str, str]:
    timestamp, nonce = str(int(now)), secrets.token_urlsafe(18)
    return {CLIENT_HEADER: client_id, TIMESTAMP_HEADER: timestamp, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: sign(secret, method, path, timestamp, nonce, body)}


class SignatureError(Exception):
    """Why a signed request is refused: ``status`` 401 (or 409 for a replay), a stable ``code``, the header."""

    def __init__(self, status: int, code: str, detail: str, header: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.header = status, code, detail, header


@dataclass(frozen=True)
class SignedRequest:
    client_id: str
    timestamp: int
    nonce: str


def verify(headers: dict[str, str], secrets_by_client: dict[str, str], method: str, path: str, body: bytes,
           now: float, skew_seconds: int) -> SignedRequest:
    """Check client, timestamp window and signature (the nonce's freshness is the caller's store's job)."""
    values = {h: headers.get(h.lower(), "") for h in (CLIENT_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)}
    for header, value in values.items():
        if not value:
            raise SignatureError(401, "signature_missing", f"the {header} header is required", header)
    client_id = values[CLIENT_HEADER]
    secret = secrets_by_client.get(client_id)
    if secret is None:
        raise SignatureError(401, "unknown_client", "unknown hotline client", CLIENT_HEADER)
    raw_ts = values[TIMESTAMP_HEADER]
    if not raw_ts.isdigit() or len(raw_ts) > 12:
        raise SignatureError(401, "bad_timestamp", "the timestamp must be Unix seconds", TIMESTAMP_HEADER)
    timestamp = int(raw_ts)
    if abs(now - timestamp) > skew_seconds:
        raise SignatureError(401, "stale_timestamp",
                             f"the timestamp is more than {skew_seconds} seconds away from our clock", TIMESTAMP_HEADER)
    nonce = values[NONCE_HEADER]
    if not NONCE_RE.fullmatch(nonce):
        raise SignatureError(401, "bad_nonce", "the nonce must be 16-64 characters of [A-Za-z0-9_-]", NONCE_HEADER)
    expected = sign(secret, method, path, raw_ts, nonce, body)
    if not hmac.compare_digest(expected, values[SIGNATURE_HEADER].lower()):
        raise SignatureError(401, "bad_signature", "the signature does not match the request", SIGNATURE_HEADER)
    return SignedRequest(client_id=client_id, timestamp=timestamp, nonce=nonce)
