"""复发率: closures (销号) and their 回头看 recurrences (问题复发), written from events, counted per window.

Cohort: the assignments closed in [start, end) in a unit's subtree (the closing unit's path); a recurrence counts
for the closure its 回头看 re-visited, whenever it was found. Group by the child of the scope unit on the closing
unit's path (``unit``) or by the case's category."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.kpis import Dimension, rate
from analytics_svc.store.kpis import Filters
from analytics_svc.tables import closures
from shared.bus import pending
from shared.events import CaseClosed
from shared.events.lookback import LookbackRecurred

GROUPS = (Dimension.UNIT, Dimension.CATEGORY)


CLOSURES_UPSERT = text(
    f"INSERT INTO {closures.fullname} AS c (assignment_id, case_id, unit_id, unit_path, closed_at) "
    "SELECT r.assignment_id, r.case_id, r.unit_id, coalesce(u.path, CAST(ARRAY[r.unit_id] AS varchar[])), r.at "
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(assignment_id uuid, case_id uuid, unit_id text, "
    "at timestamptz) LEFT JOIN units u ON u.unit_id = r.unit_id "
    "ON CONFLICT (assignment_id) DO UPDATE SET closed_at = excluded.closed_at, case_id = excluded.case_id")


async def _write_closures(session: AsyncSession, events: list[CaseClosed]) -> None:
    """A transaction's closures in one statement (the closing unit's path joined in); an assignment once, its
    last close (an upsert may touch a row only once), in one lock order."""
    last = {e.assignment_id: e for e in events}
    rows = [{"assignment_id": str(e.assignment_id), "case_id": str(e.case_id), "unit_id": e.unit_id,
             "at": e.at.isoformat()} for _, e in sorted(last.items(), key=lambda kv: str(kv[0]))]
    await session.execute(CLOSURES_UPSERT, {"rows": json.dumps(rows)})


CLOSURES: pending.PendingKind[CaseClosed] = pending.PendingKind("analytics.closures", _write_closures)


def record_closure(session: AsyncSession, e: CaseClosed) -> None:
    """Queue the closure row 复发率 counts; written with the consumer batch, before it commits. A recurrence
    upserts other columns of the same row, so the two may come in either order."""
    pending.queue(session, CLOSURES, e)


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
