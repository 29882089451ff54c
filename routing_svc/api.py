"""Routing REST API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from routing_svc import handlers
from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.handlers import RoutingDeps
from routing_svc.schemas import AcceptBody, AssignmentPublic, CaseRouting, ResolveBody
from routing_svc.tables import Assignment, OrgUnit
from shared.auth import CurrentUser, Role, require_roles  # org endpoints: routing_svc/org_api.py
from shared.pagination import Page, keyset_page
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1")

HANDLERS = require_roles(Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


def _deps(request: Request) -> RoutingDeps:
    deps: RoutingDeps = request.app.state.deps
    return deps


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Problem(422, "validation_failed", "If-Match must be an ETag this API returned, e.g. \"3\"",
                      errors=[{"field": "header.if-match", "reason": "not a version ETag", "code": "invalid"}])
    return int(raw)


def _public(a: Assignment) -> AssignmentPublic:
    return AssignmentPublic.model_validate(a, from_attributes=True)


# --- assignments ---------------------------------------------------------------------------------------


@router.get("/assignments", response_model=Page[AssignmentPublic], tags=["assignments"])
async def list_assignments(
    session: SessionDep,
    user: CurrentUser,
    unit_id: str | None = None,
    status: AssignmentStatus | None = None,
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
    rows, next_cursor = await keyset_page(session, stmt, Assignment, cursor, limit)
    return Page(items=[_public(a) for a in rows], next_cursor=next_cursor)


@router.get("/assignments/{assignment_id}", response_model=AssignmentPublic, tags=["assignments"])
async def get_assignment(assignment_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                         response: Response) -> AssignmentPublic:
    a = await handlers.get_assignment(session, assignment_id, user)
    response.headers["ETag"] = f'"{a.version}"'
    return _public(a)


@router.post("/assignments/{assignment_id}/accept", response_model=AssignmentPublic, tags=["assignments"],
             dependencies=[HANDLERS])
async def accept(assignment_id: uuid.UUID, request: Request, session: SessionDep, user: CurrentUser,
                 response: Response, body: AcceptBody | None = None,
                 if_match: Annotated[str | None, Header()] = None) -> AssignmentPublic:
    """签收: the unit takes the case; the resolve clock starts. Emits ``fq.case.accepted.v1``."""
    async with session.begin():
        a = await handlers.accept(session, _deps(request), assignment_id, user, body or AcceptBody(),
                                  _if_match(if_match))
    response.headers["ETag"] = f'"{a.version}"'
    return _public(a)


@router.post("/assignments/{assignment_id}/resolve", response_model=AssignmentPublic, tags=["assignments"],
             dependencies=[HANDLERS])
async def resolve(assignment_id: uuid.UUID, body: ResolveBody, request: Request, session: SessionDep,
                  user: CurrentUser, response: Response,
                  if_match: Annotated[str | None, Header()] = None) -> AssignmentPublic:
    """办结 with an outcome. Emits ``fq.case.resolved.v1``."""
    async with session.begin():
        a = await handlers.resolve(session, _deps(request), assignment_id, user, body, _if_match(if_match))
    response.headers["ETag"] = f'"{a.version}"'
    return _public(a)


@router.get("/cases/{case_id}/routing", response_model=CaseRouting, tags=["assignments"])
async def case_routing(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> CaseRouting:
    """The current assignment and the full history of a case."""
    rows = list((await session.execute(
        select(Assignment).where(Assignment.case_id == case_id).order_by(Assignment.created_at)  # type: ignore[arg-type]
    )).scalars())
    if not rows or not any(user.can_see(a.unit_path) for a in rows):
        raise Problem(404, "case_not_found", f"no routing for case {case_id} in your scope")
    history = [_public(a) for a in rows]
    return CaseRouting(case_id=case_id, current=history[-1], history=history)


