"""Extensions (延期): a unit asks for a later deadline on its running clock; the parent unit's leaders approve or
reject. The caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import Action, AssignmentStatus
from routing_svc.handlers.assignments import apply, illegal, load, record, state_of
from routing_svc.schemas import ApproveExtensionBody, ExtensionBody, ReasonBody
from routing_svc.tables import Assignment
from shared.auth import Principal, Role
from shared.bus.outbox import add_event
from shared.events.case import CaseExtended, CaseExtensionRejected, CaseExtensionRequested, DeadlineClock
from shared.problems import Problem

# 延期审批: the parent unit's leaders (a street's extension is decided at the district)
APPROVER_ROLES = (Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)


async def request_extension(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                            body: ExtensionBody, if_match: int) -> Assignment:
    a, state = await load(session, assignment_id, user, Action.REQUEST_EXTENSION, if_match)
    clock, due = _running_clock(a)
    if due is None or (a.resolve_span is None and clock == DeadlineClock.RESOLVE):
        raise illegal(state_of(a), Action.REQUEST_EXTENSION, "the case has no hard deadline to extend")
    if body.due_at <= due:
        raise Problem(422, "validation_failed", "the wanted deadline must be later than the current one",
                      errors=[{"field": "due_at", "reason": f"not after the current deadline {due.isoformat()}",
                               "code": "not_later"}])
    now = deps.clock.now()
    apply(a, state, now)
    a.pending_extension = {"clock": clock.value, "reason": body.reason, "requested_due_at": body.due_at.isoformat(),
                           "requested_by": user.sub, "requested_at": now.isoformat()}
    record(session, a, now, "request_extension", user.sub, clock=clock.value, reason=body.reason,
            requested_due_at=body.due_at)
    await add_event(session, CaseExtensionRequested(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, clock=clock, reason=body.reason,
        assignee_id=a.assignee_id, requested_by=user.sub, requested_due_at=body.due_at,
    ), source=deps.source)
    return a


def _running_clock(a: Assignment) -> tuple[DeadlineClock, datetime | None]:
    status = AssignmentStatus(a.suspended_from or a.status)
    if status == AssignmentStatus.ASSIGNED:
        return DeadlineClock.ACCEPT, a.accept_due_at
    return DeadlineClock.RESOLVE, a.resolve_due_at


def _check_approver(a: Assignment, user: Principal) -> None:
    """Only the leaders of a unit above the handling unit decide its extension (not the unit itself)."""
    if user.is_global:
        return
    if not user.has_any(*APPROVER_ROLES) or user.unit_id not in a.unit_path[:-1]:
        raise Problem(403, "not_approver", "an extension is decided by the leaders of the parent unit")


async def decide_extension(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                           body: ApproveExtensionBody | ReasonBody, approve: bool,
                           if_match: int) -> Assignment:
    action = Action.APPROVE_EXTENSION if approve else Action.REJECT_EXTENSION
    a, state = await load(session, assignment_id, user, action, if_match)
    _check_approver(a, user)
    assert a.pending_extension is not None
    pending = dict(a.pending_extension)
    clock = DeadlineClock(pending["clock"])
    now = deps.clock.now()
    apply(a, state, now)
    if not approve:
        rejection = body.reason if isinstance(body, ReasonBody) else ""
        record(session, a, now, "reject_extension", user.sub, reason=rejection,
                requested_due_at=pending["requested_due_at"])
        await add_event(session, CaseExtensionRejected(
            case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, clock=clock, reason=pending["reason"],
            rejection_reason=rejection, rejected_by=user.sub,
            requested_due_at=datetime.fromisoformat(pending["requested_due_at"]),
            due_at=a.accept_due_at if clock == DeadlineClock.ACCEPT else a.resolve_due_at,
        ), source=deps.source)
        return a
    new_due = getattr(body, "due_at", None) or datetime.fromisoformat(pending["requested_due_at"])
    previous = a.accept_due_at if clock == DeadlineClock.ACCEPT else a.resolve_due_at
    assert previous is not None
    if clock == DeadlineClock.ACCEPT:
        a.accept_due_at, a.accept_overdue_at = new_due, None
    else:
        a.resolve_due_at, a.resolve_overdue_at = new_due, None
    record(session, a, now, "approve_extension", user.sub, clock=clock.value, previous_due_at=previous,
            new_due_at=new_due, note=getattr(body, "note", None))
    await add_event(session, CaseExtended(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, clock=clock, reason=pending["reason"],
        assignee_id=a.assignee_id, approved_by=user.sub, previous_due_at=previous, new_due_at=new_due,
    ), source=deps.source)
    return a
