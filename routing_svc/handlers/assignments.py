"""The assignment workflow: every action a unit takes on its assignment after routing (``handlers.routing``) made
it — accept, return, extension, suspend/resume, escalate, dispatch, resolve.

Handlers load → call the domain → save (outbox rows included); the caller owns the transaction. Every change of
the handling unit ends the current assignment (returned / escalated / dispatched) and starts a new one, with the
"why" event first and then ``fq.case.assigned.v1`` carrying its ``cause``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import Action, AssignmentStatus, IllegalTransition, State
from routing_svc.domain.assignment import transition as next_state
from routing_svc.domain.explain import explain_zh
from routing_svc.domain.locate import LocateMethod, UnitInfo
from routing_svc.domain.org import RANK
from routing_svc.handlers.routing import (
    Context,
    context,
    handover,
    locate_case,
    next_level_up,
    span_of,
    start_assignment,
    street_of,
    task_force_of,
)
from routing_svc.schemas import (
    AcceptBody,
    DispatchBody,
    EscalateBody,
    ReasonBody,
    ResolveBody,
    ResumeBody,
)
from routing_svc.store.tasks import co_handles, guard_resolve
from routing_svc.tables import Assignment, AssignmentLog
from shared import preconditions
from shared.auth import Principal, Role
from shared.bus.outbox import add_event
from shared.events import CaseAccepted, CaseResolved
from shared.events.case import (
    AssignCause,
    CaseEscalated,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    EscalationReason,
    Level,
    Outcome,
)
from shared.problems import Problem
from shared.worktime import WorkSpan

log = structlog.get_logger(__name__)

DISPATCHER_ROLES = (Role.STREET_ADMIN,)

def state_of(a: Assignment) -> State:
    return State(AssignmentStatus(a.status),
                 suspended_from=AssignmentStatus(a.suspended_from) if a.suspended_from else None,
                 extension_pending=a.pending_extension is not None)


def record(session: AsyncSession, a: Assignment, at: datetime, action: str, actor: str, **detail: Any) -> None:
    session.add(AssignmentLog(assignment_id=a.id, case_id=a.case_id, at=at, action=action, actor=actor,
                              detail={k: v.isoformat() if isinstance(v, datetime) else v for k, v in detail.items()}))


# --- loading and authorising ---------------------------------------------------------------------------


async def passed_through(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> bool:
    """Whether the caller's unit handled (or is above a unit that handled) the case: read-only sight."""
    if user.unit_id is None:
        return False
    row = (await session.execute(
        select(Assignment.id).where(Assignment.case_id == case_id,
                                    Assignment.unit_path.contains([user.unit_id])).limit(1)  # type: ignore[attr-defined]
    )).first()
    return row is not None


async def get_assignment(session: AsyncSession, assignment_id: uuid.UUID, user: Principal,
                         *, for_update: bool = False) -> Assignment:
    """An assignment the caller may see: in its subtree, or of a case that passed through its unit."""
    stmt = select(Assignment).where(Assignment.id == assignment_id)
    if for_update:
        stmt = stmt.with_for_update()
    a = (await session.execute(stmt)).scalar_one_or_none()
    if a is None or not (user.can_see(a.unit_path) or await passed_through(session, a.case_id, user)
                         or await co_handles(session, a.case_id, user)):  # a 协办 member reads its case only
        raise Problem(404, "assignment_not_found", f"no assignment {assignment_id} in your scope")
    structlog.contextvars.bind_contextvars(case_id=str(a.case_id))
    return a


def may_act(a: Assignment, user: Principal) -> bool:
    return user.can_see(a.unit_path)


def check_version(a: Assignment, if_match: int) -> None:
    """412 ``precondition_failed`` unless the client acts on the version it read (the row is locked)."""
    preconditions.check_version(a.version, if_match, "assignment")


def illegal(state: State, action: Action, detail: str | None = None) -> Problem:
    exc = IllegalTransition(state, action)
    return Problem(409, "illegal_transition", detail or str(exc), allowed_actions=exc.allowed)


async def load(session: AsyncSession, assignment_id: uuid.UUID, user: Principal, action: Action,
                if_match: int) -> tuple[Assignment, State]:
    """Lock the assignment, check scope (404 / 403 read-only), version (412) and the transition (409)."""
    a = await get_assignment(session, assignment_id, user, for_update=True)
    if not may_act(a, user):
        raise Problem(403, "read_only", "the case passed through your unit: you can see it but not act on it")
    check_version(a, if_match)
    state = state_of(a)
    try:
        return a, next_state(state, action)
    except IllegalTransition as exc:
        raise illegal(state, action) from exc


def apply(a: Assignment, state: State, now: datetime) -> None:
    a.status = state.status.value
    a.suspended_from = state.suspended_from.value if state.suspended_from else None
    if not state.extension_pending:
        a.pending_extension = None
    a.updated_at = now
    a.version += 1


# --- actions -------------------------------------------------------------------------------------------


async def accept(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                 body: AcceptBody, if_match: int) -> Assignment:
    a, state = await load(session, assignment_id, user, Action.ACCEPT, if_match)
    ctx = await context(session, deps)
    now = deps.clock.now()
    apply(a, state, now)
    a.accepted_by, a.accepted_at = user.sub, now
    if a.resolve_span is not None:
        a.resolve_due_at = ctx.add(now, span_of(a.resolve_span))
        event_due = a.resolve_due_at
    else:  # followup track: no hard deadline; the event carries the review date, the scheduler never fires
        event_due = ctx.add(now, WorkSpan(days=deps.followup_review_days))
        a.resolve_due_at = event_due
    record(session, a, now, "accept", user.sub, note=body.note, resolve_due_at=a.resolve_due_at)
    await add_event(session, CaseAccepted(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, accepted_by=user.sub,
        assignee_id=a.assignee_id, resolve_due_at=event_due, accepted_on_time=now <= a.accept_due_at,
    ), source=deps.source)
    return a


async def return_case(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                      body: ReasonBody, if_match: int) -> Assignment:
    """退单: re-route without the units that returned it; the second return goes to the street centre, which
    dispatches it. A return by the street centre (or above) sends the case back to where it came from (e.g. the
    12345 platform, for an order outside the street's jurisdiction): no new assignment follows."""
    a, state = await load(session, assignment_id, user, Action.RETURN, if_match)
    ctx = await context(session, deps)
    now = deps.clock.now()
    returned = set((await session.execute(
        select(Assignment.unit_id).where(Assignment.case_id == a.case_id,
                                         Assignment.status == AssignmentStatus.RETURNED.value)
    )).scalars().all())
    count = len(returned) + 1  # the current assignment is locked: returns of this case are serialised
    returned.add(a.unit_id)
    apply(a, state, now)
    record(session, a, now, "return", user.sub, reason=body.reason, return_count=count)
    await add_event(session, CaseReturned(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, level=Level(a.level), reason=body.reason,
        returned_by=user.sub, return_count=count,
    ), source=deps.source)
    if RANK[Level(a.level)] <= RANK[Level.STREET]:
        return a  # out of the street's jurisdiction: back to the channel, routing's part ends here
    street = street_of(ctx, a.unit_path)
    if count < 2 and a.facts is not None:
        units = {k: u for k, u in ctx.units.items() if k not in returned}
        located = locate_case(a.facts, deps, a.case_id, units)
        if located is not None and located.method != LocateMethod.TRIAGE:
            routed = ctx.route(a.facts, located.unit, now, units)
            decision, unit = routed.decision, routed.target
            if unit.id not in returned and unit.level != Level.BUILDING:
                return await start_assignment(
                    session, deps, ctx, previous=a, unit=unit, track=decision.track, forces=list(decision.forces),
                    deadlines=decision.deadlines, rule_id=decision.rule_id,
                    explanation=explain_zh(located, decision, unit, "returned"),
                    cause=AssignCause.RETURNED, task_force=task_force_of(a))
    if street is None:
        raise Problem(409, "no_street_centre", "no street centre to take the returned case")
    if count < 2:
        return await handover(session, deps, ctx, a, street, AssignCause.RETURNED,
                               f"returned by {a.unit_id} and no other unit located: street centre {street.id} decides")
    return await handover(session, deps, ctx, a, street, AssignCause.DECIDED,
                           f"returned {count} times: the street centre {street.id} decides")


async def suspend(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                  body: ReasonBody, if_match: int) -> Assignment:
    a, state = await load(session, assignment_id, user, Action.SUSPEND, if_match)
    now = deps.clock.now()
    apply(a, state, now)
    a.suspended_at = now
    record(session, a, now, "suspend", user.sub, reason=body.reason)
    await add_event(session, CaseSuspended(case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id,
                                           assignee_id=a.assignee_id,
                                           reason=body.reason, suspended_by=user.sub), source=deps.source)
    return a


async def resume(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                 body: ResumeBody, if_match: int) -> Assignment:
    """The running clock's deadline moves by the working time the assignment was suspended."""
    a, state = await load(session, assignment_id, user, Action.RESUME, if_match)
    ctx = await context(session, deps)
    now = deps.clock.now()
    assert a.suspended_at is not None
    paused = ctx.calendar.working_seconds(a.suspended_at, now)
    shift = WorkSpan(hours=paused / 3600)
    apply(a, state, now)
    a.suspended_at = None
    accept_due = resolve_due = None
    if state.status == AssignmentStatus.ASSIGNED:
        a.accept_due_at = accept_due = ctx.add(a.accept_due_at, shift) if paused > 0 else a.accept_due_at
    elif a.resolve_due_at is not None:
        a.resolve_due_at = resolve_due = ctx.add(a.resolve_due_at, shift) if paused > 0 else a.resolve_due_at
    record(session, a, now, "resume", user.sub, note=body.note, paused_working_seconds=paused,
            accept_due_at=accept_due, resolve_due_at=resolve_due)
    await add_event(session, CaseResumed(case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id,
                                         assignee_id=a.assignee_id,
                                         resumed_by=user.sub, accept_due_at=accept_due, resolve_due_at=resolve_due),
                    source=deps.source)
    return a


async def escalate(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                   body: EscalateBody, if_match: int) -> Assignment:
    """提级 on request: to the next level up that has handlers. Returns the new assignment."""
    a, state = await load(session, assignment_id, user, Action.ESCALATE, if_match)
    ctx = await context(session, deps)
    up = await next_level_up(session, ctx, a.unit_path)
    if up is None:
        raise illegal(state_of(a), Action.ESCALATE, "no level above this unit has handlers to escalate to")
    return await escalate_to(session, deps, ctx, a, state, up, EscalationReason.REQUEST, body.reason, user.sub)


async def escalate_to(session: AsyncSession, deps: RoutingDeps, ctx: Context, a: Assignment, state: State,
                      up: UnitInfo, reason: EscalationReason, note: str, actor: str) -> Assignment:
    now = deps.clock.now()
    apply(a, state, now)
    record(session, a, now, "escalate", actor, reason=reason.value, note=note, to_unit_id=up.id)
    await add_event(session, CaseEscalated(
        case_id=a.case_id, at=now, assignment_id=a.id, from_unit_id=a.unit_id, from_level=Level(a.level),
        assignee_id=a.assignee_id, to_unit_id=up.id, to_level=up.level, reason=reason, note=note, escalated_by=actor,
    ), source=deps.source)
    return await handover(session, deps, ctx, a, up, AssignCause.ESCALATED,
                           f"escalated from {a.unit_id} ({reason.value}{': ' + note if note else ''})")


async def dispatch(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                   body: DispatchBody, if_match: int) -> Assignment:
    """The street centre sends the case to a unit it chooses (e.g. after two returns). Returns the new assignment."""
    a, state = await load(session, assignment_id, user, Action.DISPATCH, if_match)
    if Level(a.level) != Level.STREET:
        raise illegal(state_of(a), Action.DISPATCH, "only the street centre dispatches a case it holds")
    if not (user.is_global or user.has_any(*DISPATCHER_ROLES)):
        raise Problem(403, "forbidden_role", "dispatching is for the street centre's admins")
    ctx = await context(session, deps)
    unit = ctx.units.get(body.unit_id)
    if unit is None or a.unit_id not in unit.path or unit.id == a.unit_id or unit.level == Level.BUILDING:
        raise Problem(422, "validation_failed", f"unit {body.unit_id} is not a handling unit under {a.unit_id}",
                      errors=[{"field": "unit_id", "reason": "not an active handling unit in the street's subtree",
                               "code": "invalid_unit"}])
    now = deps.clock.now()
    apply(a, state, now)
    record(session, a, now, "dispatch", user.sub, to_unit_id=unit.id, note=body.note)
    return await handover(session, deps, ctx, a, unit, AssignCause.DECIDED,
                           f"dispatched by the street centre {a.unit_id} to {unit.id}"
                           f"{': ' + body.note if body.note else ''}")


async def resolve(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                  body: ResolveBody, if_match: int) -> Assignment:
    a, state = await load(session, assignment_id, user, Action.RESOLVE, if_match)
    await guard_resolve(session, a.case_id)  # 409 cohandling_open while a required 协办 task is live
    ctx = await context(session, deps)
    now = deps.clock.now()
    apply(a, state, now)
    a.resolved_by, a.resolved_at = user.sub, now
    a.outcome, a.outcome_note = body.outcome.value, body.note
    a.mediation_agreement, a.judicial_confirmation = body.mediation_agreement, body.judicial_confirmation
    a.close_due_at = ctx.add(now, WorkSpan(days=deps.close_after_days))
    record(session, a, now, "resolve", user.sub, outcome=body.outcome.value,
            mediation_agreement=body.mediation_agreement, judicial_confirmation=body.judicial_confirmation)
    await add_event(session, CaseResolved(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, level=Level(a.level),
        assignee_id=a.assignee_id, outcome=Outcome(body.outcome), resolved_by=user.sub,
        resolved_on_time=a.resolve_span is None or a.resolve_due_at is None or now <= a.resolve_due_at,
        mediation_agreement=body.mediation_agreement, judicial_confirmation=body.judicial_confirmation,
    ), source=deps.source)
    return a
