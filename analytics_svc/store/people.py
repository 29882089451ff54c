"""Per-person figures, per-force figures and the aging list (分析研判), from the read models.

Cohort as the KPIs: cases received in the window, merged ones aside. A person counts the cases they held
(handled), those resolved in their hands (resolved: outcome ``resolved``; on time: any outcome reached on time
while they held it), and the 回访 answers of the cases they resolved (satisfaction). A person is in a unit's
scope when they held the case in that unit's subtree; a force's cases are in scope when they passed through it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.store.kpis import Filters

_SCOPE = "{path} @> CAST(ARRAY[:u] AS varchar[])"


def _scope(path: str, f: Filters) -> str:
    return f" AND {_SCOPE.format(path=path)}" if f.unit_id else ""


async def person_figures(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    sql = f"""
        SELECT p.assignee_id, min(p.unit_id) AS unit_id, count(*) AS handled,
               count(*) FILTER (WHERE p.resolved_by AND c.outcome = 'resolved') AS resolved,
               count(*) FILTER (WHERE p.resolved_by AND c.outcome IS NOT NULL) AS outcomes,
               count(*) FILTER (WHERE p.resolved_by AND c.outcome_on_time) AS on_time,
               coalesce(sum(c.feedback_answers) FILTER (WHERE p.resolved_by), 0) AS answers,
               coalesce(sum(c.feedback_satisfied) FILTER (WHERE p.resolved_by), 0) AS satisfied
        FROM analytics.person_cases p JOIN analytics.case_facts c ON c.case_id = p.case_id
             LEFT JOIN analytics.units u ON u.unit_id = p.unit_id
        WHERE c.received_at >= :start AND c.received_at < :end AND c.merged_into IS NULL
              {_scope("coalesce(u.path, p.unit_path)", f)}{f.facets("c")}
        GROUP BY p.assignee_id ORDER BY handled DESC, p.assignee_id"""
    return [dict(r._mapping) for r in await session.execute(text(sql), f.bind())]


async def force_figures(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    scope = (f" AND ({_SCOPE.format(path='c.home_path')} OR {_SCOPE.format(path='c.unit_path')})"
             if f.unit_id else "")
    sql = f"""
        SELECT k.force, count(*) AS cases,
               count(*) FILTER (WHERE c.outcome IS NOT NULL) AS outcomes,
               count(*) FILTER (WHERE c.outcome = 'resolved') AS resolved,
               count(*) FILTER (WHERE c.outcome_on_time) AS on_time,
               coalesce(sum(c.feedback_answers), 0) AS answers, coalesce(sum(c.feedback_satisfied), 0) AS satisfied
        FROM analytics.case_forces cf CROSS JOIN LATERAL unnest(cf.forces) AS k(force)
        JOIN analytics.case_facts c ON c.case_id = cf.case_id
        WHERE c.received_at >= :start AND c.received_at < :end AND c.merged_into IS NULL{scope}{f.facets("c")}
        GROUP BY k.force ORDER BY cases DESC, k.force"""
    return [dict(r._mapping) for r in await session.execute(text(sql), f.bind())]


async def aging(session: AsyncSession, unit_id: str | None, before: datetime, limit: int) -> list[dict[str, Any]]:
    """Open red and yellow cases received before ``before``, oldest first within each unit (by the unit holding
    them now)."""
    scope = f" AND {_SCOPE.format(path='c.unit_path')}" if unit_id else ""
    sql = f"""
        SELECT c.case_id, c.code, c.risk_level, c.received_at, c.unit_id, coalesce(u.name, c.unit_name) AS unit_name,
               c.level, c.track, c.accepted_at, c.resolve_due_at, c.escalations, c.overdue_count
        FROM analytics.case_facts c LEFT JOIN analytics.units u ON u.unit_id = c.unit_id
        WHERE c.risk_level IN ('red', 'yellow') AND c.outcome IS NULL AND c.closed_at IS NULL
              AND c.merged_into IS NULL AND c.unit_id IS NOT NULL AND c.received_at < :before{scope}
        ORDER BY c.unit_id, c.received_at, c.case_id LIMIT :limit"""
    rows = await session.execute(text(sql), {"u": unit_id, "before": before, "limit": limit})
    return [dict(r._mapping) for r in rows]
