"""Daily rollups per unit: what `/kpis` reads for whole-day windows without facets.

Three tables keyed by (Asia/Shanghai day the case was received, unit): the home side (received, escalations,
applicants), the outcome side (outcomes, resolutions, answers, closed, reopened, resolve times) and the assignment
side (acceptance). The projection keeps them by increments (``analytics_svc.store.increments``); this module has their
definitions as SQL over the fact rows: the bulk build after a bulk load of facts, and the rebuild of given keys (the
increments' fallback). The medians and repeat applicants keep the values themselves (arrays), so they stay exact.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.increments import Key
from analytics_svc.domain.kpis import LOCAL_LEVELS, STREET_OR_BELOW, UPPER_LEVELS


def _lit(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


_KEYS = "(SELECT DISTINCT * FROM unnest(CAST(:days AS date[]), CAST(:units AS text[])) AS k0(day, unit_id)) k"
_ALL_KEYS = {  # every key the facts have (a bulk load)
    "rollup_home": "(SELECT DISTINCT (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day, "
                   "coalesce(home_unit_id, '') AS unit_id FROM case_facts WHERE received_at IS NOT NULL) k",
    "rollup_outcome": "(SELECT DISTINCT (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day, "
                      "outcome_unit_id AS unit_id FROM case_facts WHERE received_at IS NOT NULL "
                      "AND outcome_unit_id IS NOT NULL) k",
    "rollup_assign": "(SELECT DISTINCT (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day, unit_id "
                     "FROM assignment_facts WHERE received_at IS NOT NULL AND unit_id IS NOT NULL) k",
}
_DAY = ("f.received_at >= (k.day::timestamp AT TIME ZONE 'Asia/Shanghai') "
        "AND f.received_at < ((k.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')")

COLUMNS = {
    "rollup_home": ("day", "unit_id", "unit_path", "received", "assigned", "escalated", "applicant_keys",
                    "applicant_at"),
    "rollup_outcome": ("day", "unit_id", "unit_path", "with_outcome", "resolved", "on_time_outcomes",
                       "resolved_locally", "resolved_in_street", "answers", "satisfied", "closed", "reopened",
                       "resolve_hours"),
    "rollup_assign": ("day", "unit_id", "unit_path", "accept_counted", "accepted_on_time", "accept_minutes"),
}
_REBUILD = {  # the rows of the keys ``{keys}`` (a relation aliased k with day, unit_id), in COLUMNS order
    "rollup_home": f"""
        SELECT k.day, k.unit_id, max(f.home_path), count(*),
               count(*) FILTER (WHERE f.home_unit_id IS NOT NULL),
               count(*) FILTER (WHERE f.escalated_levels && CAST(ARRAY{list(UPPER_LEVELS)} AS varchar[])),
               coalesce(array_agg(hashtextextended(f.applicant_key, 0) ORDER BY f.case_id)
                        FILTER (WHERE f.applicant_key IS NOT NULL), '{{}}'),
               coalesce(array_agg(f.received_at ORDER BY f.case_id)
                        FILTER (WHERE f.applicant_key IS NOT NULL), '{{}}')
        FROM {{keys}} {{join}} case_facts f {{on}} coalesce(f.home_unit_id, '') = k.unit_id AND {_DAY}
             AND f.merged_into IS NULL{{end}}
        GROUP BY k.day, k.unit_id""",
    "rollup_outcome": f"""
        SELECT k.day, k.unit_id, max(f.outcome_path), count(*),
               count(*) FILTER (WHERE f.outcome = 'resolved'), count(*) FILTER (WHERE f.outcome_on_time),
               count(*) FILTER (WHERE f.outcome = 'resolved' AND f.resolved_level IN {_lit(LOCAL_LEVELS)}),
               count(*) FILTER (WHERE f.outcome = 'resolved' AND f.resolved_level IN {_lit(STREET_OR_BELOW)}),
               sum(f.feedback_answers), sum(f.feedback_satisfied), count(*) FILTER (WHERE f.closed_at IS NOT NULL),
               count(*) FILTER (WHERE f.reopen_count > 0),
               coalesce(array_agg(f.resolve_hours ORDER BY f.case_id)
                        FILTER (WHERE f.resolve_hours IS NOT NULL), '{{}}')
        FROM {{keys}} {{join}} case_facts f {{on}} f.outcome_unit_id = k.unit_id AND {_DAY}
             AND f.outcome IS NOT NULL AND f.merged_into IS NULL{{end}}
        GROUP BY k.day, k.unit_id""",
    "rollup_assign": f"""
        SELECT k.day, k.unit_id, max(f.unit_path),
               count(*) FILTER (WHERE f.accepted_at IS NOT NULL OR f.accept_overdue),
               count(*) FILTER (WHERE f.accepted_at IS NOT NULL AND f.accepted_at <= f.accept_due_at),
               coalesce(array_agg(f.accept_minutes ORDER BY f.assignment_id)
                        FILTER (WHERE f.accept_minutes IS NOT NULL), '{{}}')
        FROM {{keys}} {{join}} assignment_facts f {{on}} f.unit_id = k.unit_id AND {_DAY} AND NOT f.merged{{end}}
        GROUP BY k.day, k.unit_id""",
}


# A few keys (a projection batch): the facts of each key through its (unit, received_at) index, one key at a time —
# a lateral subquery the planner cannot flatten (OFFSET 0), so it never picks a hash join over the whole fact table
# on a misestimated key count. Every key (a bulk load): one join.
_PER_KEY = {"join": "CROSS JOIN LATERAL (SELECT f.* FROM", "on": "WHERE", "end": " OFFSET 0) f"}
_ALL = {"join": "JOIN", "on": "ON", "end": ""}


def _sql(table: str, keys: str, per_key: bool) -> str:
    sql = _REBUILD[table].replace("{keys}", keys)
    for name, value in (_PER_KEY if per_key else _ALL).items():
        sql = sql.replace("{" + name + "}", value)
    return sql


def rebuilt_rows_sql(table: str) -> str:
    """Every row of a rollup table as rebuilt from the facts, with the table's column names (a check)."""
    return f"SELECT * FROM ({_sql(table, _ALL_KEYS[table], per_key=False)}) AS r({', '.join(COLUMNS[table])})"


def _insert(table: str) -> str:
    return f"INSERT INTO {table} ({', '.join(COLUMNS[table])})"


def _batch_sql() -> str:
    """One statement for the three tables: each key's row rebuilt from the facts and upserted, or deleted when its
    facts are gone (the upsert and the delete touch different rows, so they can share a statement)."""
    parts = []
    for table in COLUMNS:
        t = table.removeprefix("rollup_")
        cols = COLUMNS[table]
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("day", "unit_id"))
        parts.append(f"""
            k_{t} AS (SELECT DISTINCT * FROM unnest(CAST(:{t}_days AS date[]), CAST(:{t}_units AS text[]))
                      AS k0(day, unit_id)),
            n_{t} AS ({_sql(table, f"k_{t} k", per_key=True)}),
            u_{t} AS ({_insert(table)} SELECT * FROM n_{t} ON CONFLICT (day, unit_id) DO UPDATE SET {sets}),
            d_{t} AS (DELETE FROM {table} r USING k_{t} k WHERE r.day = k.day AND r.unit_id = k.unit_id
                      AND NOT EXISTS (SELECT 1 FROM n_{t} n WHERE n.day = k.day AND n.unit_id = k.unit_id))""")
    return "WITH " + ",".join(parts) + "\nSELECT 1"


BATCH_REBUILD = text(_batch_sql())
ROLLUP_LOCK = 0x616E616C79746963  # transaction-level advisory lock serializing the rollup rebuilds
ROLLUP_LOCK_SQL = text("SELECT pg_advisory_xact_lock(:k)")


async def rebuild(session: AsyncSession, keys: dict[str, set[Key]]) -> None:
    """Recompute the rollup rows of these keys from the facts (in the projection's transaction, one round trip)."""
    if not any(keys.values()):
        return
    params: dict[str, Any] = {}
    for table in COLUMNS:
        t = table.removeprefix("rollup_")
        wanted = keys.get(table, set())
        params[f"{t}_days"] = [k[0] for k in wanted]
        params[f"{t}_units"] = [k[1] for k in wanted]
    # Transactions of different partitions run concurrently (the consumer's concurrent_partitions): each rebuilds
    # its keys after the previous one committed, so the statement's snapshot has every committed fact of its keys.
    await session.execute(ROLLUP_LOCK_SQL, {"k": ROLLUP_LOCK})
    await session.execute(BATCH_REBUILD, params)


async def rebuild_all(session: AsyncSession) -> None:
    """Every rollup row from the facts (after a bulk load of fact rows; the consumer never needs it)."""
    for table, keys in _ALL_KEYS.items():
        await session.execute(text(f"TRUNCATE {table}"))
        await session.execute(text(f"{_insert(table)} {_sql(table, keys, per_key=False)}"))


MAX_INDEXED_DEPTH = 4


def _scope(unit_id: str | None, depth: int | None) -> str:
    if not unit_id:
        return ""
    if depth is not None and 1 <= depth <= MAX_INDEXED_DEPTH:
        return f" AND unit_path[{int(depth)}] = :u"  # the (unit_path[d], day) index
    return " AND unit_path @> CAST(ARRAY[:u] AS varchar[])"


async def kpi_counts(session: AsyncSession, start_day: date, end_day: date, unit_id: str | None,
                     depth: int | None = None) -> dict[str, Any]:
    """The counts and medians ``domain.kpis.finish`` turns into KPIs, for the days [start_day, end_day).

    ``depth``: the scope unit's depth in the hierarchy (its path length), so the query can use the depth index.
    """
    # The arrays are unnested in the select list (a ProjectSet; the two applicant arrays, of equal length, in
    # lockstep): a lateral unnest per rollup row costs a function scan each, 2–3 times the whole query's scan.
    w = "day >= :d0 AND day < :d1" + _scope(unit_id, depth)
    sql = f"""
        WITH h AS (SELECT coalesce(sum(received), 0) AS received, coalesce(sum(assigned), 0) AS assigned,
                          coalesce(sum(escalated), 0) AS escalated FROM rollup_home WHERE {w}),
             o AS (SELECT coalesce(sum(with_outcome), 0) AS with_outcome, coalesce(sum(resolved), 0) AS resolved,
                          coalesce(sum(on_time_outcomes), 0) AS on_time_outcomes,
                          coalesce(sum(resolved_locally), 0) AS resolved_locally,
                          coalesce(sum(resolved_in_street), 0) AS resolved_in_street,
                          coalesce(sum(answers), 0) AS answers, coalesce(sum(satisfied), 0) AS satisfied,
                          coalesce(sum(closed), 0) AS closed, coalesce(sum(reopened), 0) AS reopened
                   FROM rollup_outcome WHERE {w}),
             om AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median_resolve_hours
                    FROM (SELECT unnest(resolve_hours) AS v FROM rollup_outcome WHERE {w}) u),
             a AS (SELECT coalesce(sum(accept_counted), 0) AS accept_counted,
                          coalesce(sum(accepted_on_time), 0) AS accepted_on_time FROM rollup_assign WHERE {w}),
             am AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median_accept_minutes
                    FROM (SELECT unnest(accept_minutes) AS v FROM rollup_assign WHERE {w}) u),
             r AS (SELECT count(*) AS applicants, count(*) FILTER (WHERE gap <= interval '90 days') AS repeat_applicants
                   FROM (SELECT k, min(gap) AS gap
                         FROM (SELECT k, t - lag(t) OVER (PARTITION BY k ORDER BY t) AS gap
                               FROM (SELECT unnest(applicant_keys) AS k, unnest(applicant_at) AS t
                                     FROM rollup_home WHERE {w}) u) x
                         GROUP BY k) y)
        SELECT * FROM h, o, om, a, am, r"""
    row = (await session.execute(text(sql), {"d0": start_day, "d1": end_day, "u": unit_id})).mappings().one()
    return dict(row)
