"""Messages from the platform about an order: 回访 (through the case file's own feedback handler), 重办, 催办.
Each applies once per ``message_id``; the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import CaseStatus, FeedbackSource, TimelineKind
from intake_svc.handlers.case_file import add_feedback
from intake_svc.hotline import store
from intake_svc.hotline.domain import HOTLINE_SOURCE, MessageKind, MessageOutcome, OrderPhase, feedback_outcome
from intake_svc.hotline.handlers.orders import invalid, parse_json
from intake_svc.hotline.tables import HotlineMessage, HotlineOrder
from intake_svc.store.cases import add_timeline
from intake_svc.tables import Case
from shared.bus.outbox import add_event
from shared.events import CaseReopenRequested, CaseUrged
from shared.events.case import FeedbackResult, ReopenReason
from shared.problems import Problem


@dataclass
class MessageReceipt:
    message: HotlineMessage
    repeated: bool


async def receive_message(session: AsyncSession, deps: IntakeDeps, client_id: str, order_no: str,
                          kind: MessageKind, body: bytes) -> MessageReceipt:
    """Apply a platform message once per ``message_id`` (a re-send gets the first answer)."""
    hotline = deps.hotline
    mapping = hotline.mapping(client_id)
    fields, errors = mapping.message.apply(parse_json(body))
    if kind == MessageKind.FEEDBACK and not errors and fields.get("result") is None:
        errors.append({"field": mapping.message.source_of("result"), "reason": "required", "code": "missing"})
    if errors:
        raise invalid(errors)
    now = hotline.clock.now()
    claimed = await session.execute(insert(HotlineMessage).values(
        client_id=client_id, message_id=fields["message_id"], order_no=order_no, kind=kind, payload=fields_json(fields),
        outcome=MessageOutcome.PENDING, received_at=now,
    ).on_conflict_do_nothing().returning(HotlineMessage.message_id))
    if claimed.first() is None:
        earlier = (await session.execute(select(HotlineMessage).where(
            HotlineMessage.client_id == client_id, HotlineMessage.message_id == fields["message_id"]))).scalar_one()
        if earlier.order_no != order_no or earlier.kind != kind:
            raise Problem(409, "message_id_reused", "this message_id was already used for another message")
        return MessageReceipt(earlier, repeated=True)
    order, case = await store.lock_order_and_case(session, client_id, order_no)
    actor = f"hotline:{client_id}"
    if kind == MessageKind.FEEDBACK:
        result = FeedbackResult(fields["result"])
        # the case file's 回访, as staff record it: the 12345 platform is its source. It answers our 办结 callback:
        # the order's phase decides (办结 owed or sent), not the case's status, which may still move with routing's
        # events that reach intake after the resolution (e.g. the assignment of a reopen asked twice)
        await add_feedback(session, deps, case, result, fields.get("text"), source=FeedbackSource.HOTLINE,
                           actor=actor, at=now, resolution_reported=order.phase == OrderPhase.RESOLVED)
        outcome = feedback_outcome(result.value)
    elif kind == MessageKind.REDO:
        outcome = await _redo(session, deps, order, case, actor, now)
    else:
        outcome = await _urge(session, deps, client_id, order, case, actor, now)
    message = (await session.execute(select(HotlineMessage).where(
        HotlineMessage.client_id == client_id, HotlineMessage.message_id == fields["message_id"]))).scalar_one()
    message.case_id, message.outcome = case.id, outcome
    return MessageReceipt(message, repeated=False)


def fields_json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


async def _redo(session: AsyncSession, deps: IntakeDeps, order: HotlineOrder, case: Case, actor: str,
                now: datetime) -> str:
    # a 重办 after our close (销号) reopens the case too: routing's closed assignment reopens (counted as 重办)
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        if order.phase == OrderPhase.REOPENED:
            return MessageOutcome.ALREADY_REOPENED  # e.g. an unsatisfied 回访 reopened it already
        raise Problem(409, "case_not_resolved",
                      f"only a resolved or closed case is redone (重办); the case is {case.status}",
                      status_now=case.status)
    add_timeline(session, case.id, now, TimelineKind.REDO_REQUESTED, "12345平台要求重办", actor=actor,
                 data={"order_no": order.order_no})
    await add_event(session, CaseReopenRequested(case_id=case.id, at=now, assignment_id=case.assignment_id,
                                                 reason=ReopenReason.HOTLINE_REDO, requested_by=actor,
                                                 source=HOTLINE_SOURCE), source=deps.source)
    return MessageOutcome.REOPEN_REQUESTED


async def _urge(session: AsyncSession, deps: IntakeDeps, client_id: str, order: HotlineOrder, case: Case,
                actor: str, now: datetime) -> str:
    count = (await session.execute(select(func.count()).select_from(HotlineMessage).where(
        HotlineMessage.client_id == client_id, HotlineMessage.order_no == order.order_no,
        HotlineMessage.kind == MessageKind.URGE))).scalar_one()
    add_timeline(session, case.id, now, TimelineKind.URGED, f"12345平台催办（第{count}次）", actor=actor,
                 data={"order_no": order.order_no, "urge_count": count, "unit_id": case.current_unit_id})
    await add_event(session, CaseUrged(case_id=case.id, at=now, assignment_id=case.assignment_id,
                                       unit_id=case.current_unit_id, urge_count=count, source=HOTLINE_SOURCE,
                                       urged_by=actor), source=deps.source)
    return MessageOutcome.URGED
