"""Projections: every effect comes from an event, so the schema can be rebuilt by replaying."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.tables import CaseFact, UnitPath
from shared.events import CaseAccepted, CaseAssigned, CaseReceived, CaseResolved, Envelope, UnitUpserted
from shared.events.case import Outcome


async def _upsert_fact(session: AsyncSession, case_id: Any, **values: Any) -> None:
    """Insert the case's fact row or update just the given columns (events may arrive in any order)."""
    stmt = insert(CaseFact).values(case_id=case_id, **{"unit_path": [], **values})
    await session.execute(stmt.on_conflict_do_update(index_elements=["case_id"],
                                                     set_={k: stmt.excluded[k] for k in values}))


async def on_unit_upserted(session: AsyncSession, event: UnitUpserted, env: Envelope) -> None:
    values = dict(unit_id=event.unit_id, level=event.level.value, path=event.path)
    await session.execute(insert(UnitPath).values(**values).on_conflict_do_update(
        index_elements=["unit_id"], set_=values))


async def on_case_received(session: AsyncSession, event: CaseReceived, env: Envelope) -> None:
    await _upsert_fact(session, event.case_id, received_at=event.at, channel=event.channel.value,
                       request_type=event.request_type.value, category=event.category,
                       risk_level=event.risk_level.value)


async def on_case_assigned(session: AsyncSession, event: CaseAssigned, env: Envelope) -> None:
    await _upsert_fact(session, event.case_id, unit_id=event.unit_id, unit_path=event.unit_path,
                       level=event.level.value, assigned_at=event.at)


async def on_case_accepted(session: AsyncSession, event: CaseAccepted, env: Envelope) -> None:
    await _upsert_fact(session, event.case_id, accepted_at=event.at)


async def on_case_resolved(session: AsyncSession, event: CaseResolved, env: Envelope) -> None:
    await _upsert_fact(session, event.case_id, outcome=event.outcome.value, outcome_at=event.at,
                       resolved_level=event.level.value)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


async def kpis(session: AsyncSession, start: datetime, end: datetime, unit_id: str | None) -> dict[str, Any]:
    """KPIs over the cohort of cases received in [start, end), for a unit's subtree or everything."""
    cond = and_(CaseFact.received_at >= start, CaseFact.received_at < end)  # type: ignore[operator]
    if unit_id:
        cond = and_(cond, CaseFact.unit_path.contains([unit_id]))  # type: ignore[attr-defined]
    row = (await session.execute(select(
        func.count(),
        func.count().filter(CaseFact.unit_id.is_not(None)),  # type: ignore[union-attr]
        func.count().filter(CaseFact.outcome.is_not(None)),  # type: ignore[union-attr]
        func.count().filter(CaseFact.outcome == Outcome.RESOLVED.value),
    ).where(cond))).one()
    received, assigned, with_outcome, resolved = (int(v) for v in row)
    return {
        "received": received,
        "assigned": assigned,
        "with_outcome": with_outcome,
        "resolved": resolved,
        "resolution_rate": _rate(resolved, with_outcome),
        "completion_rate": _rate(with_outcome, received),
    }
