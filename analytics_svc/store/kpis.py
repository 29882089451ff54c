"""KPI counts over the fact tables (design section 7): one SQL statement per window, optionally grouped.

Cohort: the cases received in [start, end) (merged reports excluded: 一件事只立一案). Crediting by unit ("the unit
responsible at the time of the event"): the intake-side counts (received, escalations, applicants) belong to the
unit the case entered the ladder at (its first assignment, ``home_path``); outcome-side counts (outcomes,
resolutions, on time, level of resolution, answers, closed, reopened, resolve time) to the unit that reached the
outcome (``outcome_path``); acceptance to each assignment's unit. A unit's scope is its subtree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.kpis import COUNT_KEYS, LOCAL_LEVELS, STREET_OR_BELOW, UPPER_LEVELS, Dimension, finish
from analytics_svc.domain.windows import Interval
from analytics_svc.store import rollups
from shared.clock import SHANGHAI

CASE_DIMENSIONS = {
    "category": "category", "channel": "channel", "request_type": "request_type", "track": "track",
    "level": "coalesce(resolved_level, level)", "risk_level": "risk_level",
}
ASSIGNMENT_DIMENSIONS = {"level": "a.level", "track": "a.track"}


def dimension_sql(dimension: Dimension, depth: int) -> tuple[str, str | None, str | None]:
    """(case group expression, assignment group expression, outcome-side case group expression)."""
    if dimension == Dimension.UNIT:
        i = depth + 1  # PostgreSQL arrays are 1-based: the child of the scope unit on each path
        return f"home_path[{i}]", f"a.unit_path[{i}]", f"outcome_path[{i}]"
    case_expr = CASE_DIMENSIONS[dimension.value]
    return case_expr, ASSIGNMENT_DIMENSIONS.get(dimension.value, f"c.{dimension.value}"), None


def bucket_sql(interval: Interval, column: str) -> str:
    """The first day (Asia/Shanghai) of ``column``'s day, week or month: a trend's group expression."""
    return f"(date_trunc('{interval.value}', {column} AT TIME ZONE 'Asia/Shanghai'))::date"


def _lit(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # constants from our own enums, never user input


@dataclass
class Filters:
    """The cohort: received in [start, end), in a unit's subtree (None: everything), optional facets."""

    start: datetime
    end: datetime
    unit_id: str | None = None
    channel: str | None = None
    category: str | None = None  # a code or a top-level prefix
    request_type: str | None = None
    depth: int | None = None  # the scope unit's path length, when known
    params: dict[str, Any] = field(default_factory=dict)

    def bind(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "u": self.unit_id, "channel": self.channel,
                "category": self.category, "request_type": self.request_type}

    def facets(self, alias: str = "") -> str:
        p = f"{alias}." if alias else ""
        out = []
        if self.channel:
            out.append(f"{p}channel = :channel")
        if self.category:
            out.append(f"({p}category = :category OR {p}category LIKE :category || '.%')")
        if self.request_type:
            out.append(f"{p}request_type = :request_type")
        return "".join(f" AND {c}" for c in out)

    def within(self, times: tuple[datetime, datetime]) -> Filters:
        return Filters(times[0], times[1], self.unit_id, self.channel, self.category, self.request_type, self.depth)


def _in(path: str, f: Filters) -> str:
    return f"{path} @> CAST(ARRAY[:u] AS varchar[])" if f.unit_id else "TRUE"


def _case_sql(f: Filters, group: str | None) -> str:
    h, o = _in("home_path", f), _in("outcome_path", f)
    scope = f" AND ({h} OR {o})" if f.unit_id else ""
    g_sel, g_by = (f"{group} AS g, ", " GROUP BY 1") if group else ("", "")
    out = f"({o}) AND outcome IS NOT NULL"
    return f"""
        SELECT {g_sel}
          count(*) FILTER (WHERE {h}) AS received,
          count(*) FILTER (WHERE {h} AND home_unit_id IS NOT NULL) AS assigned,
          count(*) FILTER (WHERE {h} AND escalated_levels && CAST(ARRAY{list(UPPER_LEVELS)} AS varchar[]))
            AS escalated,
          count(*) FILTER (WHERE {out}) AS with_outcome,
          count(*) FILTER (WHERE {out} AND outcome = 'resolved') AS resolved,
          count(*) FILTER (WHERE {out} AND outcome_on_time) AS on_time_outcomes,
          count(*) FILTER (WHERE {out} AND outcome = 'resolved' AND resolved_level IN {_lit(LOCAL_LEVELS)})
            AS resolved_locally,
          count(*) FILTER (WHERE {out} AND outcome = 'resolved' AND resolved_level IN {_lit(STREET_OR_BELOW)})
            AS resolved_in_street,
          coalesce(sum(feedback_answers) FILTER (WHERE {out}), 0) AS answers,
          coalesce(sum(feedback_satisfied) FILTER (WHERE {out}), 0) AS satisfied,
          count(*) FILTER (WHERE {out} AND closed_at IS NOT NULL) AS closed,
          count(*) FILTER (WHERE {out} AND reopen_count > 0) AS reopened,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY resolve_hours) FILTER (WHERE {out}) AS median_resolve_hours
        FROM case_facts
        WHERE received_at >= :start AND received_at < :end AND merged_into IS NULL{scope}{f.facets()}{g_by}"""


def _assignment_sql(f: Filters, group: str | None) -> str:
    need_case = bool(f.facets()) or (group is not None and re.search(r"\bc\.", group) is not None)
    join = " JOIN case_facts c ON c.case_id = a.case_id" if need_case else ""
    g_sel, g_by = (f"{group} AS g, ", " GROUP BY 1") if group else ("", "")
    return f"""
        SELECT {g_sel}
          count(*) FILTER (WHERE a.accepted_at IS NOT NULL OR a.accept_overdue) AS accept_counted,
          count(*) FILTER (WHERE a.accepted_at IS NOT NULL AND a.accepted_at <= a.accept_due_at) AS accepted_on_time,
          percentile_cont(0.5) WITHIN GROUP (ORDER BY a.accept_minutes) AS median_accept_minutes
        FROM assignment_facts a{join}
        WHERE a.received_at >= :start AND a.received_at < :end AND NOT a.merged
          AND {_in("a.unit_path", f)}{f.facets("c")}{g_by}"""


def _repeat_sql(f: Filters, group: str | None) -> str:
    """重复来访: applicants with two cases received within 90 days of each other, among the cohort's applicants."""
    g_sel, g_part, g_by = (f"{group} AS g, ", f"{group}, ", " GROUP BY 1") if group else ("", "", "")
    outer_g = "g, " if group else ""
    return f"""
        SELECT {outer_g}count(DISTINCT applicant_key) AS applicants,
               count(DISTINCT applicant_key) FILTER (WHERE gap <= interval '90 days') AS repeat_applicants
        FROM (SELECT {g_sel}applicant_key,
                     received_at - lag(received_at)
                       OVER (PARTITION BY {g_part}applicant_key ORDER BY received_at) AS gap
              FROM case_facts
              WHERE received_at >= :start AND received_at < :end AND merged_into IS NULL
                AND applicant_key IS NOT NULL AND {_in("home_path", f)}{f.facets()}) t{g_by.replace("1", "g")}"""


def whole_days(f: Filters) -> tuple[date, date] | None:
    """The Asia/Shanghai days [first, end) when the window is whole days without facets (rollups answer it)."""
    if f.facets():
        return None
    a, b = f.start.astimezone(SHANGHAI), f.end.astimezone(SHANGHAI)
    if a.time() != time.min or b.time() != time.min:
        return None
    return a.date(), b.date()


async def kpis(session: AsyncSession, f: Filters) -> dict[str, Any]:
    """From the daily rollups for whole-day windows without facets, else from the fact rows (same results)."""
    days = whole_days(f)
    if days is not None:
        return finish(await rollups.kpi_counts(session, days[0], days[1], f.unit_id, f.depth))
    return await kpis_from_facts(session, f)


async def kpis_from_facts(session: AsyncSession, f: Filters) -> dict[str, Any]:
    sql = (f"WITH c AS ({_case_sql(f, None)}), a AS ({_assignment_sql(f, None)}), r AS ({_repeat_sql(f, None)}) "
           "SELECT * FROM c, a, r")
    row = (await session.execute(text(sql), f.bind())).mappings().one()
    return finish(dict(row))


async def grouped(session: AsyncSession, f: Filters, case_group: str, assignment_group: str | None,
                  outcome_group: str | None = None) -> dict[Any, dict[str, Any]]:
    """KPIs per group value. ``outcome_group`` groups the outcome-side counts differently (units by outcome path)."""
    merged: dict[Any, dict[str, Any]] = {}

    async def run(sql: str, keys: tuple[str, ...] | None = None) -> None:
        for row in (await session.execute(text(sql), f.bind())).mappings():
            slot = merged.setdefault(row["g"], {})
            slot.update({k: v for k, v in row.items() if k != "g" and (keys is None or k in keys)})

    if outcome_group and outcome_group != case_group:
        home_side = ("received", "assigned", "escalated")
        await run(_case_sql(f, case_group), home_side)
        await run(_case_sql(f, outcome_group), (*(k for k in COUNT_KEYS if k not in home_side), "median_resolve_hours"))
    else:
        await run(_case_sql(f, case_group))
    if assignment_group:
        await run(_assignment_sql(f, assignment_group))
    await run(_repeat_sql(f, case_group))
    return {k: finish(v) for k, v in merged.items()}
