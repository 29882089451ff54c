"""Routing handlers: one function per command or event. The caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc import workflow
from routing_svc.domain.locate import UnitInfo
from routing_svc.domain.org import OrgError, UnitSpec, compute_paths
from routing_svc.domain.rules import RuleSet, default_rules
from routing_svc.schemas import OrgImport
from routing_svc.tables import Member, OrgUnit
from shared.bus.outbox import add_event
from shared.clock import Clock
from shared.crypto import Sealer
from shared.events import MemberUpserted, UnitUpserted
from shared.events.case import Level
from shared.problems import Problem
from shared.worktime import WorkCalendar

log = structlog.get_logger(__name__)


@dataclass
class RoutingDeps:
    clock: Clock
    pii: Sealer  # members' contact data at rest
    transport: Sealer  # opens the address sealed by intake
    source: str
    close_after_days: int = 5  # 销号 when no follow-up answer came within this many working days of resolution
    followup_review_days: int = 30  # followup track: the review date the accepted event carries (no hard deadline)
    units: UnitCache = field(default_factory=lambda: UnitCache())
    rules: Any = field(default_factory=lambda: _InterimRules())  # INTERIM until routing-rules' RulesCache lands
    calendar: Any = field(default_factory=lambda: _InterimCalendar())


class _InterimRules:
    async def get(self, session: AsyncSession) -> RuleSet:
        return default_rules()


class _InterimCalendar:
    def __init__(self) -> None:
        self._cal = WorkCalendar()

    async def get(self, session: AsyncSession) -> WorkCalendar:
        return self._cal


# --- org -----------------------------------------------------------------------------------------------


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
    for m in doc.members:
        aad = m.id.encode()
        values = dict(id=m.id, unit_id=m.unit_id, name_sealed=deps.pii.seal(m.name, aad),
                      phone_sealed=deps.pii.seal(m.phone, aad) if m.phone else None, roles=m.all_roles(),
                      forces=m.forces, active=m.active, updated_at=now)
        stmt = insert(Member).values(**values)
        await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
        await add_event(session, MemberUpserted(member_id=m.id, unit_id=m.unit_id, roles=m.all_roles(),
                                                forces=m.forces, active=m.active), source=deps.source)
    return len(doc.units), len(doc.members)


class UnitCache:
    """Active units for locating, reloaded only when the org changed (any replica's import bumps the stamp)."""

    def __init__(self) -> None:
        self._stamp: tuple[int, datetime | None] | None = None
        self._units: dict[str, UnitInfo] = {}

    async def get(self, session: AsyncSession) -> dict[str, UnitInfo]:
        stamp = tuple((await session.execute(select(func.count(), func.max(OrgUnit.updated_at)))).one())
        if stamp != self._stamp:
            rows = (await session.execute(select(OrgUnit).where(OrgUnit.active.is_(True)))).scalars()  # type: ignore[attr-defined]
            self._units = {u.id: UnitInfo(u.id, u.name, Level(u.level), u.parent_id, tuple(u.path),
                                          tuple(u.address_keywords)) for u in rows}
            self._stamp = stamp  # type: ignore[assignment]
        return self._units


# --- events and assignment commands: the workflow ------------------------------------------------------

on_case_received = workflow.on_case_received
on_feedback_received = workflow.on_feedback_received
get_assignment = workflow.get_assignment
accept = workflow.accept
resolve = workflow.resolve
