"""Rows and their events in one statement, for a hot path that writes many of a kind per transaction (routed
assignments, co-handling tasks, default 包案领导): the rows come as one JSON array, each record with its event's
outbox columns (``shared.bus.outbox.outbox_row``); a row the conflict clause skips has no event."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.outbox import OUTBOX_RECORD, outbox_insert_select
from shared.bus.pending import mark_outbox_written


def rows_with_events(schema: str, table: str, columns: str, conflict: str, key: str = "id") -> TextClause:
    """One statement for a hot path: rows of ``schema.table`` (``columns``: ``"name type, …"``; ``key`` names each
    row) from the JSON array ``:rows``, each record also carrying its event's ``OUTBOX_RECORD`` columns and its
    place ``ord``; a row that ``ON CONFLICT {conflict} DO NOTHING`` skips has no event written. Run it with
    ``write_rows_with_events``."""
    names = ", ".join(c.split()[0] for c in columns.split(", "))
    return text(f"""
WITH r AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({columns}, {OUTBOX_RECORD}, ord int)
), w AS (
    INSERT INTO "{schema}".{table} ({names})
    SELECT {names} FROM (SELECT * FROM r ORDER BY ord) AS s
    ON CONFLICT {conflict} DO NOTHING
    RETURNING {key}
), o AS (
    {outbox_insert_select(schema, f"r JOIN w ON w.{key} = r.{key}", order_by="r.ord")}
    RETURNING 1
)
SELECT count(*) FROM o
""")


async def write_rows_with_events(session: AsyncSession, statement: TextClause, rows: list[dict[str, Any]]) -> int:
    """Run a ``rows_with_events`` statement over ``rows`` (JSON-ready values; the outbox columns from
    ``outbox_row``, its ``event_id`` as text) in order; the relay is woken after the commit. Returns how many
    rows were written (each with its event)."""
    if not rows:
        return 0
    for i, row in enumerate(rows):
        row["ord"] = i
    written = int((await session.execute(statement, {"rows": json.dumps(rows, ensure_ascii=False)})).scalar() or 0)
    if written:
        mark_outbox_written(session)
    return written
