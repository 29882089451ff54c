"""The fact-row reads behind the funnel, the hotspot lists and the ledger export (one statement each)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.store.kpis import Filters
from analytics_svc.tables import hotspot_alerts

_HOME_SCOPE = "home_path @> CAST(ARRAY[:u] AS varchar[])"


def _scope(f: Filters) -> str:
    return _HOME_SCOPE if f.unit_id else "TRUE"


async def funnel(session: AsyncSession, f: Filters) -> RowMapping:
    """提级漏斗: cases handled at a grid, and cases escalated to community/village, street, district."""
    return (await session.execute(text(f"""
        SELECT count(*) FILTER (WHERE 'grid' = ANY(levels_reached)) AS grid,
               count(*) FILTER (WHERE escalated_levels && CAST(ARRAY['community', 'village'] AS varchar[]))
                 AS community,
               count(*) FILTER (WHERE 'street' = ANY(escalated_levels)) AS street,
               count(*) FILTER (WHERE 'district' = ANY(escalated_levels)) AS district
        FROM case_facts WHERE received_at >= :start AND received_at < :end AND merged_into IS NULL
          AND {_scope(f)}{f.facets()}"""), f.bind())).mappings().one()


# the top lists' group expressions
TOP_GRID = "coalesce(grid_id, CASE WHEN home_level = 'grid' THEN home_unit_id END)"
TOP_BUILDING = "building_id"
TOP_ADDRESS = "address_key"
TOP_CATEGORY = "category"
TOP_APPLICANT = "applicant_key"


async def top(session: AsyncSession, f: Filters, expr: str, limit: int) -> list[tuple[Any, int]]:
    """The ``limit`` most frequent values of ``expr`` among the window's cases, with their counts."""
    base = (f"FROM case_facts WHERE received_at >= :start AND received_at < :end AND merged_into IS NULL "
            f"AND {_scope(f)}{f.facets()}")
    rows = await session.execute(text(
        f"SELECT {expr} AS k, count(*) AS n {base} AND {expr} IS NOT NULL GROUP BY 1 "
        "ORDER BY n DESC, k LIMIT :limit"), {**f.bind(), "limit": limit})
    return [(r.k, int(r.n)) for r in rows]


async def spikes(session: AsyncSession, f: Filters, limit: int) -> list[RowMapping]:
    """The alerts whose day overlaps the window, in the scope, highest ratio first."""
    q = select(hotspot_alerts).where(hotspot_alerts.c.window_start < f.end, hotspot_alerts.c.window_end > f.start)
    if f.unit_id:
        q = q.where(hotspot_alerts.c.unit_path.contains([f.unit_id]))
    return list((await session.execute(q.order_by(hotspot_alerts.c.ratio.desc()).limit(limit))).mappings().all())


async def ledger(session: AsyncSession, f: Filters, limit: int) -> list[dict[str, Any]]:
    """The window's case fact rows with their home and current unit names, their agreements' 履行 and 司法确认 and
    the forces called in, at most ``limit`` (+1: the caller refuses a window with more)."""
    scope = "(f.home_path @> CAST(ARRAY[:u] AS varchar[]) OR f.outcome_path @> CAST(ARRAY[:u] AS varchar[]))" \
        if f.unit_id else "TRUE"
    rows = (await session.execute(text(f"""
        SELECT f.*, hu.name AS home_name, cu.name AS unit_name_now, cf.forces,
               (SELECT count(*) FROM agreement_facts a WHERE a.case_id = f.case_id) AS agreements,
               (SELECT array_agg(a.performance) FROM agreement_facts a WHERE a.case_id = f.case_id) AS performances,
               (SELECT array_agg(a.confirmation) FROM agreement_facts a WHERE a.case_id = f.case_id
                  AND a.confirmation IS NOT NULL) AS confirmations
        FROM case_facts f
        LEFT JOIN units hu ON hu.unit_id = f.home_unit_id
        LEFT JOIN units cu ON cu.unit_id = f.unit_id
        LEFT JOIN case_forces cf ON cf.case_id = f.case_id
        WHERE f.received_at >= :start AND f.received_at < :end AND f.merged_into IS NULL AND {scope}{f.facets("f")}
        ORDER BY f.received_at, f.code LIMIT :limit"""), {**f.bind(), "limit": limit + 1})).mappings().all()
    return [dict(r) for r in rows]
