"""The big screen's map (网格地图): the grids' areas in a scope and the window's cases per grid (one statement each)."""

from __future__ import annotations

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.store.kpis import Filters
from analytics_svc.store.reports import TOP_GRID
from shared.events.case import Level, Outcome, RiskLevel


async def areas(session: AsyncSession, scope_unit: str | None) -> list[RowMapping]:
    """The active grids with an area in the scope unit's subtree (None: every grid), by id."""
    scope = "path @> CAST(ARRAY[:u] AS varchar[])" if scope_unit else "TRUE"
    rows = await session.execute(text(f"""
        SELECT unit_id, name, polygon FROM units
        WHERE level = :grid AND active AND polygon IS NOT NULL AND {scope}
        ORDER BY unit_id"""), {"grid": Level.GRID.value, "u": scope_unit})
    return list(rows.mappings().all())


async def per_grid(session: AsyncSession, f: Filters) -> dict[str, RowMapping]:
    """The window's cases per grid they happened in (the hotspot list's grid: given or located at intake, else
    the grid they were first assigned to), within the scope as every case count is (``home_path``)."""
    scope = "home_path @> CAST(ARRAY[:u] AS varchar[])" if f.unit_id else "TRUE"
    rows = await session.execute(text(f"""
        SELECT {TOP_GRID} AS grid,
               count(*) AS received,
               count(*) FILTER (WHERE outcome IS NULL) AS open,
               count(*) FILTER (WHERE outcome IS NOT NULL) AS with_outcome,
               count(*) FILTER (WHERE outcome = :resolved) AS resolved,
               count(*) FILTER (WHERE overdue_count > 0) AS overdue,
               count(*) FILTER (WHERE risk_level = :red) AS red,
               count(*) FILTER (WHERE risk_level = :yellow) AS yellow,
               count(*) FILTER (WHERE risk_level = :blue) AS blue,
               coalesce(sum(feedback_answers), 0) AS answers,
               coalesce(sum(feedback_satisfied), 0) AS satisfied
        FROM case_facts
        WHERE received_at >= :start AND received_at < :end AND merged_into IS NULL AND {scope}{f.facets()}
          AND {TOP_GRID} IS NOT NULL
        GROUP BY 1"""), {**f.bind(), "resolved": Outcome.RESOLVED.value, "red": RiskLevel.RED.value,
                         "yellow": RiskLevel.YELLOW.value, "blue": RiskLevel.BLUE.value})
    return {r["grid"]: r for r in rows.mappings()}
