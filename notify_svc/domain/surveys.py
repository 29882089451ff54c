"""Satisfaction survey (回访) tokens and statuses (pure, no I/O): a signed, expiring link per resolved case."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from datetime import UTC, datetime
from enum import StrEnum


class SurveyStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    UNREACHED = "unreached"  # no answer by its expiry (未答复)
    CANCELLED = "cancelled"  # the case left the loop before an answer (merged into another case)


SOURCE = "survey"  # the ``source`` of the feedback events a survey records
BY_CITIZEN = "citizen"  # ``recorded_by`` of an answer
BY_NOTIFY = "notify"  # ``recorded_by`` of an expiry


class SurveyLinkInvalid(ValueError):
    """Forged, malformed or unknown: answered as a 404 (nothing tells a guess from a real link)."""


class SurveyExpired(ValueError):
    """Past its expiry: answered as a 410."""


def key(survey_secret: str | None, jwt_secret: str) -> bytes:
    if survey_secret:
        return survey_secret.encode()
    return hashlib.sha256(b"fq-survey:" + jwt_secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, survey_id: uuid.UUID, expires_at: datetime) -> str:
    """``<id|expiry>.<mac>``: the survey id and its expiry, HMAC-SHA256 signed (truncated to 128 bits)."""
    payload = survey_id.bytes + struct.pack(">Q", int(expires_at.timestamp()))
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(secret: bytes, token: str, now: datetime) -> tuple[uuid.UUID, datetime]:
    """The survey id of a valid token; ``SurveyLinkInvalid`` for anything forged or malformed, ``SurveyExpired``
    once expired."""
    try:
        head, _, tail = token.partition(".")
        payload, mac = _unb64(head), _unb64(tail)
        if len(payload) != 24:
            raise ValueError("length")
    except (ValueError, TypeError) as exc:
        raise SurveyLinkInvalid() from exc
    good = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(good, mac):
        raise SurveyLinkInvalid()
    survey_id = uuid.UUID(bytes=payload[:16])
    expires = datetime.fromtimestamp(struct.unpack(">Q", payload[16:])[0], UTC)
    if now >= expires:
        raise SurveyExpired()
    return survey_id, expires
