"""复发率: closures (销号) and their 回头看 recurrences (问题复发), written from events, counted per window.

Cohort: the assignments closed in [start, end) in a unit's subtree (the closing unit's path); a recurrence counts
for the closure its 回头看 re-visited, whenever it was found. Group by the child of the scope unit on the closing
unit's path (``unit``) or by the case's category."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.kpis import Dimension, rate
from analytics_svc.store.kpis import Filters
from analytics_svc.tables import closures
from shared.events import CaseClosed
from shared.events.lookback import LookbackRecurred

GROUPS = (Dimension.UNIT, Dimension.CATEGORY)


async def record_closure(session: AsyncSession, e: CaseClosed) -> None:
    path = (await session.execute(text("SELECT path FROM units WHERE unit_id = :u"), {"u": e.unit_id})).scalar()
    await session.execute(insert(closures).values(
        assignment_id=e.assignment_id, case_id=e.case_id, unit_id=e.unit_id, unit_path=list(path or [e.unit_id]),
        closed_at=e.at).on_conflict_do_update(index_elements=["assignment_id"],
                                              set_={"closed_at": e.at, "case_id": e.case_id}))


async def record_recurrence(session: AsyncSession, e: LookbackRecurred) -> None:
    """Upserted: the closure row is there already (the case's events arrive in order), unless replayed partially."""
    await session.execute(insert(closures).values(
        assignment_id=e.assignment_id, case_id=e.case_id, unit_id=e.unit_id, unit_path=list(e.unit_path),
        recurred_at=e.at, lookback_id=e.lookback_id).on_conflict_do_update(
        index_elements=["assignment_id"], set_={"recurred_at": e.at, "lookback_id": e.lookback_id}))


async def recurrence_counts(session: AsyncSession, f: Filters, group: Dimension | None) -> list[dict[str, Any]]:
    """``closed``, ``recurred`` and 复发率 (``recurrence_rate``), per group (``key`` None without a group)."""
    if group == Dimension.UNIT:
        g = f"r.unit_path[{(f.depth or 0) + 1}]"
    elif group == Dimension.CATEGORY:
        g = "c.category"
    else:
        g = "NULL"
    scope = " AND r.unit_path @> CAST(ARRAY[:u] AS varchar[])" if f.unit_id else ""
    rows = (await session.execute(text(f"""
        SELECT {g} AS g, count(*) AS closed, count(*) FILTER (WHERE r.recurred_at IS NOT NULL) AS recurred
        FROM closures r LEFT JOIN case_facts c ON c.case_id = r.case_id
        WHERE r.closed_at >= :start AND r.closed_at < :end{scope}{f.facets("c")}
        GROUP BY 1 ORDER BY 2 DESC, 1"""), f.bind())).mappings().all()
    return [{"key": r["g"], "closed": int(r["closed"]), "recurred": int(r["recurred"]),
             "recurrence_rate": rate(int(r["recurred"]), int(r["closed"]))} for r in rows]
