"""``Idempotency-Key`` on creating POSTs: one mechanism for every service.

A client that did not get an answer (timeout, dropped connection) sends the same request again with the same key:

- same key, same body (same method and path) → the stored answer, with ``Idempotent-Replayed: true``;
- same key, another body → 422 ``idempotency_key_reused``;
- same key while the first request is still running → 409 ``idempotency_in_progress``.

Keys are per principal (the token's ``sub``), kept ``IDEMPOTENCY_TTL``; a claim whose request died is taken over
after ``IDEMPOTENCY_ABANDONED``. The key is claimed in a transaction of its own, committed at once (so a concurrent
request sees it), the answer is written in the request's own transaction (with its effects: both or neither), and a
request that failed frees its claim so the client can try again. Each service has the table in its own schema
(``create_idempotency_table`` in its migration).

Routes take ``Idempotent`` and hand it their unit of work::

    async def record(..., idem: Idempotent) -> Response:
        async def work() -> Answer:
            feedback = await case_file.record_feedback(session, deps, case_id, body, user)
            return Answer(201, FeedbackPublic.model_validate(feedback, from_attributes=True))
        return await idem.run(session, work)

A multipart upload takes ``IdempotentUpload`` instead: its body cannot be read again once the form is parsed, and
its boundary differs on every retry, so the route names what the request stands for (the file's sha256, the
owner) with ``idem.covering(...)`` before ``run``.

``run`` is ``shared.bus.pending.run`` (deadlocks retried) with the key around it. ``POST /api/v1/cases`` (intake's
hot path) uses ``claim``/``release`` on its own asyncpg connection and embeds ``ANSWER_SQL`` in its one write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, Any

import asyncpg
import sqlalchemy as sa
import structlog
from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.auth import CurrentUser
from shared.bus import pending
from shared.clock import Clock
from shared.problems import Problem

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_ABANDONED = timedelta(minutes=1)
TABLE = "idempotency_keys"
IN_PROGRESS = 0  # ``status_code`` of a claim whose answer is not written yet


# --- the table (each service's migration) ----------------------------------------------------------------------

def create_idempotency_table(schema: str) -> None:
    """In a service's Alembic migration: the keys, their request's digest and stored answer."""
    from alembic import op

    op.create_table(
        TABLE,
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("principal", sa.String(128), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", pg.JSONB, nullable=False),
        sa.Column("headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


def drop_idempotency_table(schema: str) -> None:
    from alembic import op

    op.drop_table(TABLE, schema=schema)


# --- statements (asyncpg, autocommit: each commits on its own) ----------------------------------------------------

def _claim_sql(schema: str) -> str:
    return (f"INSERT INTO {schema}.{TABLE} (key, principal, request_hash, status_code, response, created_at) "
            f"VALUES ($1, $2, $3, {IN_PROGRESS}, '{{}}'::jsonb, $4) ON CONFLICT DO NOTHING RETURNING key")


def _earlier_sql(schema: str) -> str:
    return (f"SELECT request_hash, status_code, response::text AS body, headers::text AS headers, created_at "
            f"FROM {schema}.{TABLE} WHERE key = $1 AND principal = $2")


def _forget_sql(schema: str) -> str:
    return (f"DELETE FROM {schema}.{TABLE} WHERE key = $1 AND principal = $2 "
            f"AND (created_at < $3 OR (status_code = {IN_PROGRESS} AND created_at < $4))")


def _release_sql(schema: str) -> str:
    return f"DELETE FROM {schema}.{TABLE} WHERE key = $1 AND principal = $2 AND status_code = {IN_PROGRESS}"


def answer_sql(schema: str, status: str, response: str, headers: str, key: str, principal: str) -> str:
    """The stored answer written with the request's effects (the parameters' placeholders given); a statement of
    its own or a CTE of the caller's one write. No key: it matches nothing."""
    return (f"UPDATE {schema}.{TABLE} SET status_code = {status}, response = {response}, headers = {headers} "
            f"WHERE key = {key} AND principal = {principal}")


@dataclass
class StoredAnswer:
    status_code: int
    body: str  # JSON
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        return Response(self.body, status_code=self.status_code, media_type="application/json",
                        headers={**self.headers, REPLAYED_HEADER: "true"})


def reused() -> Problem:
    return Problem(422, "idempotency_key_reused", "this Idempotency-Key was already used with a different request",
                   errors=[{"field": "header.idempotency-key", "reason": "reused with another body",
                            "code": "idempotency_key_reused"}])


async def claim(conn: Any, schema: str, key: str, principal: str, digest: str,
                now: datetime) -> StoredAnswer | None:
    """Reserve ``key`` for this request on ``conn`` (an asyncpg connection in autocommit): ``None`` when it is
    ours (one statement when the key is new), the stored answer of a repeat; 422 for another body, 409 while the
    first request runs."""
    expired, abandoned = now - IDEMPOTENCY_TTL, now - IDEMPOTENCY_ABANDONED
    for _ in range(2):
        if await conn.fetchval(_claim_sql(schema), key, principal, digest, now) is not None:
            return None
        row = await conn.fetchrow(_earlier_sql(schema), key, principal)
        if row is None:  # released meanwhile: claim again
            continue
        if row["created_at"] < expired or (row["status_code"] == IN_PROGRESS and row["created_at"] < abandoned):
            await conn.execute(_forget_sql(schema), key, principal, expired, abandoned)  # only if still so
            continue
        if row["request_hash"] != digest:
            raise reused()
        if row["status_code"] == IN_PROGRESS:
            break
        return StoredAnswer(row["status_code"], row["body"], json.loads(row["headers"] or "{}"))
    raise Problem(409, "idempotency_in_progress", "a request with this Idempotency-Key is still in progress")


async def release(conn: Any, schema: str, key: str, principal: str) -> None:
    """Free the claim of a request that failed before anything was written: the client may retry with the key."""
    await conn.execute(_release_sql(schema), key, principal)


def digest(method: str, path: str, body: bytes) -> str:
    """The request a key stands for: method, path and the body (JSON compared by content, not by spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest()


def fingerprint(method: str, path: str, parts: tuple[str, ...]) -> str:
    """The request a key stands for when its body is not compared as sent (a multipart upload): method, path and
    the parts the route names (the file's sha256 among them)."""
    return hashlib.sha256(json.dumps([method, path, *parts], ensure_ascii=False).encode()).hexdigest()


# --- the route side -------------------------------------------------------------------------------------------

@dataclass
class Answer:
    """What a route's unit of work answers: stored with the key, replayed as it was."""

    status_code: int
    body: Any  # a pydantic model or anything ``jsonable_encoder`` takes
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> str:
        return json.dumps(jsonable_encoder(self.body), ensure_ascii=False, separators=(",", ":"))

    def response(self, body: str | None = None) -> Response:
        return Response(body if body is not None else self.encoded(), status_code=self.status_code,
                        media_type="application/json", headers=self.headers)


@asynccontextmanager
async def _autocommit(engine: AsyncEngine) -> AsyncIterator[Any]:
    """An asyncpg connection of the service's pool with no transaction open: each statement commits on its own."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        yield raw.driver_connection


@dataclass
class Idempotency:
    """The request's ``Idempotency-Key`` (``None``: none sent) and what it is checked against."""

    key: str | None
    principal: str
    digest: str
    schema: str
    engine: AsyncEngine
    clock: Clock
    method: str = "POST"
    path: str = ""

    def covering(self, *parts: str) -> Idempotency:
        """This key checked against ``parts`` (what the request stands for) instead of the body as sent."""
        return replace(self, digest=fingerprint(self.method, self.path, parts) if self.key else "")

    async def run(self, session: AsyncSession, work: Callable[[], Awaitable[Answer]]) -> Response:
        """``work`` in the route's transaction (deadlocks retried: ``pending.run``); with a key, once per key."""
        if self.key is None:
            return (await pending.run(session, work)).response()
        if not self.digest:
            raise RuntimeError("an upload's Idempotency-Key needs covering(...) before run")
        key = self.key
        async with _autocommit(self.engine) as conn:
            earlier = await claim(conn, self.schema, key, self.principal, self.digest, self.clock.now())
        if earlier is not None:
            return earlier.response()
        store = sa.text(answer_sql(self.schema, ":status", "CAST(:body AS jsonb)", "CAST(:headers AS jsonb)",
                                   ":key", ":principal"))
        encoded = ""

        async def work_and_answer() -> Answer:
            nonlocal encoded
            answer = await work()
            encoded = answer.encoded()
            await session.execute(store, {"status": answer.status_code, "body": encoded,
                                          "headers": json.dumps(answer.headers), "key": key,
                                          "principal": self.principal})
            return answer

        try:
            answer = await pending.run(session, work_and_answer)
        except BaseException:
            await self._release()
            raise
        return answer.response(encoded)

    async def _release(self) -> None:
        """If this fails too, the claim counts as abandoned after ``IDEMPOTENCY_ABANDONED``."""
        if self.key is None:
            return
        try:
            async with _autocommit(self.engine) as conn:
                await release(conn, self.schema, self.key, self.principal)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, sa.exc.SQLAlchemyError) as exc:
            log.warning("idempotency_release_failed", error=type(exc).__name__)


async def idempotency(request: Request, user: CurrentUser,
                      idempotency_key: Annotated[str | None, Header(max_length=200, min_length=1)] = None,
                      ) -> Idempotency:
    runtime = request.app.state.runtime
    return Idempotency(key=idempotency_key, principal=user.sub,
                       digest=digest(request.method, request.url.path, await request.body()) if idempotency_key
                       else "", schema=runtime.spec.schema, engine=runtime.engine, clock=runtime.clock,
                       method=request.method, path=request.url.path)


async def upload_idempotency(request: Request, user: CurrentUser,
                             idempotency_key: Annotated[str | None, Header(max_length=200, min_length=1)] = None,
                             ) -> Idempotency:
    """For a multipart body (read once, by the form parser): no digest until the route calls ``covering``."""
    runtime = request.app.state.runtime
    return Idempotency(key=idempotency_key, principal=user.sub, digest="", schema=runtime.spec.schema,
                       engine=runtime.engine, clock=runtime.clock, method=request.method, path=request.url.path)


Idempotent = Annotated[Idempotency, Depends(idempotency)]
IdempotentUpload = Annotated[Idempotency, Depends(upload_idempotency)]
