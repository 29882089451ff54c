"""Org handlers: import (JSON or CSV), updating and deactivating units and members, and the unit cache.

Every change writes ``fq.org.unit_upserted.v1`` / ``fq.org.member_upserted.v1`` to the outbox in the
caller's transaction. Contact data (phone, email) is sealed at rest and never leaves in an event.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.locate import UnitInfo, polygon_of
from routing_svc.domain.org import OrgError, UnitSpec, compute_paths
from routing_svc.rules import bump_revision
from routing_svc.schemas import ID_PATTERN, MemberImport, OrgImport, UnitImport
from routing_svc.tables import SCHEMA, Member, OrgUnit
from shared.bus.outbox import add_event
from shared.events import MemberUpserted, UnitUpserted
from shared.events.case import Level
from shared.problems import Problem

if TYPE_CHECKING:
    from datetime import datetime

    from routing_svc.handlers import RoutingDeps

UNIT_COLUMNS = ("id", "name", "level", "parent_id", "address_keywords", "polygon", "active")
MEMBER_COLUMNS = ("id", "name", "unit_id", "roles", "forces", "phone", "email", "active")
LIST_SEPARATOR = "|"


# --- import ----------------------------------------------------------------------------------------


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("", "1", "true", "yes", "y", "是"):
        return True
    if v in ("0", "false", "no", "n", "否"):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def _list(value: str) -> list[str]:
    return [x.strip() for x in value.split(LIST_SEPARATOR) if x.strip()]


def _polygon(value: str) -> list[list[float]] | None:
    """``[[lng, lat], ...]`` as JSON, or ``lng lat; lng lat; ...``."""
    v = value.strip()
    if not v:
        return None
    if v.startswith("["):
        loaded: list[list[float]] = json.loads(v)
        return loaded
    return [[float(x) for x in pair.split()] for pair in v.split(";") if pair.strip()]


def _rows(text: str, kind: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise Problem(422, "invalid_csv", f"the {kind} CSV lacks the columns {missing}",
                      errors=[{"field": f"{kind}.header", "reason": f"missing column {c}", "code": "missing"}
                              for c in missing])
    for i, row in enumerate(reader):
        yield i, {(k or "").strip(): (v or "") for k, v in row.items()}


def parse_csv(text: str, kind: str) -> OrgImport:
    """A units or members CSV (UTF-8, header row; lists separated by ``|``) → an import document.

    Units: ``id,name,level,parent_id,address_keywords,polygon,active``; members:
    ``id,name,unit_id,roles,forces,phone,email,active``. Errors name ``units[row].column`` (row 0 = first
    data row).
    """
    errors: list[dict[str, str]] = []
    units: list[UnitImport] = []
    members: list[MemberImport] = []
    if kind == "units":
        for i, row in _rows(text, kind, ("id", "name", "level", "parent_id")):
            try:
                raw: dict[str, Any] = dict(id=row["id"].strip(), name=row["name"].strip(), level=row["level"].strip(),
                                           parent_id=row["parent_id"].strip() or None,
                                           address_keywords=_list(row.get("address_keywords", "")),
                                           polygon=_polygon(row.get("polygon", "")),
                                           active=_bool(row.get("active", "")))
                units.append(UnitImport.model_validate(raw))
            except ValidationError as exc:
                errors += [{"field": f"units[{i}].{'.'.join(str(x) for x in e['loc'])}", "reason": e["msg"],
                            "code": "invalid"} for e in exc.errors()]
            except ValueError as exc:
                errors.append({"field": f"units[{i}]", "reason": str(exc), "code": "invalid"})
    elif kind == "members":
        for i, row in _rows(text, kind, ("id", "name", "unit_id", "roles")):
            try:
                raw = dict(id=row["id"].strip(), name=row["name"].strip(), unit_id=row["unit_id"].strip(),
                           roles=_list(row["roles"]), forces=_list(row.get("forces", "")),
                           phone=row.get("phone", "").strip() or None, email=row.get("email", "").strip() or None,
                           active=_bool(row.get("active", "")))
                members.append(MemberImport.model_validate(raw))
            except ValidationError as exc:
                errors += [{"field": f"members[{i}].{'.'.join(str(x) for x in e['loc'])}", "reason": e["msg"],
                            "code": "invalid"} for e in exc.errors()]
            except ValueError as exc:
                errors.append({"field": f"members[{i}]", "reason": str(exc), "code": "invalid"})
    else:
        raise Problem(422, "validation_failed", "kind must be units or members for a CSV import",
                      errors=[{"field": "query.kind", "reason": "units or members", "code": "invalid"}])
    if errors:
        raise Problem(422, "invalid_csv", f"{len(errors)} invalid value(s) in the {kind} CSV", errors=errors[:200])
    return OrgImport(units=units, members=members)


async def _unit_event(session: AsyncSession, deps: RoutingDeps, u: OrgUnit) -> None:
    await add_event(session, UnitUpserted(unit_id=u.id, name=u.name, level=Level(u.level), parent_id=u.parent_id,
                                          path=list(u.path), active=u.active), source=deps.source)


async def _member_event(session: AsyncSession, deps: RoutingDeps, m: Member) -> None:
    await add_event(session, MemberUpserted(member_id=m.id, unit_id=m.unit_id, roles=list(m.roles),
                                            forces=list(m.forces), active=m.active), source=deps.source)


async def _repath_descendants(session: AsyncSession, deps: RoutingDeps, existing: dict[str, tuple[Level, list[str]]],
                              paths: dict[str, list[str]], now: datetime) -> None:
    """A unit that moved takes its stored subtree along: every descendant not in the import gets the new path (and
    an ``fq.org.unit_upserted.v1``, so notify and analytics see the subtree where it now is)."""
    moved = {uid for uid, path in paths.items() if uid in existing and existing[uid][1] != path}
    new_paths: dict[str, list[str]] = {}
    for uid, (_, old) in existing.items():
        ancestor = next((a for a in reversed(old[:-1]) if a in moved), None) if uid not in paths else None
        if ancestor is not None:
            new_paths[uid] = [*paths[ancestor], *old[old.index(ancestor) + 1:]]
    if not new_paths:
        return
    for unit in (await session.execute(select(OrgUnit).where(OrgUnit.id.in_(new_paths)))).scalars():  # type: ignore[attr-defined]
        unit.path = new_paths[unit.id]
        unit.updated_at = now
        await _unit_event(session, deps, unit)


async def import_org(session: AsyncSession, deps: RoutingDeps, doc: OrgImport) -> tuple[int, int]:
    now = deps.clock.now()
    ids = [u.id for u in doc.units]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise Problem(422, "validation_failed", f"duplicate unit ids: {dupes}",
                      errors=[{"field": f"units[{d}].id", "reason": "duplicate id", "code": "duplicate"}
                              for d in dupes])
    existing = {u.id: (Level(u.level), list(u.path)) for u in (await session.execute(select(OrgUnit))).scalars()}
    try:
        paths = compute_paths([UnitSpec(u.id, u.name, u.level, u.parent_id) for u in doc.units], existing)
    except OrgError as exc:
        raise Problem(422, "invalid_org", str(exc),
                      errors=[{**e, "code": "invalid_org"} for e in exc.errors]) from exc
    cycles = [uid for uid, path in paths.items() if path.count(uid) > 1]  # moved under its own descendant
    if cycles:
        raise Problem(422, "invalid_org", "a unit cannot move under its own descendant",
                      errors=[{"field": f"units[{uid}].parent_id", "reason": "the hierarchy has a cycle",
                               "code": "invalid_org"} for uid in cycles])
    known_units = set(existing) | set(paths)
    bad_members = [m for m in doc.members if m.unit_id not in known_units]
    if bad_members:
        raise Problem(422, "invalid_org", "members refer to unknown units",
                      errors=[{"field": f"members[{m.id}].unit_id", "reason": f"unknown unit {m.unit_id}",
                               "code": "invalid_org"} for m in bad_members])
    for u in doc.units:
        values = dict(id=u.id, name=u.name, level=u.level.value, parent_id=u.parent_id, path=paths[u.id],
                      address_keywords=u.address_keywords, polygon=u.polygon, active=u.active, updated_at=now)
        stmt = insert(OrgUnit).values(**values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        await add_event(session, UnitUpserted(unit_id=u.id, name=u.name, level=u.level, parent_id=u.parent_id,
                                              path=paths[u.id], active=u.active), source=deps.source)
    await _repath_descendants(session, deps, existing, paths, now)
    for m in doc.members:
        aad = m.id.encode()
        values = dict(id=m.id, unit_id=m.unit_id, name_sealed=deps.pii.seal(m.name, aad),
                      phone_sealed=deps.pii.seal(m.phone, aad) if m.phone else None,
                      email_sealed=deps.pii.seal(m.email, aad) if m.email else None, roles=m.all_roles(),
                      forces=m.forces, active=m.active, updated_at=now)
        stmt = insert(Member).values(**values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        await add_event(session, MemberUpserted(member_id=m.id, unit_id=m.unit_id, roles=m.all_roles(),
                                                forces=m.forces, active=m.active), source=deps.source)
    await bump_revision(session, "org")
    return len(doc.units), len(doc.members)


# --- updates ---------------------------------------------------------------------------------------


class UnitUpdate(BaseModel):
    """PATCH a unit: only the fields sent change. Moving a unit (parent) is an import of its subtree."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address_keywords: list[str] | None = Field(default=None, max_length=200)
    polygon: list[list[float]] | None = None
    active: bool | None = None

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        if v is not None and polygon_of(v) is None:
            raise ValueError("a polygon is a valid closed ring of at least 4 [lng, lat] points")
        return v


class MemberUpdate(BaseModel):
    """PATCH a member: only the fields sent change (``null`` clears phone or email)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    unit_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=ID_PATTERN)
    roles: list[str] | None = Field(default=None, min_length=1)
    forces: list[str] | None = None
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    active: bool | None = None


async def update_unit(session: AsyncSession, deps: RoutingDeps, unit: OrgUnit, body: UnitUpdate) -> list[str]:
    """Apply a PATCH; returns the members deactivated with the unit.

    Deactivating a unit is refused while it has active child units (deactivate the leaves first, so no
    active unit hangs under an inactive one) and deactivates its members; reactivating needs an active
    parent and leaves members as they are.
    """
    now = deps.clock.now()
    fields = body.model_fields_set
    deactivated: list[str] = []
    if "active" in fields and body.active is not None and body.active != unit.active:
        if body.active is False:
            children = (await session.execute(select(OrgUnit.id).where(
                OrgUnit.parent_id == unit.id, OrgUnit.active.is_(True)))).scalars().all()  # type: ignore[attr-defined]
            if children:
                raise Problem(409, "unit_has_active_children", f"deactivate the units under {unit.id} first: "
                              f"{sorted(children)}", children=sorted(children))
            members = (await session.execute(select(Member).where(
                Member.unit_id == unit.id, Member.active.is_(True)).with_for_update())).scalars().all()  # type: ignore[attr-defined]
            for m in members:
                m.active, m.updated_at = False, now
                await _member_event(session, deps, m)
                deactivated.append(m.id)
        elif unit.parent_id is not None:
            parent = await session.get(OrgUnit, unit.parent_id)
            if parent is None or not parent.active:
                raise Problem(409, "parent_inactive", f"activate the parent unit {unit.parent_id} first")
        unit.active = body.active
    if "name" in fields and body.name is not None:
        unit.name = body.name
    if "address_keywords" in fields and body.address_keywords is not None:
        unit.address_keywords = body.address_keywords
    if "polygon" in fields:
        unit.polygon = body.polygon
    unit.updated_at = now
    await _unit_event(session, deps, unit)
    await bump_revision(session, "org")
    return deactivated


async def update_member(session: AsyncSession, deps: RoutingDeps, member: Member, body: MemberUpdate) -> None:
    now = deps.clock.now()
    fields = body.model_fields_set
    aad = member.id.encode()
    if "unit_id" in fields and body.unit_id is not None and body.unit_id != member.unit_id:
        target = await session.get(OrgUnit, body.unit_id)
        if target is None:
            raise Problem(422, "invalid_org", f"unknown unit {body.unit_id}",
                          errors=[{"field": "unit_id", "reason": f"unknown unit {body.unit_id}",
                                   "code": "invalid_org"}])
        member.unit_id = body.unit_id
    if "name" in fields and body.name is not None:
        member.name_sealed = deps.pii.seal(body.name, aad)
    if "phone" in fields:
        member.phone_sealed = deps.pii.seal(body.phone, aad) if body.phone else None
    if "email" in fields:
        member.email_sealed = deps.pii.seal(body.email, aad) if body.email else None
    if "roles" in fields and body.roles is not None:
        member.roles = sorted(set(body.roles))
    if "forces" in fields and body.forces is not None:
        member.forces = body.forces
    if "active" in fields and body.active is not None:
        if body.active:
            unit = await session.get(OrgUnit, member.unit_id)
            if unit is None or not unit.active:
                raise Problem(409, "unit_inactive", f"the member's unit {member.unit_id} is inactive")
        member.active = body.active
    member.updated_at = now
    await _member_event(session, deps, member)
    await bump_revision(session, "org")


# --- the cache used for locating -------------------------------------------------------------------


class UnitCache:
    """Active units for locating, reloaded only when the org changed (any replica's change bumps the stamp)."""

    def __init__(self) -> None:
        self._stamp: int | None = None
        self._units: dict[str, UnitInfo] = {}

    async def get(self, session: AsyncSession) -> dict[str, UnitInfo]:
        stamp = (await session.execute(text(f"SELECT revision FROM {SCHEMA}.revisions WHERE name = 'org'"))).scalar()
        if stamp != self._stamp:
            rows = (await session.execute(select(OrgUnit).where(OrgUnit.active.is_(True)))).scalars()  # type: ignore[attr-defined]
            self._units = {u.id: UnitInfo(u.id, u.name, Level(u.level), u.parent_id, tuple(u.path),
                                          tuple(u.address_keywords), polygon_of(u.polygon)) for u in rows}
            self._stamp = stamp
        return self._units
