"""The org hierarchy over HTTP: import (JSON or CSV), read, update and deactivate units and members."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import ValidationError
from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

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


def _no_unit(unit_id: str) -> Problem:
    return Problem(404, "unit_not_found", f"no unit {unit_id} in your scope")


def _no_member(member_id: str) -> Problem:
    return Problem(404, "member_not_found", f"no member {member_id} in your scope")


async def _unit(session: SessionDep, unit_id: str, user: Principal) -> OrgUnit:
    unit = (await session.execute(select(OrgUnit).where(OrgUnit.id == unit_id))).scalar_one_or_none()
    if unit is None or not _unit_visible(user, unit):
        raise _no_unit(unit_id)
    return unit


def _any(ids: list[str]) -> Any:
    """``= ANY(:ids)``: one array parameter, however many ids an import names (not one bind each)."""
    return any_(bindparam("ids", ids, type_=ARRAY(String)))


@dataclass(frozen=True)
class OrgWrite:
    """What an authorized org write may change: the written units and members that exist, locked until commit."""

    units: dict[str, OrgUnit]
    members: dict[str, Member]


async def authorize_org_write(session: SessionDep, user: Principal, *, units: Collection[str] = (),
                              members: Collection[str] = (), targets: Collection[str] = (),
                              create: bool = False) -> OrgWrite:
    """The one rule for every org write (JSON import, CSV import, PATCH): both ends of each change are in scope.

    - where each written object is now: an existing unit (``units``) must be in the caller's subtree, an
      existing member (``members``) must sit in a unit of it;
    - where it goes: each unit something moves under or into (``targets``: new parents, members' new units)
      must be in the subtree, or be one of the written units (a unit created by the same import, whose own
      parent is a target too).

    An object that fails either answers the very 404 that an id existing nowhere gets (``unit_not_found`` /
    ``member_not_found``, the detail naming only the id the caller sent), so nobody learns what lies outside
    their subtree. Unknown written ids are creates when ``create`` (an import), else 404 (a PATCH). The rows
    read are locked (``FOR UPDATE``) so the places checked cannot change before the write commits.
    """
    unit_ids = sorted(set(units) | set(targets))
    rows: dict[str, OrgUnit] = {}
    if unit_ids:
        stmt = (select(OrgUnit).where(OrgUnit.id == _any(unit_ids))  # type: ignore[arg-type]
                .order_by(OrgUnit.id).with_for_update())
        rows = {u.id: u for u in (await session.execute(stmt)).scalars()}
    found: dict[str, tuple[Member, list[str] | None]] = {}
    if members:
        mstmt = (select(Member, OrgUnit.path)  # type: ignore[call-overload]
                 .join(OrgUnit, OrgUnit.id == Member.unit_id, isouter=True)  # type: ignore[arg-type]
                 .where(Member.id == _any(sorted(set(members))))  # type: ignore[arg-type]
                 .order_by(Member.id).with_for_update(of=Member))
        found = {m.id: (m, path) for m, path in (await session.execute(mstmt)).all()}
    for uid in sorted(set(units)):
        row = rows.get(uid)
        if (row is None and not create) or (row is not None and not user.can_see(list(row.path))):
            raise _no_unit(uid)
    for mid in sorted(set(members)):
        hit = found.get(mid)
        if (hit is None and not create) or (hit is not None and not user.can_see(hit[1])):
            raise _no_member(mid)
    for uid in sorted(set(targets) - set(units)):
        row = rows.get(uid)
        if row is None or not user.can_see(list(row.path)):
            raise _no_unit(uid)
    return OrgWrite(units={u: rows[u] for u in units if u in rows}, members={m: found[m][0] for m in found})


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
async def get_unit(unit_id: str, session: SessionDep, user: CurrentUser) -> UnitPublic:
    return UnitPublic.model_validate(await _unit(session, unit_id, user), from_attributes=True)


@router.patch("/org/units/{unit_id}", response_model=UnitPublic, tags=["org"], dependencies=[ORG_IMPORTERS])
async def patch_unit(unit_id: str, body: UnitUpdate, request: Request, session: SessionDep,
                     user: CurrentUser) -> UnitPublic:
    """Rename, change keywords or polygon, deactivate (``active: false``) or reactivate a unit.

    Deactivating is refused while active units sit under it (409 ``unit_has_active_children``) and also
    deactivates its members; each change emits ``fq.org.*`` events."""
    async with session.begin():
        unit = (await authorize_org_write(session, user, units=[unit_id])).units[unit_id]
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
        write = await authorize_org_write(session, user, members=[member_id],
                                          targets=[body.unit_id] if body.unit_id is not None else [])
        member = write.members[member_id]
        await org.update_member(session, _deps(request), member, body)
        out = _member_public(request, member)
    return out
