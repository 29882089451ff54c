"""AES-256-GCM sealing of personal data, with a key id so keys can rotate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Sealer:
    """``seal`` → ``<key_id>.<base64(nonce|ciphertext)>``; ``open`` accepts any key it was given."""

    def __init__(self, keys: dict[str, str], current: str) -> None:
        self._keys = {kid: AESGCM(base64.b64decode(k)) for kid, k in keys.items()}
        if current not in self._keys:
            raise ValueError(f"current key id {current!r} not among the keys")
        for kid, k in keys.items():
            if len(base64.b64decode(k)) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes, base64-encoded")
        self.current = current

    @classmethod
    def single(cls, key_b64: str, key_id: str = "k1") -> Sealer:
        return cls({key_id: key_b64}, key_id)

    def seal(self, plaintext: str, aad: bytes = b"") -> str:
        nonce = os.urandom(12)
        ct = self._keys[self.current].encrypt(nonce, plaintext.encode(), aad)
        return f"{self.current}.{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def open(self, sealed: str, aad: bytes = b"") -> str:
        kid, _, body = sealed.partition(".")
        raw = base64.urlsafe_b64decode(body)
        return self._keys[kid].decrypt(raw[:12], raw[12:], aad).decode()


def blind_index(key_b64: str, kind: str, value: str) -> str:
    """A keyed hash (HMAC-SHA256) for finding equal values without storing or decrypting them."""
    mac = hmac.new(base64.b64decode(key_b64), f"{kind}:{value}".encode(), hashlib.sha256)
    return f"{kind}:{mac.hexdigest()[:32]}"
