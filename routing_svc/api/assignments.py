"""Assignments over HTTP: list and read, every workflow action (each answers with the assignment it leaves the
case in), and a case's routing history."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import and_, func, not_, or_, select

from routing_svc.deps import Deps
from routing_svc.domain.assignment import HANDED_ON, AssignmentStatus, allowed_actions
from routing_svc.handlers import assignees, assignments, extensions, lifecycle
from routing_svc.handlers.assignees import LEADER_ROLES
from routing_svc.handlers.extensions import APPROVER_ROLES
from routing_svc.handlers.routing import HANDLER_ROLES
from routing_svc.schemas import (
    AcceptBody,
    ApproveExtensionBody,
    AssignMemberBody,
    AssignmentDetail,
    AssignmentPublic,
    CaseRouting,
    DispatchBody,
    EscalateBody,
    ExtensionBody,
    HistoryEntry,
    ReasonBody,
    ReopenBody,
    ResolveBody,
    ResumeBody,
    TakeBody,
)
from routing_svc.tables import Assignment, AssignmentLog, OrgUnit
from shared.auth import CurrentUser, Principal, Role, require_roles
from shared.bus import pending
from shared.pagination import Page, keyset_page
from shared.preconditions import IfMatch, etag
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1")

HANDLERS = require_roles(*HANDLER_ROLES)
APPROVERS = require_roles(*APPROVER_ROLES)
LEADERS = require_roles(*LEADER_ROLES)
REOPENERS = require_roles(Role.SERVICE, Role.OPERATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)


def _public(a: Assignment) -> AssignmentPublic:
    return AssignmentPublic.model_validate(a, from_attributes=True)


# --- assignments ---------------------------------------------------------------------------------------


def _overdue(now: datetime) -> Any:
    return or_(
        and_(Assignment.status == AssignmentStatus.ASSIGNED.value, Assignment.accept_due_at < now),
        and_(Assignment.status == AssignmentStatus.ACCEPTED.value, Assignment.resolve_span.is_not(None),  # type: ignore[union-attr]
             Assignment.resolve_due_at < now),  # type: ignore[operator]
    )


@router.get("/assignments", response_model=Page[AssignmentPublic], tags=["assignments"])
async def list_assignments(
    deps: Deps,
    session: SessionDep,
    user: CurrentUser,
    unit_id: str | None = None,
    status: AssignmentStatus | None = None,
    overdue: bool | None = Query(default=None, description="only assignments past their running deadline "
                                                           "(or, with false, only those within it)"),
    pending_approval: bool | None = Query(default=None, description="only assignments whose extension request "
                                          "(延期申请) waits for the caller's unit (or ``unit_id``) to decide: "
                                          "those of units below it, not its own (with false: none pending)"),
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AssignmentPublic]:
    """Assignments in the caller's subtree (or under ``unit_id``), newest first."""
    stmt = select(Assignment)
    own = user.scope_unit()
    scope = unit_id or own
    if own is not None and scope != own:
        unit = await session.get(OrgUnit, scope)
        if unit is None or own not in unit.path:
            raise Problem(404, "unit_not_found", f"no unit {scope} in your scope")
    if scope:
        stmt = stmt.where(Assignment.unit_path.contains([scope]))  # type: ignore[attr-defined]
    if status:
        stmt = stmt.where(Assignment.status == status.value)
    if overdue is not None:
        late = _overdue(deps.clock.now())
        stmt = stmt.where(late if overdue else not_(late))
    if pending_approval is not None:
        waiting = func.jsonb_typeof(Assignment.pending_extension) == "object"
        if pending_approval:
            stmt = stmt.where(waiting)
            if scope:  # decided by the leaders of a unit above the handling unit, never by itself
                stmt = stmt.where(Assignment.unit_id != scope)
        else:
            stmt = stmt.where(or_(Assignment.pending_extension.is_(None), not_(waiting)))  # type: ignore[union-attr]
    rows, next_cursor = await keyset_page(session, stmt, Assignment, cursor, limit)
    return Page(items=[_public(a) for a in rows], next_cursor=next_cursor)


async def _detail(session: SessionDep, a: Assignment, user: Principal) -> AssignmentDetail:
    history = (await session.execute(
        select(AssignmentLog).where(AssignmentLog.assignment_id == a.id).order_by(AssignmentLog.id)  # type: ignore[arg-type]
    )).scalars()
    read_only = not assignments.may_act(a, user)
    return AssignmentDetail.model_validate({
        **AssignmentPublic.model_validate(a, from_attributes=True).model_dump(),
        "suspended_at": a.suspended_at, "pending_extension": a.pending_extension, "task_force": a.task_force,
        "escalate_on_resolve_overdue": a.escalate_on_resolve_overdue, "mediation_agreement": a.mediation_agreement,
        "judicial_confirmation": a.judicial_confirmation, "read_only": read_only,
        "allowed_actions": [] if read_only else allowed_actions(assignments.state_of(a)),
        "history": [
            HistoryEntry(at=a.created_at, action="assigned", actor="routing",
                         detail={"cause": a.cause, "unit_id": a.unit_id, "accept_due_at": a.accept_due_at.isoformat(),
                                 "previous_assignment_id": str(a.previous_assignment_id)
                                 if a.previous_assignment_id else None}),
            *(HistoryEntry(at=h.at, action=h.action, actor=h.actor, detail=h.detail) for h in history),
        ],
    })


async def _respond(session: SessionDep, a: Assignment, user: Principal, response: Response) -> AssignmentDetail:
    response.headers["ETag"] = etag(a.version)
    return await _detail(session, a, user)


@router.get("/assignments/{assignment_id}", response_model=AssignmentDetail, tags=["assignments"])
async def get_assignment(assignment_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                         response: Response) -> AssignmentDetail:
    """One assignment: clocks, rule and explanation, task force, pending extension, history, allowed actions.
    Units the case passed through see it read-only."""
    a = await assignments.get_assignment(session, assignment_id, user)
    return await _respond(session, a, user, response)


async def _act(session: SessionDep, user: Principal, response: Response,
               call: Callable[[], Awaitable[Assignment]]) -> AssignmentDetail:
    """One workflow action: ``call`` (the handler) in one transaction, then the assignment it leaves, with its
    ETag. The handler locks the row and checks the route's ``If-Match`` against its version (412 when stale)."""
    async with pending.transaction(session):
        a = await call()
    return await _respond(session, a, user, response)


@router.post("/assignments/{assignment_id}/accept", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def accept(assignment_id: uuid.UUID, deps: Deps, session: SessionDep, user: CurrentUser,
                 response: Response, version: IfMatch, body: AcceptBody | None = None) -> AssignmentDetail:
    """签收: the unit takes the case; the resolve clock starts. Emits ``fq.case.accepted.v1``."""
    return await _act(session, user, response, lambda: assignments.accept(
        session, deps, assignment_id, user, body or AcceptBody(), version))


@router.post("/assignments/{assignment_id}/return", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def return_case(assignment_id: uuid.UUID, body: ReasonBody, deps: Deps, session: SessionDep,
                      user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """退单 with a reason: the case is re-routed (a second return sends it to the street centre, which decides).
    Emits ``fq.case.returned.v1`` then ``fq.case.assigned.v1``; answers with the NEW assignment."""
    return await _act(session, user, response, lambda: assignments.return_case(
        session, deps, assignment_id, user, body, version))


@router.post("/assignments/{assignment_id}/extend", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def request_extension(assignment_id: uuid.UUID, body: ExtensionBody, deps: Deps, session: SessionDep,
                            user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """延期申请 for the running clock, with a reason and the wanted deadline; the parent unit decides.
    Emits ``fq.case.extension_requested.v1``."""
    return await _act(session, user, response, lambda: extensions.request_extension(
        session, deps, assignment_id, user, body, version))


@router.post("/assignments/{assignment_id}/approve-extension", response_model=AssignmentDetail,
             tags=["assignments"], dependencies=[APPROVERS])
async def approve_extension(assignment_id: uuid.UUID, deps: Deps, session: SessionDep, user: CurrentUser,
                            response: Response, version: IfMatch,
                            body: ApproveExtensionBody | None = None) -> AssignmentDetail:
    """延期审批 by the parent unit's leaders: the deadline moves. Emits ``fq.case.extended.v1``."""
    return await _act(session, user, response, lambda: extensions.decide_extension(
        session, deps, assignment_id, user, body or ApproveExtensionBody(), True, version))


@router.post("/assignments/{assignment_id}/reject-extension", response_model=AssignmentDetail,
             tags=["assignments"], dependencies=[APPROVERS])
async def reject_extension(assignment_id: uuid.UUID, body: ReasonBody, deps: Deps, session: SessionDep,
                           user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """延期驳回: the deadline stays; recorded in the assignment's history."""
    return await _act(session, user, response, lambda: extensions.decide_extension(
        session, deps, assignment_id, user, body, False, version))


@router.post("/assignments/{assignment_id}/suspend", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def suspend(assignment_id: uuid.UUID, body: ReasonBody, deps: Deps, session: SessionDep,
                  user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """中止 with a reason: both clocks pause. Emits ``fq.case.suspended.v1``."""
    return await _act(session, user, response, lambda: assignments.suspend(
        session, deps, assignment_id, user, body, version))


@router.post("/assignments/{assignment_id}/resume", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def resume(assignment_id: uuid.UUID, deps: Deps, session: SessionDep, user: CurrentUser,
                 response: Response, version: IfMatch, body: ResumeBody | None = None) -> AssignmentDetail:
    """恢复办理: the running deadline moves by the working time spent suspended. Emits ``fq.case.resumed.v1``."""
    return await _act(session, user, response, lambda: assignments.resume(
        session, deps, assignment_id, user, body or ResumeBody(), version))


@router.post("/assignments/{assignment_id}/escalate", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def escalate(assignment_id: uuid.UUID, body: EscalateBody, deps: Deps, session: SessionDep,
                   user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """提级 with a reason, to the next level up that has handlers. Emits ``fq.case.escalated.v1`` then
    ``fq.case.assigned.v1``; answers with the NEW assignment."""
    return await _act(session, user, response, lambda: assignments.escalate(
        session, deps, assignment_id, user, body, version))


@router.post("/assignments/{assignment_id}/dispatch", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def dispatch(assignment_id: uuid.UUID, body: DispatchBody, deps: Deps, session: SessionDep,
                   user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """The street centre (street admins) sends the case to a unit of its choice: ``fq.case.assigned.v1`` with
    cause ``decided``; answers with the NEW assignment."""
    return await _act(session, user, response, lambda: assignments.dispatch(
        session, deps, assignment_id, user, body, version))


@router.post("/assignments/{assignment_id}/take", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def take(assignment_id: uuid.UUID, deps: Deps, session: SessionDep, user: CurrentUser, response: Response,
               version: IfMatch, body: TakeBody | None = None) -> AssignmentDetail:
    """认领: the caller, a member of the handling unit, becomes its 承办人 (the unit still sees and acts on it).
    Emits ``fq.case.assignee_set.v1`` (how ``take``)."""
    return await _act(session, user, response, lambda: assignees.take(
        session, deps, assignment_id, user, body or TakeBody(), version))


@router.post("/assignments/{assignment_id}/assign-member", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[LEADERS])
async def assign_member(assignment_id: uuid.UUID, body: AssignMemberBody, deps: Deps, session: SessionDep,
                        user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """派单到人 by the unit's leaders (or those above it): ``member_id`` of the handling unit becomes the 承办人;
    改派 (it has one already) needs a ``reason``. Emits ``fq.case.assignee_set.v1`` (how ``dispatch``)."""
    return await _act(session, user, response, lambda: assignees.assign_member(
        session, deps, assignment_id, user, body, version))


@router.post("/assignments/{assignment_id}/resolve", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[HANDLERS])
async def resolve(assignment_id: uuid.UUID, body: ResolveBody, deps: Deps, session: SessionDep,
                  user: CurrentUser, response: Response, version: IfMatch) -> AssignmentDetail:
    """办结 with an outcome and agreement flags. Emits ``fq.case.resolved.v1``; the follow-up window starts."""
    return await _act(session, user, response, lambda: assignments.resolve(
        session, deps, assignment_id, user, body, version))


@router.post("/cases/{case_id}/reopen", response_model=AssignmentDetail, tags=["assignments"],
             dependencies=[REOPENERS])
async def reopen(case_id: uuid.UUID, deps: Deps, session: SessionDep, user: CurrentUser, response: Response,
                 body: ReopenBody | None = None) -> AssignmentDetail:
    """重办 of a resolved case (staff, or the 12345 adapter as a service): back to the resolving unit, one level
    up on a second reopen. Emits ``fq.case.reopened.v1`` then ``fq.case.assigned.v1``."""
    return await _act(session, user, response, lambda: lifecycle.reopen_by_request(
        session, deps, case_id, user, body or ReopenBody()))


def _succession(rows: list[Assignment]) -> list[Assignment]:
    """Assignments in the order they followed each other (``previous_assignment_id``), not by timestamp alone."""
    after = {a.previous_assignment_id: a for a in rows}
    chain: list[Assignment] = []
    nxt = after.get(None)
    while nxt is not None and len(chain) < len(rows):
        chain.append(nxt)
        nxt = after.get(nxt.id)
    seen = {a.id for a in chain}
    return chain + [a for a in rows if a.id not in seen]


@router.get("/cases/{case_id}/routing", response_model=CaseRouting, tags=["assignments"])
async def case_routing(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> CaseRouting:
    """The current assignment and the full history of a case (also for units it passed through)."""
    rows = list((await session.execute(
        select(Assignment).where(Assignment.case_id == case_id).order_by(Assignment.created_at)  # type: ignore[arg-type]
    )).scalars())
    if not rows or not any(user.can_see(a.unit_path) for a in rows):
        raise Problem(404, "case_not_found", f"no routing for case {case_id} in your scope")
    history = [_public(a) for a in _succession(rows)]
    current = next((h for h in reversed(history) if AssignmentStatus(h.status) not in HANDED_ON), history[-1])
    return CaseRouting(case_id=case_id, current=current, history=history)
