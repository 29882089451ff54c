"""Who answers for a force in a unit's area (the community's 法律顾问, the police beat officer…): configured per
unit by the admins who write the org (a street admin inside the street), inherited by the units below. The caller
owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.handlers.org import authorize_org_write
from routing_svc.schemas_tasks import ResponsibleCreate, ResponsibleImport, ResponsiblePublic, ResponsibleUpdate
from routing_svc.tables import Member, OrgUnit
from routing_svc.tables_tasks import ForceResponsible
from shared.auth import Principal
from shared.dictionaries import FORCE
from shared.preconditions import check_version
from shared.problems import Problem


def to_public(r: ForceResponsible, inherited_from: str | None = None) -> ResponsiblePublic:
    return ResponsiblePublic(unit_id=r.unit_id, force=r.force,
                             force_label=FORCE.get(r.force, r.force), member_id=r.member_id, version=r.version,
                             updated_at=r.updated_at, inherited_from=inherited_from)


def _no_responsible(unit_id: str, force: str) -> Problem:
    return Problem(404, "responsible_not_found", f"no member is configured for {force} on unit {unit_id}")


async def _check_member(session: AsyncSession, member_id: str, field: str) -> None:
    member = await session.get(Member, member_id)
    if member is None or not member.active:
        raise Problem(422, "validation_failed", f"{member_id} is not an active member",
                      errors=[{"field": field, "reason": "not an active member", "code": "unknown_member"}])


async def list_for_unit(session: AsyncSession, unit: OrgUnit, effective: bool) -> list[ResponsiblePublic]:
    """The unit's own entries; with ``effective`` the entry that applies for each force, inherited from above."""
    path = list(unit.path) if effective else [unit.id]
    rows = (await session.execute(
        select(ForceResponsible).where(ForceResponsible.unit_id.in_(path))  # type: ignore[attr-defined]
    )).scalars().all()
    depth = {u: i for i, u in enumerate(path)}
    nearest: dict[str, ForceResponsible] = {}
    for r in rows:
        if r.force not in nearest or depth[r.unit_id] > depth[nearest[r.force].unit_id]:
            nearest[r.force] = r
    return [to_public(r, None if r.unit_id == unit.id else r.unit_id) for _, r in sorted(nearest.items())]


async def get(session: AsyncSession, unit_id: str, force: str, *, for_update: bool = False) -> ForceResponsible:
    stmt = select(ForceResponsible).where(ForceResponsible.unit_id == unit_id,  # type: ignore[arg-type]
                                          ForceResponsible.force == force)  # type: ignore[arg-type]
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise _no_responsible(unit_id, force)
    return row


async def create(session: AsyncSession, deps: RoutingDeps, unit_id: str, body: ResponsibleCreate,
                 user: Principal) -> ForceResponsible:
    await authorize_org_write(session, user, units=[unit_id])
    await _check_member(session, body.member_id, "member_id")
    now = deps.clock.now()
    inserted = (await session.execute(insert(ForceResponsible).values(
        unit_id=unit_id, force=body.force, member_id=body.member_id, version=1, updated_by=user.sub, updated_at=now,
    ).on_conflict_do_nothing().returning(ForceResponsible.unit_id))).first()  # type: ignore[arg-type]
    if inserted is None:
        raise Problem(409, "responsible_exists", f"unit {unit_id} has a member for {body.force} already: update it "
                      "(PATCH with If-Match)")
    return await get(session, unit_id, body.force)


async def update(session: AsyncSession, deps: RoutingDeps, unit_id: str, force: str, body: ResponsibleUpdate,
                 user: Principal, if_match: int) -> ForceResponsible:
    await authorize_org_write(session, user, units=[unit_id])
    row = await get(session, unit_id, force, for_update=True)
    check_version(row.version, if_match, "responsible")
    await _check_member(session, body.member_id, "member_id")
    if row.member_id != body.member_id:
        row.member_id, row.version = body.member_id, row.version + 1
        row.updated_by, row.updated_at = user.sub, deps.clock.now()
    return row


async def delete(session: AsyncSession, unit_id: str, force: str, user: Principal, if_match: int) -> None:
    await authorize_org_write(session, user, units=[unit_id])
    row = await get(session, unit_id, force, for_update=True)
    check_version(row.version, if_match, "responsible")
    await session.delete(row)


async def import_rows(session: AsyncSession, deps: RoutingDeps, rows: Sequence[ResponsibleImport],
                      user: Principal) -> int:
    """The org import's ``responsibles`` (after its units and members): upserted, each in the caller's scope."""
    if not rows:
        return 0
    await authorize_org_write(session, user, units=sorted({r.unit_id for r in rows}))
    now = deps.clock.now()
    for i, r in enumerate(rows):
        await _check_member(session, r.member_id, f"responsibles[{i}].member_id")
        stmt = insert(ForceResponsible).values(unit_id=r.unit_id, force=r.force, member_id=r.member_id, version=1,
                                               updated_by=user.sub, updated_at=now)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=["unit_id", "force"],
            set_={"member_id": r.member_id, "updated_by": user.sub, "updated_at": now,
                  "version": ForceResponsible.version + 1},  # type: ignore[operator]
            where=ForceResponsible.member_id != r.member_id))  # type: ignore[arg-type]
    return len(rows)
