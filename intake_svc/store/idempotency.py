"""``Idempotency-Key`` for the case file's record writes (notes, parties, attachments), on intake's
``idempotency_keys`` table with the semantics of ``POST /cases``: keys per principal, kept 24 h, a repeat answers
the stored response (``Idempotent-Replayed: true``), the key with another request 422 ``idempotency_key_reused``.

These routes run in an ORM session, so the claim is written in the request's own transaction: a concurrent request
with the same key waits on the claim's row until the first one commits (then replays its answer) or rolls back (then
claims it itself) — no 409 needed. A stand-in until the one shared mechanism (``shared/idempotency.py``) lands.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.tables import SCHEMA
from shared.auth import Principal
from shared.problems import Problem

TTL = timedelta(hours=24)

CLAIM = text(f"INSERT INTO {SCHEMA}.idempotency_keys (key, principal, request_hash, status_code, response, "
             "created_at) VALUES (:key, :principal, :digest, 0, '{}'::jsonb, :now) "
             "ON CONFLICT DO NOTHING RETURNING key")
EARLIER = text(f"SELECT request_hash, status_code, response::text AS body, created_at "
               f"FROM {SCHEMA}.idempotency_keys WHERE key = :key AND principal = :principal FOR UPDATE")
FORGET = text(f"DELETE FROM {SCHEMA}.idempotency_keys WHERE key = :key AND principal = :principal")
ANSWER = text(f"UPDATE {SCHEMA}.idempotency_keys SET status_code = :status, response = CAST(:body AS jsonb) "
              "WHERE key = :key AND principal = :principal")


def digest(route: str, *parts: Any) -> str:
    """The request's fingerprint: the route (a key is not reusable across endpoints) and what it carried."""
    return hashlib.sha256(json.dumps([route, *parts], sort_keys=True, ensure_ascii=False, default=str)
                          .encode()).hexdigest()


@dataclass
class Replay:
    status_code: int
    body: str

    def response(self) -> Response:
        return Response(self.body, status_code=self.status_code, media_type="application/json",
                        headers={"Idempotent-Replayed": "true"})


async def claim(session: AsyncSession, key: str | None, user: Principal, request_digest: str,
                now: datetime) -> Replay | None:
    """Claim ``key`` in the current transaction; the stored answer of an earlier request with it, if any."""
    if key is None:
        return None
    params = {"key": key, "principal": user.sub}
    for _ in range(2):
        if (await session.execute(CLAIM, {**params, "digest": request_digest, "now": now})).first() is not None:
            return None
        row = (await session.execute(EARLIER, params)).first()
        if row is None:
            continue  # the other request rolled back: claim it now
        if row.created_at < now - TTL:
            await session.execute(FORGET, params)
            continue
        if row.request_hash != request_digest:
            raise Problem(422, "idempotency_key_reused",
                          "this Idempotency-Key was already used with a different request",
                          errors=[{"field": "header.idempotency-key", "reason": "reused with another request",
                                   "code": "idempotency_key_reused"}])
        if row.status_code == 0:  # claimed by POST /cases' autocommit claim and still running there
            raise Problem(409, "idempotency_in_progress", "a request with this Idempotency-Key is still in progress")
        return Replay(row.status_code, row.body)
    raise Problem(409, "idempotency_in_progress", "a request with this Idempotency-Key is still in progress")


async def remember(session: AsyncSession, key: str | None, user: Principal, status: int, body: str) -> None:
    """Store the answer with the claim, in the same transaction as the write it answers."""
    if key is not None:
        await session.execute(ANSWER, {"key": key, "principal": user.sub, "status": status, "body": body})
