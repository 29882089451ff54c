"""Notify REST API: the caller's inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from notify_svc import handlers
from notify_svc.handlers import NotifyDeps
from notify_svc.tables import InboxItem
from shared.auth import CurrentUser
from shared.pagination import Page, keyset_page
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["inbox"])


class InboxItemPublic(BaseModel):
    id: uuid.UUID
    kind: str
    case_id: uuid.UUID | None
    case_code: str | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


def _deps(request: Request) -> NotifyDeps:
    deps: NotifyDeps = request.app.state.deps
    return deps


@router.get("/inbox", response_model=Page[InboxItemPublic])
async def inbox(session: SessionDep, user: CurrentUser, unread: bool = False, cursor: str | None = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[InboxItemPublic]:
    """The caller's own inbox, newest first."""
    stmt = select(InboxItem).where(InboxItem.user_id == user.sub)
    if unread:
        stmt = stmt.where(InboxItem.read_at.is_(None))  # type: ignore[union-attr]
    rows, next_cursor = await keyset_page(session, stmt, InboxItem, cursor, limit)
    return Page(items=[InboxItemPublic.model_validate(r, from_attributes=True) for r in rows],
                next_cursor=next_cursor)


@router.post("/inbox/{item_id}/read", response_model=InboxItemPublic)
async def read(item_id: uuid.UUID, request: Request, session: SessionDep, user: CurrentUser) -> InboxItemPublic:
    async with session.begin():
        item = await handlers.mark_read(session, _deps(request), item_id, user.sub)
    return InboxItemPublic.model_validate(item, from_attributes=True)
