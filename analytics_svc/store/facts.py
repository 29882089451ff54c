"""The fact rows' batch statements: one load per table, one multi-row upsert per table, for a whole batch.

One round trip per table per batch instead of one per event is what lets the projection catch up fast after a
replay (``bench/analytics.py`` measures it): keep these statements one statement each.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.fold import Row, Store
from analytics_svc.tables import ASSIGNMENT_COLUMNS, CASE_COLUMNS, assignment_facts, case_facts, projection_epoch


def _upsert(table: Any, key: str, columns: list[str]) -> TextClause:
    """All of a batch's rows of a fact table in one statement: one JSON parameter, typed by the table's row type."""
    cols = ", ".join(columns)
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return text(f"INSERT INTO {table.fullname} ({cols}) SELECT {cols} FROM jsonb_populate_recordset("
                f"NULL::{table.fullname}, CAST(:rows AS jsonb)) ON CONFLICT ({key}) DO UPDATE SET {sets}")


def _select(table: Any, key: str) -> TextClause:
    return text(f"SELECT * FROM {table.fullname} WHERE {key} = ANY(CAST(:ids AS uuid[]))")


CASE_UPSERT = _upsert(case_facts, "case_id", CASE_COLUMNS)
ASSIGNMENT_UPSERT = _upsert(assignment_facts, "assignment_id", ASSIGNMENT_COLUMNS)
CASE_SELECT = _select(case_facts, "case_id")
ASSIGNMENT_SELECT = _select(assignment_facts, "assignment_id")
# with the assignment rows of merged cases (by case, ``ix_assignment_facts_case_id``): only for a batch with a merge
ASSIGNMENT_OR_CASE_SELECT = text(f"SELECT * FROM {assignment_facts.fullname} WHERE assignment_id = ANY("
                                 "CAST(:ids AS uuid[])) OR case_id = ANY(CAST(:cases AS uuid[]))")


def rows_of(result: Any) -> list[Row]:
    """A result's rows as plain dicts (``dict(RowMapping)`` builds a key view per row: it showed in profiles)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()  # aware: the offset is kept, PostgreSQL reads the same instant
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _rows_json(rows: list[Row]) -> str:
    return json.dumps(rows, default=_json_value, ensure_ascii=False)


async def load(session: AsyncSession, case_ids: list[uuid.UUID], assignment_ids: list[uuid.UUID],
               merged_case_ids: list[uuid.UUID] | None = None) -> Store:
    """The fact rows of these cases and assignments (those that exist), and every assignment row of the merged
    cases, as the fold's store."""
    cases = {r["case_id"]: r for r in rows_of(await session.execute(CASE_SELECT, {"ids": case_ids}))}
    if merged_case_ids:
        result = await session.execute(ASSIGNMENT_OR_CASE_SELECT, {"ids": assignment_ids, "cases": merged_case_ids})
    elif assignment_ids:
        result = await session.execute(ASSIGNMENT_SELECT, {"ids": assignment_ids})
    else:
        result = None
    assignments = {r["assignment_id"]: r for r in rows_of(result)} if result is not None else {}
    return Store(cases, assignments)


async def save(session: AsyncSession, store: Store) -> None:
    """The rows the fold changed, one upsert per table."""
    if store.dirty_cases:
        await session.execute(CASE_UPSERT, {"rows": _rows_json([store.cases[i] for i in store.dirty_cases])})
    if store.dirty_assignments:
        await session.execute(ASSIGNMENT_UPSERT,
                              {"rows": _rows_json([store.assignments[i] for i in store.dirty_assignments])})


async def projection_epoch_of(session: AsyncSession) -> str:
    """The epoch the migrations wrote into the schema (a fresh schema has a new one)."""
    return str((await session.execute(select(projection_epoch.c.epoch).limit(1))).scalar_one())
