"""The org hierarchy over HTTP: import (JSON or CSV), read, update and deactivate units and members."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from pydantic import ValidationError
from sqlalchemy import select

from routing_svc import org
from routing_svc.handlers import RoutingDeps
from routing_svc.org import MemberUpdate, UnitUpdate
from routing_svc.schemas import MemberPublic, OrgImport, OrgImportResult, UnitPublic
from routing_svc.tables import Member, OrgUnit
from shared.auth import CurrentUser, Principal, Role, require_roles
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1")

ORG_IMPORTERS = require_roles(Role.STREET_ADMIN, Role.SERVICE)
MAX_IMPORT_BYTES = 20_000_000


def _deps(request: Request) -> RoutingDeps:
    deps: RoutingDeps = request.app.state.deps
    return deps


def _unit_visible(user: Principal, unit: OrgUnit) -> bool:
    return user.can_see(unit.path)


async def _unit(session: SessionDep, unit_id: str, user: Principal, *, for_update: bool = False) -> OrgUnit:
    stmt = select(OrgUnit).where(OrgUnit.id == unit_id)
    if for_update:
        stmt = stmt.with_for_update()
    unit = (await session.execute(stmt)).scalar_one_or_none()
    if unit is None or not _unit_visible(user, unit):
        raise Problem(404, "unit_not_found", f"no unit {unit_id} in your scope")
    return unit


def _member_public(request: Request, m: Member) -> MemberPublic:
    pii = _deps(request).pii
    phone = pii.open(m.phone_sealed, m.id.encode()) if m.phone_sealed else None
    return MemberPublic(id=m.id, unit_id=m.unit_id, name=pii.open(m.name_sealed, m.id.encode()),
                        phone=phone[:3] + "****" + phone[-4:] if phone else None, roles=m.roles,
                        forces=m.forces, active=m.active)


@router.post("/org/import", response_model=OrgImportResult, tags=["org"], dependencies=[ORG_IMPORTERS],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object", "description": "units and members, in the "
                                                                                   "format of org_demo.json"}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def import_org(request: Request, session: SessionDep, user: CurrentUser,
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
            doc = org.parse_csv(body.decode("utf-8"), kind)
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
    async with session.begin():
        await _check_import_scope(session, user, doc)
        units, members = await org.import_org(session, _deps(request), doc)
    return OrgImportResult(units=units, members=members)


async def _check_import_scope(session: SessionDep, user: Principal, doc: OrgImport) -> None:
    """A street admin imports inside its subtree only: every parent and member unit must be in scope."""
    if user.is_global:
        return
    new = {u.id: u.parent_id for u in doc.units}
    referenced = ({p for p in new.values() if p and p not in new}
                  | {m.unit_id for m in doc.members if m.unit_id not in new})
    roots = [u for u, p in new.items() if p is None]
    if roots:
        raise Problem(403, "out_of_scope", f"only admins import root units: {sorted(roots)}")
    rows = {u.id: u for u in (await session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(referenced | set(new))))).scalars()}  # type: ignore[attr-defined]
    outside = sorted(uid for uid in referenced if uid in rows and not user.can_see(list(rows[uid].path)))
    outside += sorted(uid for uid in new if uid in rows and not user.can_see(list(rows[uid].path)))
    if outside:
        raise Problem(403, "out_of_scope", f"units outside your scope: {outside}")


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
async def get_unit(unit_id: str, session: SessionDep, user: CurrentUser) -> UnitPublic:
    return UnitPublic.model_validate(await _unit(session, unit_id, user), from_attributes=True)


@router.patch("/org/units/{unit_id}", response_model=UnitPublic, tags=["org"], dependencies=[ORG_IMPORTERS])
async def patch_unit(unit_id: str, body: UnitUpdate, request: Request, session: SessionDep,
                     user: CurrentUser) -> UnitPublic:
    """Rename, change keywords or polygon, deactivate (``active: false``) or reactivate a unit.

    Deactivating is refused while active units sit under it (409 ``unit_has_active_children``) and also
    deactivates its members; each change emits ``fq.org.*`` events."""
    async with session.begin():
        unit = await _unit(session, unit_id, user, for_update=True)
        await org.update_unit(session, _deps(request), unit, body)
        out = UnitPublic.model_validate(unit, from_attributes=True)
    return out


@router.get("/org/units/{unit_id}/members", response_model=list[MemberPublic], tags=["org"])
async def unit_members(unit_id: str, request: Request, session: SessionDep, user: CurrentUser) -> list[MemberPublic]:
    """Members of a unit; phone numbers masked."""
    await _unit(session, unit_id, user)
    rows = (await session.execute(select(Member).where(Member.unit_id == unit_id).order_by(Member.id))).scalars()
    return [_member_public(request, m) for m in rows]


@router.patch("/org/members/{member_id}", response_model=MemberPublic, tags=["org"], dependencies=[ORG_IMPORTERS])
async def patch_member(member_id: str, body: MemberUpdate, request: Request, session: SessionDep,
                       user: CurrentUser) -> MemberPublic:
    """Change a member's roles, forces, contact, unit or active flag; emits ``fq.org.member_upserted.v1``."""
    async with session.begin():
        member = (await session.execute(
            select(Member).where(Member.id == member_id).with_for_update())).scalar_one_or_none()
        if member is None:
            raise Problem(404, "member_not_found", f"no member {member_id} in your scope")
        await _unit(session, member.unit_id, user)  # 404 outside the caller's scope
        if body.unit_id is not None:
            await _unit(session, body.unit_id, user)
        await org.update_member(session, _deps(request), member, body)
        out = _member_public(request, member)
    return out
