"""The documents' KPIs (协议书 count and rate, 司法确认, 履行率) over the fact tables: one statement per window.

Cohort and crediting as the outcome-side KPIs (``store.kpis``): the cases received in [start, end), merged reports
excluded, credited to the unit that reached the outcome (``outcome_path``; the home unit while there is none).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.store.kpis import Filters
from analytics_svc.tables import case_facts
from analytics_svc.tables_records import agreement_facts

PATH = "(CASE WHEN cardinality(c.outcome_path) > 0 THEN c.outcome_path ELSE c.home_path END)"
GROUPS = {"category": "split_part(c.category, '.', 1)", "unit": PATH + "[{i}]"}


async def agreement_counts(session: AsyncSession, f: Filters, by: str | None) -> list[dict[str, Any]]:
    """Per group (``by``: category or unit; None: one row) the counts behind the documents' KPIs."""
    group = GROUPS[by].format(i=(f.depth or 0) + 1) if by else "NULL"
    scope = f"{PATH} @> CAST(ARRAY[:u] AS varchar[])" if f.unit_id else "TRUE"
    rows = await session.execute(text(f"""
        WITH cohort AS (
            SELECT c.case_id, c.outcome, {group} AS k FROM {case_facts.fullname} c
            WHERE c.received_at >= :start AND c.received_at < :end AND c.merged_into IS NULL AND {scope}{f.facets("c")}
        ), docs AS (
            SELECT a.case_id, count(*) AS agreements,
                   count(*) FILTER (WHERE a.confirmation IS NOT NULL) AS applied,
                   count(*) FILTER (WHERE a.confirmation = 'confirmed') AS confirmed,
                   count(*) FILTER (WHERE a.performance = 'performed') AS performed,
                   count(*) FILTER (WHERE a.performance = 'not_performed') AS not_performed
            FROM {agreement_facts.fullname} a WHERE a.case_id IN (SELECT case_id FROM cohort) GROUP BY a.case_id
        )
        SELECT k, count(*) FILTER (WHERE outcome = 'resolved') AS resolved,
               count(d.case_id) AS cases_with_agreement, coalesce(sum(d.agreements), 0) AS agreements,
               coalesce(sum(d.applied), 0) AS judicial_applied, coalesce(sum(d.confirmed), 0) AS judicial_confirmed,
               coalesce(sum(d.performed), 0) AS performed, coalesce(sum(d.not_performed), 0) AS not_performed
        FROM cohort LEFT JOIN docs d USING (case_id) GROUP BY k ORDER BY k NULLS FIRST"""), f.bind())
    return [{k: (int(v) if k != "k" and v is not None else v) for k, v in r.items()} for r in rows.mappings()]
