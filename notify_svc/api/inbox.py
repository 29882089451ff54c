"""The caller's inbox and its live stream (SSE)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import func, select
from sse_starlette.sse import EventSourceResponse

from notify_svc.deps import Deps
from notify_svc.handlers import inbox as items
from notify_svc.schemas import InboxItemPublic, UnreadCount
from notify_svc.tables import InboxItem
from shared.auth import Principal, ScopedUser, TokenVerifier
from shared.bus import pending
from shared.pagination import Page, keyset_page
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/inbox", response_model=Page[InboxItemPublic])
async def inbox(session: SessionDep, user: ScopedUser, unread: bool = False, cursor: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[InboxItemPublic]:
    """The caller's own inbox, newest first (``unread=true``: only what is not read yet)."""
    stmt = select(InboxItem).where(InboxItem.user_id == user.sub)
    if unread:
        stmt = stmt.where(InboxItem.read_at.is_(None))  # type: ignore[union-attr]
    rows, next_cursor = await keyset_page(session, stmt, InboxItem, cursor, limit)
    return Page(items=[InboxItemPublic.model_validate(r, from_attributes=True) for r in rows],
                next_cursor=next_cursor)


@router.get("/inbox/unread-count", response_model=UnreadCount)
async def unread_count(session: SessionDep, user: ScopedUser) -> UnreadCount:
    n = (await session.execute(select(func.count()).select_from(InboxItem).where(
        InboxItem.user_id == user.sub, InboxItem.read_at.is_(None)))).scalar_one()  # type: ignore[union-attr]
    return UnreadCount(unread=n)


@router.post("/inbox/{item_id}/read", response_model=InboxItemPublic)
async def read(item_id: uuid.UUID, session: SessionDep, user: ScopedUser, deps: Deps) -> InboxItemPublic:
    async with pending.transaction(session):
        item = await items.mark_read(session, deps, item_id, user.sub)
    return InboxItemPublic.model_validate(item, from_attributes=True)


@router.post("/inbox/{item_id}/unread", response_model=InboxItemPublic)
async def unread_item(item_id: uuid.UUID, session: SessionDep, user: ScopedUser, deps: Deps) -> InboxItemPublic:
    async with pending.transaction(session):
        item = await items.mark_read(session, deps, item_id, user.sub, read=False)
    return InboxItemPublic.model_validate(item, from_attributes=True)


def _stream_user(request: Request, access_token: str | None) -> Principal:
    """EventSource cannot send headers: the token may come as ``?access_token=`` too."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    raw = token.strip() if scheme.lower() == "bearer" and token else access_token
    if not raw:
        raise Problem(401, "missing_token", "send an Authorization: Bearer <token> header or ?access_token=",
                      headers={"WWW-Authenticate": 'Bearer realm="fengqiao"'})
    verifier: TokenVerifier = request.app.state.runtime.verifier
    user = verifier.verify(raw)
    user.scope_unit()  # like every inbox endpoint: 403 no_unit for a token naming no unit
    return user


@router.get("/inbox/stream", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "inbox items as they arrive"}})
async def inbox_stream(request: Request, deps: Deps, access_token: str | None = None,
                       last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    """Server-sent events: one ``inbox`` event per new item of the caller (``id`` = item id). A reconnecting
    client sending ``Last-Event-ID`` first gets what it missed."""
    user = _stream_user(request, access_token)
    hub = deps.hub
    queue = hub.subscribe(user.sub)
    runtime = request.app.state.runtime
    missed: list[InboxItem] = []
    if last_event_id:
        try:
            last_id = uuid.UUID(last_event_id)
        except ValueError:
            last_id = None
        async with runtime.session() as session:
            last = await session.get(InboxItem, last_id) if last_id else None
            if last is not None and last.user_id == user.sub:
                # at least once: items stamped at the very instant of the last one are sent again (ids dedupe)
                missed = list((await session.execute(select(InboxItem).where(
                    InboxItem.user_id == user.sub, InboxItem.created_at >= last.created_at,  # type: ignore[arg-type]
                    InboxItem.id != last.id)
                    .order_by(InboxItem.created_at, InboxItem.id).limit(500))).scalars())  # type: ignore[arg-type]

    def as_event(row: InboxItem) -> dict[str, str]:
        item = InboxItemPublic.model_validate(row, from_attributes=True).model_dump(mode="json")
        return {"event": "inbox", "id": item["id"], "data": json.dumps(item, ensure_ascii=False)}

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "ready", "data": "{}"}
            for it in missed:
                yield as_event(it)
            while True:
                item_id, data = await queue.get()
                if data:
                    yield {"event": "inbox", "id": item_id, "data": data}  # the public item, as the handler wrote it
                    continue
                async with runtime.session() as session:
                    row = await session.get(InboxItem, uuid.UUID(item_id))
                if row is not None:
                    yield as_event(row)
        except asyncio.CancelledError:
            raise
        finally:
            hub.unsubscribe(user.sub, queue)

    return EventSourceResponse(events(), ping=15)
