"""The registration hot path's SQL and its pool (design §7: ≥ 300 cases/s on two cores): two statements per case,
no ORM unit of work, on a plain asyncpg pool next to the ORM's engine (a session costs as much CPU as the two
statements do)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from intake_svc.tables import SCHEMA
from shared.bus.outbox import OUTBOX_COLUMNS, outbox_insert_select
from shared.db import asyncpg_dsn
from shared.idempotency import answer_sql
from shared.runtime import ServiceRuntime

REGISTRATION_POOL = "registration_pool"  # the pool's key in ``ServiceRuntime.state``

# 1. One read: the case code number, the applicant's earlier cases (repeat applicant), open cases of the same
#    applicant, address or place (duplicates), newest first. The candidates come from three lookups, each on its
#    own index (GIN applicant_index, btree address_index, btree place_index), gathered before anything else is
#    asked of them: a plan that filtered all recent cases instead (what the planner picks, and the connection then
#    keeps, while the table is still small and has no statistics) costs more with every case registered. The
#    registration pool also plans without sequential scans (``registration_pool``).
READ = f"""
WITH m AS MATERIALIZED (
    SELECT id FROM {SCHEMA}.cases
    WHERE applicant_index && $1::varchar[] AND created_at >= least($2::timestamptz, $5::timestamptz)
    UNION SELECT id FROM {SCHEMA}.cases
    WHERE address_index = $3 AND created_at >= least($2::timestamptz, $5::timestamptz)
    UNION SELECT id FROM {SCHEMA}.cases
    WHERE place_index = $7 AND created_at >= least($2::timestamptz, $5::timestamptz)
), r AS MATERIALIZED (
    SELECT c.id, c.code, c.description, c.created_at, c.status, c.category,
           c.applicant_index && $1::varchar[] AS same_applicant, c.address_index = $3 AS same_address,
           c.place_index = $7 AS same_place
    FROM m JOIN {SCHEMA}.cases c ON c.id = m.id
)
SELECT nextval('{SCHEMA}.case_code_seq') AS seq,
       (SELECT count(*) FROM r WHERE same_applicant AND created_at >= $2) AS prior,
       d.ids, d.codes, d.descriptions, d.same_matter
FROM (SELECT array_agg(id ORDER BY created_at DESC) AS ids, array_agg(code ORDER BY created_at DESC) AS codes,
             array_agg(description ORDER BY created_at DESC) AS descriptions,
             array_agg(same_matter ORDER BY created_at DESC) AS same_matter
      FROM (SELECT id, code, description, created_at,
                   (category = $6 AND (same_applicant AND same_address OR same_place)) AS same_matter
            FROM r WHERE status = ANY($4::varchar[]) AND created_at >= $5
            ORDER BY created_at DESC LIMIT 20) AS recent) AS d
"""
# the units that see an automatically linked duplicate's primary (the new report follows it)
PRIMARY_UNITS = f"SELECT visible_units FROM {SCHEMA}.cases WHERE id = $1"

# 2. One write, atomic on its own: the case, its timeline rows, its event in the outbox (the shared insert
#    fragment), and the stored answer of an Idempotency-Key (``shared.idempotency``'s fragment; no key: the
#    UPDATE matches nothing). No NOTIFY: it
#    takes a database-wide lock held until the commit is flushed, which lines up every registration (and every
#    other service's outbox write) behind one WAL flush at a time. The caller wakes the relay once the write
#    has returned (on the pool: ``ServiceRuntime.waker``; inside a session: ``pending.mark_outbox_written``).
CASE_COLUMNS = ("id", "code", "channel", "request_type", "title", "description", "category", "category_confidence",
                "request_type_confidence", "classified_by", "risk_level", "risk_reasons", "occurred_at", "location",
                "parties", "people_involved", "amount_involved", "external_ref", "channel_details", "attachments",
                "urgent", "deadline_days", "status", "visible_units", "applicant_index", "address_index",
                "place_index", "duplicate_of", "duplicate_candidates", "created_by", "created_at", "updated_at",
                "version")
JSONB_COLUMNS = {"location", "parties", "channel_details", "attachments", "duplicate_candidates"}
_N = len(CASE_COLUMNS)
# the outbox row's parameters (``outbox_row``'s columns, in ``OUTBOX_COLUMNS`` order), typed for the VALUES list
_OUTBOX_ROW = ", ".join(f"${_N + 8 + i}::{t}" for i, t in enumerate(("uuid", "text", "text", "text", "text", "text")))
WRITE = f"""
WITH c AS (
    INSERT INTO {SCHEMA}.cases ({", ".join(CASE_COLUMNS)})
    VALUES ({", ".join(f"${i}::jsonb" if col in JSONB_COLUMNS else f"${i}" for i, col in enumerate(CASE_COLUMNS, 1))})
), t AS (
    INSERT INTO {SCHEMA}.timeline (case_id, at, kind, actor, summary, public, data)
    SELECT c, a, k, ac, s, p, d::jsonb
    FROM unnest(${_N + 1}::uuid[], ${_N + 2}::timestamptz[], ${_N + 3}::varchar[], ${_N + 4}::varchar[],
                ${_N + 5}::text[], ${_N + 6}::bool[], ${_N + 7}::text[]) AS x(c, a, k, ac, s, p, d)
), o AS (
    {outbox_insert_select(SCHEMA, f"(VALUES ({_OUTBOX_ROW})) AS r({OUTBOX_COLUMNS})")}
), i AS (
    {answer_sql(SCHEMA, "201", f"${_N + 14}::jsonb", f"${_N + 17}::jsonb", f"${_N + 15}", f"${_N + 16}")}
)
SELECT 1
"""

async def _reset(conn: asyncpg.Connection) -> None:
    """What a registration leaves to undo: at most an open transaction (it sets nothing, listens to nothing).
    asyncpg's default reset costs a round trip per request (advisory unlocks, CLOSE ALL, UNLISTEN, RESET ALL)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


@asynccontextmanager
async def registration_pool(runtime: ServiceRuntime) -> AsyncIterator[asyncpg.Pool]:
    """The registration pool for the app's lifetime (a ``ServiceSpec`` resource), in
    ``runtime.state[REGISTRATION_POOL]``."""
    settings = runtime.settings
    pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url), min_size=1, max_size=settings.db_pool_size, reset=_reset,
        # every registration statement has an index path; without sequential scans a plan the connection caches
        # while the table is small and has no statistics stays right as it grows (``READ``)
        server_settings={"search_path": f"{SCHEMA},public", "application_name": SCHEMA, "enable_seqscan": "off"})
    runtime.state[REGISTRATION_POOL] = pool
    try:
        yield pool
    finally:
        runtime.state.pop(REGISTRATION_POOL, None)
        await pool.close()
