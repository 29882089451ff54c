"""Org handlers: who may write which units and members (``authorize_org_write``), importing (JSON or CSV, parsed
at the edge), updating and deactivating units and members.

Every change writes ``fq.org.unit_upserted.v1`` / ``fq.org.member_upserted.v1`` to the outbox in the caller's
transaction and bumps the org revision (every replica's unit cache reloads). Contact data (phone, email) is
sealed at rest and never leaves in an event.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.org import OrgError, UnitSpec, compute_paths
from routing_svc.schemas import MemberUpdate, OrgImport, UnitUpdate
from routing_svc.store.revisions import Revision, bump_revision
from routing_svc.tables import Member, OrgUnit
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.events import MemberUpserted, UnitUpserted
from shared.events.case import Level
from shared.events.org import PolygonGeometry
from shared.problems import Problem

# --- authorizing a write ---------------------------------------------------------------------------


def _no_unit(unit_id: str) -> Problem:
    return Problem(404, "unit_not_found", f"no unit {unit_id} in your scope")


def _no_member(member_id: str) -> Problem:
    return Problem(404, "member_not_found", f"no member {member_id} in your scope")


def _any(ids: list[str]) -> Any:
    """``= ANY(:ids)``: one array parameter, however many ids an import names (not one bind each)."""
    return any_(bindparam("ids", ids, type_=ARRAY(String)))


@dataclass(frozen=True)
class OrgWrite:
    """What an authorized org write may change: the written units and members that exist, locked until commit."""

    units: dict[str, OrgUnit]
    members: dict[str, Member]


async def authorize_org_write(session: AsyncSession, user: Principal, *, units: Collection[str] = (),
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


# --- import ----------------------------------------------------------------------------------------


async def _unit_event(session: AsyncSession, deps: RoutingDeps, u: OrgUnit) -> None:
    await add_event(session, UnitUpserted(unit_id=u.id, name=u.name, level=Level(u.level), parent_id=u.parent_id,
                                          path=list(u.path), active=u.active,
                                          polygon=PolygonGeometry.of_ring(u.polygon)), source=deps.source)


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
        unit.updated_at, unit.version = now, unit.version + 1
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
    await check_leaders(session, {u.id: (paths[u.id], [x.member_id for x in u.leaders]) for u in doc.units},
                        {m.id: m.unit_id for m in doc.members}, "units[{unit}].leaders[{i}].member_id")
    for u in doc.units:
        values = dict(id=u.id, name=u.name, level=u.level.value, parent_id=u.parent_id, path=paths[u.id],
                      address_keywords=u.address_keywords, polygon=u.polygon, active=u.active, updated_at=now,
                      leaders=[x.model_dump() for x in u.leaders])
        stmt = insert(OrgUnit).values(**values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                                         set_={**values, "version": OrgUnit.version + 1}))
        await add_event(session, UnitUpserted(unit_id=u.id, name=u.name, level=u.level, parent_id=u.parent_id,
                                              path=paths[u.id], active=u.active,
                                              polygon=PolygonGeometry.of_ring(u.polygon)), source=deps.source)
    await _repath_descendants(session, deps, existing, paths, now)
    for m in doc.members:
        aad = m.id.encode()
        values = dict(id=m.id, unit_id=m.unit_id, name_sealed=deps.pii.seal(m.name, aad),
                      phone_sealed=deps.pii.seal(m.phone, aad) if m.phone else None,
                      email_sealed=deps.pii.seal(m.email, aad) if m.email else None, roles=m.all_roles(),
                      forces=m.forces, active=m.active, updated_at=now)
        stmt = insert(Member).values(**values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                                         set_={**values, "version": Member.version + 1}))
        await add_event(session, MemberUpserted(member_id=m.id, unit_id=m.unit_id, roles=m.all_roles(),
                                                forces=m.forces, active=m.active), source=deps.source)
    await bump_revision(session, Revision.ORG)
    return len(doc.units), len(doc.members)


async def check_leaders(session: AsyncSession, leaders: dict[str, tuple[list[str], list[str]]],
                        member_units: dict[str, str], field: str) -> None:
    """Each responsible leader (unit id → (its path, leader member ids)) is a member of the unit or of a unit above
    it (a 包村干部 is often a street cadre); ``member_units`` are the members the same import creates or moves.
    422 naming each bad leader (``field`` formatted with ``unit`` and ``i``)."""
    wanted = sorted({m for _, ids in leaders.values() for m in ids} - set(member_units))
    stored: dict[str, str] = {}
    if wanted:
        stmt = select(Member.id, Member.unit_id).where(Member.id == _any(wanted))  # type: ignore[call-overload]
        stored = dict((await session.execute(stmt)).all())
    where = {**stored, **member_units}
    errors = [{"field": field.format(unit=uid, i=i), "reason": f"{m} is no member of {uid} or a unit above it",
               "code": "invalid_org"}
              for uid, (path, ids) in leaders.items() for i, m in enumerate(ids) if where.get(m) not in path]
    if errors:
        raise Problem(422, "invalid_org", "responsible leaders must be members of the unit or of a unit above it",
                      errors=errors[:200])


# --- updates ---------------------------------------------------------------------------------------


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
                m.active, m.updated_at, m.version = False, now, m.version + 1
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
    if "leaders" in fields and body.leaders is not None:
        await check_leaders(session, {unit.id: (list(unit.path), [x.member_id for x in body.leaders])}, {},
                            "leaders[{i}].member_id")
        unit.leaders = [x.model_dump() for x in body.leaders]
    unit.updated_at, unit.version = now, unit.version + 1
    await _unit_event(session, deps, unit)
    await bump_revision(session, Revision.ORG)
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
    member.updated_at, member.version = now, member.version + 1
    await _member_event(session, deps, member)
    await bump_revision(session, Revision.ORG)
