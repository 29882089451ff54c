"""After resolution — reopen (重办) and close (销号) — on request, on a follow-up answer or a 重办 order, and the
deadline scheduler's effects (``workers.scheduler``, one locked row at a time). The caller owns the transaction."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import Action, AssignmentStatus, IllegalTransition
from routing_svc.domain.assignment import transition as next_state
from routing_svc.handlers import lookback
from routing_svc.handlers.assignments import apply, escalate_to, illegal, passed_through, record, state_of
from routing_svc.handlers.routing import context, handover, next_level_up, unit_of
from routing_svc.schemas import ReopenBody
from routing_svc.tables import Assignment
from shared.auth import Principal
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.bus.outbox import add_event
from shared.events.case import (
    AssignCause,
    CaseClosed,
    CaseOverdue,
    CaseReopened,
    CaseReopenRequested,
    CloseReason,
    DeadlineClock,
    EscalationReason,
    FeedbackReceived,
    FeedbackResult,
    Level,
    ReopenReason,
)
from shared.problems import Problem

log = structlog.get_logger(__name__)

HOTLINE_SOURCE = "hotline"  # FeedbackReceived.source of the 12345 platform's own 回访
SCHEDULER = "scheduler"  # the actor of the scheduler's effects


# --- after resolution: reopen (重办) and close (销号) ---------------------------------------------------


async def current_assignment(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False
                             ) -> Assignment | None:
    stmt = select(Assignment).where(Assignment.case_id == case_id,
                                    Assignment.status.in_([s.value for s in (  # type: ignore[attr-defined]
                                        AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED,
                                        AssignmentStatus.SUSPENDED, AssignmentStatus.RESOLVED,
                                        AssignmentStatus.CLOSED)]))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def reopen(session: AsyncSession, deps: RoutingDeps, a: Assignment, reason: ReopenReason, actor: str,
                 note: str = "", *, climb: bool = True) -> Assignment:
    """Back to the resolving unit; from the second reopen on, one level up (the next level with handlers) unless
    ``climb`` is off (回头看 问题复发: the resolving unit again). A closed assignment reopens only from inside routing
    (回头看, a late 12345 不满意/重办); its open 回头看 is cancelled."""
    state = state_of(a)
    action = Action.REOPEN_CLOSED if state.status == AssignmentStatus.CLOSED else Action.REOPEN
    try:
        new_state = next_state(state, action)
    except IllegalTransition as exc:
        raise illegal(state, Action.REOPEN) from exc
    ctx = await context(session, deps)
    count = 1 + len((await session.execute(  # the current assignment is locked: reopens are serialised
        select(Assignment.id).where(Assignment.case_id == a.case_id,
                                    Assignment.cause == AssignCause.REOPENED.value))).all())
    unit = unit_of(ctx, a.unit_id)
    if count >= 2 and climb:
        unit = await next_level_up(session, ctx, a.unit_path) or unit
    now = deps.clock.now()
    if action == Action.REOPEN_CLOSED:
        await lookback.cancel_open(session, a.case_id, now)
    apply(a, new_state, now)
    record(session, a, now, "reopen", actor, reason=reason.value, note=note, reopen_count=count)
    await add_event(session, CaseReopened(case_id=a.case_id, at=now, previous_assignment_id=a.id, reason=reason,
                                          reopen_count=count, reopened_by=actor), source=deps.source)
    why = {ReopenReason.UNSATISFIED_FEEDBACK: "unsatisfied follow-up", ReopenReason.HOTLINE_REDO: "12345 redo",
           ReopenReason.STAFF: "reopened by staff", ReopenReason.LOOKBACK_RECURRED: "回头看: problem recurred",
           ReopenReason.PERFORMANCE_FAILED: "agreement not performed (未履行)"}[reason]
    if action == Action.REOPEN_CLOSED:
        why += ", after closing"
    where = "the resolving unit" if unit.id == a.unit_id else f"one level up from {a.unit_id}"
    return await handover(session, deps, ctx, a, unit, AssignCause.REOPENED,
                           f"reopened ({why}, #{count}): {where}")


async def reopen_by_request(session: AsyncSession, deps: RoutingDeps, case_id: uuid.UUID, user: Principal,
                            body: ReopenBody) -> Assignment:
    a = await current_assignment(session, case_id, for_update=True)
    if a is None or not (user.can_see(a.unit_path) or await passed_through(session, case_id, user)):
        raise Problem(404, "case_not_found", f"no routing for case {case_id} in your scope")
    if a.status == AssignmentStatus.CLOSED.value:  # a closed case reopens by its 回头看 or the 12345 platform
        raise illegal(state_of(a), Action.REOPEN)
    return await reopen(session, deps, a, body.reason, user.sub, body.note or "")


async def close(session: AsyncSession, deps: RoutingDeps, a: Assignment, reason: CloseReason, actor: str) -> None:
    new_state = next_state(state_of(a), Action.CLOSE)
    now = deps.clock.now()
    apply(a, new_state, now)
    a.closed_at, a.close_reason = now, reason.value
    record(session, a, now, "close", actor, reason=reason.value)
    await add_event(session, CaseClosed(case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id,
                                        reason=reason, closed_by=actor), source=deps.source)
    await lookback.schedule(session, deps, a, now)  # 回头看, when a lookback rule matches


async def on_feedback_received(ctx: EventContext[RoutingDeps], event: FeedbackReceived) -> None:
    """回访: unsatisfied → reopen (重办); satisfied or unreached → close (销号). The 12345 platform's 不满意 after our
    close (its 回访 answers the 办结 callback, whenever it comes) reopens the closed case: counted as 重办."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)  # a case routed earlier in this batch is visible
    a = await current_assignment(session, event.case_id, for_update=True)
    if (a is not None and a.status == AssignmentStatus.CLOSED.value and event.source == HOTLINE_SOURCE
            and event.result == FeedbackResult.UNSATISFIED):
        await reopen(session, deps, a, ReopenReason.UNSATISFIED_FEEDBACK, f"feedback:{event.source}")
        return
    if a is None or a.status != AssignmentStatus.RESOLVED.value:
        log.info("feedback_ignored", status=a.status if a else None)  # e.g. closed already by the no-answer window
        return
    actor = f"feedback:{event.source}"
    if event.result == FeedbackResult.UNSATISFIED:
        await reopen(session, deps, a, ReopenReason.UNSATISFIED_FEEDBACK, actor)
    else:
        await close(session, deps, a,
                    CloseReason.SATISFIED if event.result == FeedbackResult.SATISFIED else CloseReason.NO_ANSWER, actor)


async def on_reopen_requested(ctx: EventContext[RoutingDeps], event: CaseReopenRequested) -> None:
    """重办 asked from outside routing (e.g. a 12345 重办 order): reopen when the request names the case's resolved or
    closed assignment (or none) — a 重办 after our close reopens too; otherwise the case was reopened already, and
    the request is ignored."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)  # a case routed earlier in this batch is visible
    a = await current_assignment(session, event.case_id, for_update=True)
    if a is None or a.status not in (AssignmentStatus.RESOLVED.value, AssignmentStatus.CLOSED.value) or (
            event.assignment_id is not None and event.assignment_id != a.id):
        log.info("reopen_request_ignored", status=a.status if a else None)
        return
    await reopen(session, deps, a, event.reason, event.requested_by)


# --- the scheduler's effects (one locked row at a time) -------------------------------------------------


async def accept_overdue(session: AsyncSession, deps: RoutingDeps, a: Assignment) -> None:
    """签收超时: overdue event, then escalate (timeout) to the next level with handlers, if there is one."""
    await _overdue(session, deps, a, DeadlineClock.ACCEPT, escalate=True)


async def resolve_overdue(session: AsyncSession, deps: RoutingDeps, a: Assignment) -> None:
    """办结超期: overdue event once for supervision (督办); escalate when the decision's deadlines say so."""
    await _overdue(session, deps, a, DeadlineClock.RESOLVE, escalate=a.escalate_on_resolve_overdue)


async def _overdue(session: AsyncSession, deps: RoutingDeps, a: Assignment, clock: DeadlineClock, *,
                   escalate: bool) -> None:
    ctx = await context(session, deps)
    up = await next_level_up(session, ctx, a.unit_path) if escalate else None
    now = deps.clock.now()
    due = a.accept_due_at if clock == DeadlineClock.ACCEPT else a.resolve_due_at
    assert due is not None
    await add_event(session, CaseOverdue(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, unit_path=list(a.unit_path),
        assignee_id=a.assignee_id, level=Level(a.level), clock=clock, due_at=due, escalated=up is not None,
    ), source=deps.source)
    if clock == DeadlineClock.ACCEPT:
        a.accept_overdue_at = now
    else:
        a.resolve_overdue_at = now
    record(session, a, now, "overdue", SCHEDULER, clock=clock.value, due_at=due, escalated=up is not None)
    if up is not None:
        await escalate_to(session, deps, ctx, a, next_state(state_of(a), Action.ESCALATE), up,
                          EscalationReason.TIMEOUT, f"{clock.value} deadline missed", SCHEDULER)
    else:
        a.version += 1


async def close_unanswered(session: AsyncSession, deps: RoutingDeps, a: Assignment) -> None:
    await close(session, deps, a, CloseReason.NO_ANSWER, SCHEDULER)
