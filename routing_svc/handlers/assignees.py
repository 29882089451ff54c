"""The 承办人: a member of the handling unit takes an open assignment (认领), or the unit's leader dispatches it to
one (派单到人, and re-dispatches it with a reason). The unit keeps the case: the assignee is who in it works it,
nothing is hidden from the unit. The caller owns the transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import OPEN, AssignmentStatus
from routing_svc.handlers.assignments import check_version, get_assignment, may_act, record
from routing_svc.schemas import AssignMemberBody, TakeBody
from routing_svc.tables import Assignment, Member
from shared.auth import Principal, Role
from shared.bus.outbox import add_event
from shared.events.case import AssigneeHow, CaseAssigneeSet
from shared.problems import Problem

# who dispatches within a unit: its leaders, or those of a unit above it
LEADER_ROLES = (Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)


async def _open_for_update(session: AsyncSession, assignment_id: uuid.UUID, user: Principal,
                           if_match: int) -> Assignment:
    a = await get_assignment(session, assignment_id, user, for_update=True)
    if not may_act(a, user):
        raise Problem(403, "read_only", "the case passed through your unit: you can see it but not act on it")
    check_version(a, if_match)
    if AssignmentStatus(a.status) not in OPEN:
        raise Problem(409, "illegal_transition", f"an assignment that is {a.status} has no 承办人 to set",
                      allowed_actions=[])
    return a


async def _member_of(session: AsyncSession, member_id: str, unit_id: str) -> Member | None:
    return (await session.execute(
        select(Member).where(Member.id == member_id, Member.unit_id == unit_id, Member.active.is_(True))  # type: ignore[attr-defined]
    )).scalar_one_or_none()


async def _set(session: AsyncSession, deps: RoutingDeps, a: Assignment, member_id: str, how: AssigneeHow,
               user: Principal, reason: str) -> Assignment:
    now = deps.clock.now()
    previous = a.assignee_id
    a.assignee_id, a.assignee_at = member_id, now
    a.updated_at = now
    a.version += 1
    record(session, a, now, how.value, user.sub, assignee_id=member_id, previous_assignee_id=previous,
           reason=reason or None)
    await add_event(session, CaseAssigneeSet(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, assignee_id=member_id,
        previous_assignee_id=previous, how=how, set_by=user.sub, reason=reason,
    ), source=deps.source)
    return a


async def take(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
               body: TakeBody, if_match: int) -> Assignment:
    """认领: the caller, an active member of the handling unit, holds the assignment from now on. Taking one that
    another member holds is a re-dispatch: that is the leader's (409 ``already_taken``)."""
    a = await _open_for_update(session, assignment_id, user, if_match)
    if a.assignee_id == user.sub:
        return a  # taken already by the caller: nothing changes (no new version, no event)
    if await _member_of(session, user.sub, a.unit_id) is None:
        raise Problem(403, "not_unit_member", f"only an active member of {a.unit_id} can take its assignment")
    if a.assignee_id is not None:
        raise Problem(409, "already_taken", "another member holds this assignment; the unit's leader re-dispatches it",
                      assignee_id=a.assignee_id)
    return await _set(session, deps, a, user.sub, AssigneeHow.TAKE, user, body.note or "")


async def assign_member(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                        body: AssignMemberBody, if_match: int) -> Assignment:
    """派单到人 by a leader of the unit (or of a unit above it); 改派 needs a reason."""
    a = await _open_for_update(session, assignment_id, user, if_match)
    if not (user.is_global or user.has_any(*LEADER_ROLES)):
        raise Problem(403, "forbidden_role", "dispatching to a member is for the unit's leaders")
    if await _member_of(session, body.member_id, a.unit_id) is None:
        raise Problem(422, "validation_failed", f"{body.member_id} is not an active member of {a.unit_id}",
                      errors=[{"field": "member_id", "reason": f"not an active member of {a.unit_id}",
                               "code": "not_unit_member"}])
    if a.assignee_id == body.member_id:
        return a
    if a.assignee_id is not None and not body.reason:
        raise Problem(422, "validation_failed", "re-dispatching an assignment a member holds needs a reason",
                      errors=[{"field": "reason", "reason": "required when the assignment has a 承办人",
                               "code": "missing"}])
    return await _set(session, deps, a, body.member_id, AssigneeHow.DISPATCH, user, body.reason or "")
