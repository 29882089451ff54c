"""Routing REST API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from routing_svc import handlers
from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.handlers import RoutingDeps
from routing_svc.schemas import (
    AcceptBody,
    AssignmentPublic,
    CaseRouting,
    MemberPublic,
    OrgImport,
    OrgImportResult,
    ResolveBody,
    UnitPublic,
)
from routing_svc.tables import Assignment, Member, OrgUnit
from shared.auth import CurrentUser, Principal, Role, require_roles
from shared.pagination import Page, keyset_page
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1")

ORG_IMPORTERS = require_roles(Role.STREET_ADMIN, Role.SERVICE)
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


# --- org -----------------------------------------------------------------------------------------------


@router.post("/org/import", response_model=OrgImportResult, tags=["org"], dependencies=[ORG_IMPORTERS])
async def import_org(doc: OrgImport, request: Request, session: SessionDep) -> OrgImportResult:
    """Upsert units and members (the format of ``org_demo.json``); emits ``fq.org.*`` events."""
    async with session.begin():
        units, members = await handlers.import_org(session, _deps(request), doc)
    return OrgImportResult(units=units, members=members)


def _unit_visible(user: Principal, unit: OrgUnit) -> bool:
    return user.can_see(unit.path)


@router.get("/org/units", response_model=list[UnitPublic], tags=["org"])
async def list_units(session: SessionDep, user: CurrentUser, level: str | None = None,
                     parent_id: str | None = None) -> list[UnitPublic]:
    stmt = select(OrgUnit).order_by(OrgUnit.id)
    if level:
        stmt = stmt.where(OrgUnit.level == level)
    if parent_id:
        stmt = stmt.where(OrgUnit.parent_id == parent_id)
    units = (await session.execute(stmt)).scalars()
    return [UnitPublic.model_validate(u, from_attributes=True) for u in units if _unit_visible(user, u)]


async def _unit(session: SessionDep, unit_id: str, user: Principal) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not _unit_visible(user, unit):
        raise Problem(404, "unit_not_found", f"no unit {unit_id} in your scope")
    return unit


@router.get("/org/units/{unit_id}", response_model=UnitPublic, tags=["org"])
async def get_unit(unit_id: str, session: SessionDep, user: CurrentUser) -> UnitPublic:
    return UnitPublic.model_validate(await _unit(session, unit_id, user), from_attributes=True)


@router.get("/org/units/{unit_id}/members", response_model=list[MemberPublic], tags=["org"])
async def unit_members(unit_id: str, request: Request, session: SessionDep, user: CurrentUser) -> list[MemberPublic]:
    """Members of a unit; phone numbers masked."""
    await _unit(session, unit_id, user)
    pii = _deps(request).pii
    rows = (await session.execute(select(Member).where(Member.unit_id == unit_id).order_by(Member.id))).scalars()
    out = []
    for m in rows:
        phone = pii.open(m.phone_sealed, m.id.encode()) if m.phone_sealed else None
        out.append(MemberPublic(id=m.id, unit_id=m.unit_id, name=pii.open(m.name_sealed, m.id.encode()),
                                phone=phone[:3] + "****" + phone[-4:] if phone else None, roles=m.roles,
                                forces=m.forces, active=m.active))
    return out


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


