"""Notify handlers: recipients from org events, inbox items from case events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.tables import InboxItem, Recipient
from shared.clock import SHANGHAI, Clock
from shared.events import CaseAssigned, Envelope, MemberUpserted
from shared.problems import Problem

ASSIGNED_TITLE = "新案件待签收：{code}"
ASSIGNED_BODY = "案件 {code} 已派发至本单位（{unit_id}），请在 {due} 前签收。派发依据：{explanation}"


@dataclass
class NotifyDeps:
    clock: Clock


async def on_member_upserted(session: AsyncSession, event: MemberUpserted, env: Envelope) -> None:
    values = dict(member_id=event.member_id, unit_id=event.unit_id, roles=event.roles, active=event.active)
    stmt = insert(Recipient).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["member_id"], set_=values))


async def on_case_assigned(deps: NotifyDeps, session: AsyncSession, event: CaseAssigned, env: Envelope) -> None:
    """An inbox item for each active member of the assigned unit, at most once per event and person."""
    members = (await session.execute(
        select(Recipient.member_id).where(Recipient.unit_id == event.unit_id,
                                          Recipient.active.is_(True))  # type: ignore[attr-defined]
    )).scalars().all()
    due = event.accept_due_at.astimezone(SHANGHAI)
    for member_id in members:
        stmt = insert(InboxItem).values(
            id=uuid.uuid4(), user_id=member_id, event_id=env.id, kind="case_assigned", case_id=event.case_id,
            case_code=event.case_code, title=ASSIGNED_TITLE.format(code=event.case_code),
            body=ASSIGNED_BODY.format(code=event.case_code, unit_id=event.unit_id,
                                      due=f"{due:%Y-%m-%d %H:%M}", explanation=event.explanation),
            created_at=deps.clock.now(),
        ).on_conflict_do_nothing(constraint="uq_inbox_user_event")
        await session.execute(stmt)


async def mark_read(session: AsyncSession, deps: NotifyDeps, item_id: uuid.UUID, user_id: str) -> InboxItem:
    item = (await session.execute(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.user_id == user_id).with_for_update()
    )).scalar_one_or_none()
    if item is None:
        raise Problem(404, "inbox_item_not_found", f"no inbox item {item_id} for you")
    if item.read_at is None:
        item.read_at = deps.clock.now()
    return item
