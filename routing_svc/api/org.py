"""The org hierarchy over HTTP: import (JSON or CSV), read, update and deactivate units and members."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from routing_svc.api.org_csv import parse_csv
from routing_svc.deps import Deps, RoutingDeps
from routing_svc.handlers import org, responsibles
from routing_svc.handlers.org import _no_member, _no_unit, authorize_org_write
from routing_svc.schemas import MemberPublic, MemberUpdate, OrgImport, OrgImportResult, UnitPublic, UnitUpdate
from routing_svc.tables import Member, OrgUnit
from shared.auth import CurrentUser, Principal, Role, require_roles
from shared.bus import pending
from shared.preconditions import IfMatch, check_version, etag
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1")

ORG_IMPORTERS = require_roles(Role.STREET_ADMIN, Role.SERVICE)
MAX_IMPORT_BYTES = 20_000_000


def _unit_visible(user: Principal, unit: OrgUnit) -> bool:
    return user.can_see(unit.path)


async def _unit(session: SessionDep, unit_id: str, user: Principal) -> OrgUnit:
    unit = (await session.execute(select(OrgUnit).where(OrgUnit.id == unit_id))).scalar_one_or_none()
    if unit is None or not _unit_visible(user, unit):
        raise _no_unit(unit_id)
    return unit


def _member_public(deps: RoutingDeps, m: Member) -> MemberPublic:
    pii = deps.pii
    phone = pii.open(m.phone_sealed, m.id.encode()) if m.phone_sealed else None
    return MemberPublic(id=m.id, unit_id=m.unit_id, name=pii.open(m.name_sealed, m.id.encode()),
                        phone=phone[:3] + "****" + phone[-4:] if phone else None, roles=m.roles,
                        forces=m.forces, active=m.active, version=m.version)


@router.post("/org/import", response_model=OrgImportResult, tags=["org"], dependencies=[ORG_IMPORTERS],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object", "description": "units and members, in the "
                                                                                   "format of org_demo.json"}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def import_org(request: Request, deps: Deps, session: SessionDep, user: CurrentUser,
                     kind: Annotated[str | None, Query(pattern="^(units|members)$")] = None,
                     content_type: Annotated[str, Header()] = "application/json") -> OrgImportResult:
    """Upsert units and members: JSON in the format of ``org_demo.json``, or a CSV (``Content-Type: text/csv``,
    ``?kind=units`` or ``?kind=members``). Emits ``fq.org.unit_upserted.v1`` / ``fq.org.member_upserted.v1``.
    A street admin may only import units and members inside the street's subtree."""
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise Problem(413, "too_large", f"an org import is at most {MAX_IMPORT_BYTES} bytes")
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "text/csv":
        if kind is None:
            raise Problem(422, "validation_failed", "a CSV import needs ?kind=units or ?kind=members",
                          errors=[{"field": "query.kind", "reason": "required for CSV", "code": "missing"}])
        try:
            doc = parse_csv(body.decode("utf-8"), kind)
        except UnicodeDecodeError:
            raise Problem(422, "invalid_csv", "the CSV must be UTF-8") from None
    elif ctype == "application/json":
        try:
            doc = OrgImport.model_validate(json.loads(body or b"null"))
        except json.JSONDecodeError as exc:
            raise Problem(422, "validation_failed", f"not valid JSON: {exc.msg}",
                          errors=[{"field": "body", "reason": exc.msg, "code": "json_invalid"}]) from None
        except ValidationError as exc:
            errors = [{"field": ".".join(str(x) for x in e["loc"]) or "body", "reason": e["msg"], "code": e["type"]}
                      for e in exc.errors()]
            raise Problem(422, "validation_failed", f"invalid fields: {', '.join(e['field'] for e in errors[:10])}",
                          errors=errors[:200]) from None
    else:
        raise Problem(415, "unsupported_media_type", "send the org as application/json or text/csv")
    async with pending.transaction(session):
        await _check_import_scope(session, user, doc)
        units, members = await org.import_org(session, deps, doc)
        await responsibles.import_rows(session, deps, doc.responsibles, user)
    return OrgImportResult(units=units, members=members)


async def _check_import_scope(session: SessionDep, user: Principal, doc: OrgImport) -> None:
    """A street admin imports inside its subtree only (``authorize_org_write``); only admins import root units."""
    if user.is_global:
        return
    roots = sorted(u.id for u in doc.units if u.parent_id is None)
    if roots:
        raise Problem(403, "out_of_scope", f"only admins import root units: {roots}")
    targets = {u.parent_id for u in doc.units if u.parent_id} | {m.unit_id for m in doc.members}
    await authorize_org_write(session, user, units=[u.id for u in doc.units], members=[m.id for m in doc.members],
                              targets=targets, create=True)


@router.get("/org/units", response_model=list[UnitPublic], tags=["org"])
async def list_units(session: SessionDep, user: CurrentUser, level: str | None = None,
                     parent_id: str | None = None, active: bool | None = None) -> list[UnitPublic]:
    stmt = select(OrgUnit).order_by(OrgUnit.id)
    if level:
        stmt = stmt.where(OrgUnit.level == level)
    if parent_id:
        stmt = stmt.where(OrgUnit.parent_id == parent_id)
    if active is not None:
        stmt = stmt.where(OrgUnit.active.is_(active))  # type: ignore[attr-defined]
    units = (await session.execute(stmt)).scalars()
    return [UnitPublic.model_validate(u, from_attributes=True) for u in units if _unit_visible(user, u)]


@router.get("/org/units/{unit_id}", response_model=UnitPublic, tags=["org"])
async def get_unit(unit_id: str, session: SessionDep, user: CurrentUser, response: Response) -> UnitPublic:
    """One unit; ``ETag`` is its version (a PATCH sends it back as ``If-Match``)."""
    unit = await _unit(session, unit_id, user)
    response.headers["ETag"] = etag(unit.version)
    return UnitPublic.model_validate(unit, from_attributes=True)


@router.patch("/org/units/{unit_id}", response_model=UnitPublic, tags=["org"], dependencies=[ORG_IMPORTERS])
async def patch_unit(unit_id: str, body: UnitUpdate, deps: Deps, session: SessionDep, user: CurrentUser,
                     version: IfMatch, response: Response) -> UnitPublic:
    """Rename, change keywords or polygon, deactivate (``active: false``) or reactivate a unit.

    Deactivating is refused while active units sit under it (409 ``unit_has_active_children``) and also
    deactivates its members; each change emits ``fq.org.*`` events."""
    async with pending.transaction(session):
        unit = (await authorize_org_write(session, user, units=[unit_id])).units[unit_id]
        check_version(unit.version, version, f"unit {unit_id}")
        await org.update_unit(session, deps, unit, body)
        out = UnitPublic.model_validate(unit, from_attributes=True)
    response.headers["ETag"] = etag(out.version)
    return out


@router.get("/org/units/{unit_id}/members", response_model=list[MemberPublic], tags=["org"])
async def unit_members(unit_id: str, deps: Deps, session: SessionDep, user: CurrentUser) -> list[MemberPublic]:
    """Members of a unit; phone numbers masked."""
    await _unit(session, unit_id, user)
    rows = (await session.execute(select(Member).where(Member.unit_id == unit_id).order_by(Member.id))).scalars()
    return [_member_public(deps, m) for m in rows]


@router.get("/org/members/{member_id}", response_model=MemberPublic, tags=["org"])
async def get_member(member_id: str, deps: Deps, session: SessionDep, user: CurrentUser,
                     response: Response) -> MemberPublic:
    """One member, phone masked; ``ETag`` is its version (a PATCH sends it back as ``If-Match``)."""
    row = (await session.execute(select(Member, OrgUnit.path)  # type: ignore[call-overload]
                                 .join(OrgUnit, OrgUnit.id == Member.unit_id, isouter=True)  # type: ignore[arg-type]
                                 .where(Member.id == member_id))).one_or_none()
    if row is None or not user.can_see(row[1]):
        raise _no_member(member_id)
    response.headers["ETag"] = etag(row[0].version)
    return _member_public(deps, row[0])


@router.patch("/org/members/{member_id}", response_model=MemberPublic, tags=["org"], dependencies=[ORG_IMPORTERS])
async def patch_member(member_id: str, body: MemberUpdate, deps: Deps, session: SessionDep, user: CurrentUser,
                       version: IfMatch, response: Response) -> MemberPublic:
    """Change a member's roles, forces, contact, unit or active flag; emits ``fq.org.member_upserted.v1``."""
    async with pending.transaction(session):
        write = await authorize_org_write(session, user, members=[member_id],
                                          targets=[body.unit_id] if body.unit_id is not None else [])
        member = write.members[member_id]
        check_version(member.version, version, f"member {member_id}")
        await org.update_member(session, deps, member, body)
        out = _member_public(deps, member)
    response.headers["ETag"] = etag(out.version)
    return out
