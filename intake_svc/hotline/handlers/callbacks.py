"""The callback outbox: what the platform is owed on case events (签收, 退单, 延期申请, 阶段回复, 办结), and the staff's
replies. The caller owns the transaction; the sender (``hotline.sender``) delivers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import TimelineKind
from intake_svc.domain.timeline import OUTCOME_ZH
from intake_svc.hotline import store
from intake_svc.hotline.domain import (
    ACTION_ZH,
    LEVEL_ZH,
    PLATFORM_RETURN_LEVELS,
    CallbackAction,
    CallbackStatus,
    OrderPhase,
)
from intake_svc.hotline.tables import HotlineCallback, HotlineOrder
from intake_svc.store.cases import add_timeline
from intake_svc.tables import Case
from shared.auth import Principal
from shared.bus.handlers import EventContext
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseEscalated,
    CaseExtensionRequested,
    CaseReopened,
    CaseResolved,
    CaseReturned,
)
from shared.problems import Problem
from shared.tracing import current_traceparent


async def enqueue(session: AsyncSession, order: HotlineOrder, action: CallbackAction, at: datetime,
                  case_code: str | None, extra: dict[str, Any]) -> HotlineCallback:
    """Owe the platform a callback; the caller holds the order row locked, so ``seq`` is the order's next."""
    order.next_seq += 1
    order.updated_at = at
    payload = {"order_no": order.order_no, "action": action.value, "seq": order.next_seq, "at": at.isoformat(),
               "case_code": case_code, **{k: v for k, v in extra.items() if v is not None}}
    callback = HotlineCallback(client_id=order.client_id, order_no=order.order_no, seq=order.next_seq,
                               case_id=order.case_id, action=action, payload=payload,
                               status=CallbackStatus.PENDING, next_attempt_at=at, created_at=at,
                               traceparent=current_traceparent())  # the consumed event's or the request's
    session.add(callback)
    if order.case_id is not None:
        add_timeline(session, order.case_id, at, TimelineKind.HOTLINE_CALLBACK, f"向12345平台报送{ACTION_ZH[action]}",
                     public=False, data={"order_no": order.order_no, "seq": order.next_seq, "action": action.value})
    return callback


# --- case events (run after intake's own handlers, in the consumer's transaction) ----------------------------


async def on_case_assigned(ctx: EventContext[IntakeDeps], event: CaseAssigned) -> None:
    for order, _ in await store.orders_of_case(ctx.session, event.case_id):
        order.unit_name = event.unit_name or event.unit_id


async def on_case_accepted(ctx: EventContext[IntakeDeps], event: CaseAccepted) -> None:
    """签收, once per order (and once more after a 重办): later acceptances after internal re-routing are ours."""
    for order, code in await store.orders_of_case(ctx.session, event.case_id):
        if order.phase in (OrderPhase.RECEIVED, OrderPhase.REOPENED):
            await enqueue(ctx.session, order, CallbackAction.ACCEPTED, event.at, code,
                          {"unit": order.unit_name or event.unit_id})
            order.phase = OrderPhase.ACCEPTED


async def on_case_returned(ctx: EventContext[IntakeDeps], event: CaseReturned) -> None:
    """退单 with the reason when the street (or above) returns the case: it is not the street's to handle."""
    if event.level not in PLATFORM_RETURN_LEVELS:
        return
    for order, code in await store.orders_of_case(ctx.session, event.case_id):
        if order.phase not in (OrderPhase.RETURNED, OrderPhase.RESOLVED):
            await enqueue(ctx.session, order, CallbackAction.RETURNED, event.at, code, {"text": event.reason})
            order.phase = OrderPhase.RETURNED


async def on_extension_requested(ctx: EventContext[IntakeDeps], event: CaseExtensionRequested) -> None:
    """延期申请 to the platform, which holds the street to its own deadline."""
    for order, code in await store.orders_of_case(ctx.session, event.case_id):
        if order.phase == OrderPhase.ACCEPTED:
            await enqueue(ctx.session, order, CallbackAction.EXTENSION_REQUESTED, event.at, code,
                          {"text": event.reason, "requested_due_at": event.requested_due_at.isoformat()})


async def on_case_escalated(ctx: EventContext[IntakeDeps], event: CaseEscalated) -> None:
    """阶段回复: the case went up the ladder."""
    for order, code in await store.orders_of_case(ctx.session, event.case_id):
        if order.phase == OrderPhase.ACCEPTED:
            await enqueue(ctx.session, order, CallbackAction.PROGRESS, event.at, code,
                          {"text": f"已提级至{LEVEL_ZH[event.to_level]}层面办理"})


async def on_case_resolved(ctx: EventContext[IntakeDeps], event: CaseResolved) -> None:
    """办结 with the result text: the staff's reply when one was recorded, else the outcome in plain Chinese."""
    for order, code in await store.orders_of_case(ctx.session, event.case_id):
        if order.phase in (OrderPhase.RETURNED, OrderPhase.RESOLVED):
            continue
        text_ = order.result_text or OUTCOME_ZH[event.outcome]
        await enqueue(ctx.session, order, CallbackAction.RESOLVED, event.at, code,
                      {"text": text_, "outcome": event.outcome.value, "unit": order.unit_name or event.unit_id})
        order.phase, order.result_text = OrderPhase.RESOLVED, None


async def on_case_reopened(ctx: EventContext[IntakeDeps], event: CaseReopened) -> None:
    """重办 (from the platform or an unsatisfied 回访): the next acceptance is signed for again."""
    for order, _ in await store.orders_of_case(ctx.session, event.case_id):
        if order.phase == OrderPhase.RESOLVED:
            order.phase = OrderPhase.REOPENED
            order.updated_at = event.at


# --- staff: 阶段回复, the 办结 reply, a parked callback sent again ------------------------------------------------


async def add_progress(session: AsyncSession, deps: IntakeDeps, order_no: str, client_id: str | None, text_: str,
                       user: Principal) -> HotlineCallback:
    """阶段回复 written by the handling staff, sent to the platform in turn."""
    order = await store.order_in_scope(session, order_no, user, client_id, for_update=True)
    if order.phase != OrderPhase.ACCEPTED:
        raise Problem(409, "order_not_accepted", f"a progress reply follows 签收; the order is {order.phase}",
                      phase=order.phase)
    now = deps.clock.now()
    case = await session.get(Case, order.case_id)
    return await enqueue(session, order, CallbackAction.PROGRESS, now, case.code if case else None, {"text": text_})


async def set_result_text(session: AsyncSession, order_no: str, client_id: str | None, text_: str,
                          user: Principal) -> HotlineOrder:
    """The reply sent with the next 办结 (instead of the outcome's standard wording)."""
    order = await store.order_in_scope(session, order_no, user, client_id, for_update=True)
    if order.phase in (OrderPhase.RETURNED, OrderPhase.RESOLVED):
        raise Problem(409, "order_closed", f"the order is {order.phase}", phase=order.phase)
    order.result_text = text_
    return order


async def retry_callback(session: AsyncSession, deps: IntakeDeps, order: HotlineOrder,
                         callback_id: int) -> HotlineCallback:
    """An admin sends a parked (failed) callback again: a fresh round of attempts, starting now."""
    callback = (await session.execute(select(HotlineCallback).where(
        HotlineCallback.id == callback_id, HotlineCallback.client_id == order.client_id,
        HotlineCallback.order_no == order.order_no).with_for_update())).scalar_one_or_none()
    if callback is None:
        raise Problem(404, "callback_not_found", f"no callback {callback_id} for order {order.order_no}")
    if callback.status == CallbackStatus.DELIVERED:
        raise Problem(409, "callback_delivered", "this callback was already delivered")
    callback.status, callback.attempts, callback.next_attempt_at = CallbackStatus.PENDING, 0, deps.clock.now()
    return callback
