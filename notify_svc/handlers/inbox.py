"""A person's inbox: marking items read or unread (only one's own)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.deps import NotifyDeps
from notify_svc.tables import InboxItem
from shared.problems import Problem


async def mark_read(session: AsyncSession, deps: NotifyDeps, item_id: uuid.UUID, user_id: str,
                    read: bool = True) -> InboxItem:
    item = (await session.execute(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.user_id == user_id).with_for_update()
    )).scalar_one_or_none()
    if item is None:
        raise Problem(404, "inbox_item_not_found", f"no inbox item {item_id} for you")
    if read and item.read_at is None:
        item.read_at = deps.clock.now()
    elif not read:
        item.read_at = None
    return item
