"""Re-seal intake's personal data under the current PII key (``python -m services rekey intake``).

Every sealed value is ``<kid>.<base64>`` (``shared.crypto.Sealer``). After a new key becomes current
(``INTAKE_PII_CURRENT_KEY``), rows written before still carry the old kid; this walks the tables that hold sealed
values in primary-key order, ``batch_size`` rows per transaction, locks each batch (``FOR UPDATE``, so a request
editing the same case waits, never loses its write), opens every value not under the current kid with the key ring
and seals it again with the current key (same associated data: the case id). Rows already under the current kid are
left alone, so a second run changes nothing and an interrupted run can simply be started again. Only then may the old
key leave ``INTAKE_PII_KEYS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from shared.crypto import Sealer

SCHEMA = "intake"


@dataclass
class RekeyResult:
    """Rows changed per table (a row counts once, however many of its values were re-sealed)."""

    rows: dict[str, int] = field(default_factory=dict)
    values: int = 0

    def total(self) -> int:
        return sum(self.rows.values())


class _Resealer:
    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer
        self.values = 0

    def value(self, sealed: str, case_id: Any) -> str:
        if sealed.partition(".")[0] == self.sealer.current:
            return sealed
        aad = str(case_id).encode()
        self.values += 1
        return self.sealer.seal(self.sealer.open(sealed, aad), aad)

    def fields(self, obj: dict[str, Any], case_id: Any) -> dict[str, Any]:
        return {k: self.value(v, case_id) if k.endswith("_sealed") and isinstance(v, str) and v else v
                for k, v in obj.items()}


async def _cases(conn: asyncpg.Connection, r: _Resealer, batch_size: int) -> int:
    changed, last = 0, None
    while True:
        async with conn.transaction():
            rows = await conn.fetch(
                f"SELECT id, location, parties FROM {SCHEMA}.cases WHERE ($1::uuid IS NULL OR id > $1) "
                "ORDER BY id LIMIT $2 FOR UPDATE", last, batch_size)
            for row in rows:
                location, parties = json.loads(row["location"]), json.loads(row["parties"])
                new_location = r.fields(location, row["id"])
                new_parties = [r.fields(p, row["id"]) for p in parties]
                if (new_location, new_parties) != (location, parties):
                    await conn.execute(f"UPDATE {SCHEMA}.cases SET location = $2::jsonb, parties = $3::jsonb "
                                       "WHERE id = $1", row["id"], json.dumps(new_location, ensure_ascii=False),
                                       json.dumps(new_parties, ensure_ascii=False))
                    changed += 1
        if len(rows) < batch_size:
            return changed
        last = rows[-1]["id"]


async def sealed_columns(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """Every table of intake with an ``id``, a ``case_id`` (the associated data) and ``*_sealed`` text columns —
    notes, 调解 sessions, 协议书, and whatever table is added next: a new sealed column is re-sealed without being
    listed here. (``cases`` keeps its sealed values inside JSON, ``note_versions`` reaches its case through
    ``notes``: both have their own walk.)"""
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "WHERE c.table_schema = $1 AND c.column_name LIKE '%\\_sealed' AND c.data_type = 'text' "
        "AND EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_schema = c.table_schema "
        "            AND k.table_name = c.table_name AND k.column_name = 'case_id') "
        "AND EXISTS (SELECT 1 FROM information_schema.columns k WHERE k.table_schema = c.table_schema "
        "            AND k.table_name = c.table_name AND k.column_name = 'id') "
        "ORDER BY c.table_name, c.column_name", SCHEMA)
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["table_name"], []).append(row["column_name"])
    return out


async def _columns(conn: asyncpg.Connection, r: _Resealer, table: str, columns: list[str], batch_size: int) -> int:
    changed, last = 0, None
    cols = ", ".join(f'"{c}"' for c in columns)
    while True:
        async with conn.transaction():
            rows = await conn.fetch(
                f'SELECT id, case_id, {cols} FROM {SCHEMA}."{table}" WHERE ($1::uuid IS NULL OR id > $1) '
                "ORDER BY id LIMIT $2 FOR UPDATE", last, batch_size)
            for row in rows:
                new = {c: r.value(row[c], row["case_id"]) if row[c] else row[c] for c in columns}
                if any(new[c] != row[c] for c in columns):
                    sets = ", ".join(f'"{c}" = ${n}' for n, c in enumerate(columns, start=2))
                    await conn.execute(f'UPDATE {SCHEMA}."{table}" SET {sets} WHERE id = $1', row["id"],
                                       *(new[c] for c in columns))
                    changed += 1
        if len(rows) < batch_size:
            return changed
        last = rows[-1]["id"]


async def _note_versions(conn: asyncpg.Connection, r: _Resealer, batch_size: int) -> int:
    changed, last = 0, (None, 0)
    while True:
        async with conn.transaction():
            rows = await conn.fetch(
                f"SELECT v.note_id, v.version, n.case_id, v.text_sealed FROM {SCHEMA}.note_versions v "
                f"JOIN {SCHEMA}.notes n ON n.id = v.note_id "
                "WHERE ($1::uuid IS NULL OR (v.note_id, v.version) > ($1, $2)) "
                "ORDER BY v.note_id, v.version LIMIT $3 FOR UPDATE OF v", last[0], last[1], batch_size)
            for row in rows:
                new = r.value(row["text_sealed"], row["case_id"])
                if new != row["text_sealed"]:
                    await conn.execute(f"UPDATE {SCHEMA}.note_versions SET text_sealed = $3 "
                                       "WHERE note_id = $1 AND version = $2", row["note_id"], row["version"], new)
                    changed += 1
        if len(rows) < batch_size:
            return changed
        last = (rows[-1]["note_id"], rows[-1]["version"])


async def rekey(dsn: str, sealer: Sealer, batch_size: int = 500) -> RekeyResult:
    """Re-seal every value of intake not under ``sealer.current`` (see the module doc)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    r = _Resealer(sealer)
    conn = await asyncpg.connect(dsn)
    try:
        result = RekeyResult()
        result.rows["cases"] = await _cases(conn, r, batch_size)
        for table, columns in (await sealed_columns(conn)).items():
            result.rows[table] = await _columns(conn, r, table, columns, batch_size)
        result.rows["note_versions"] = await _note_versions(conn, r, batch_size)
        result.values = r.values
        return result
    finally:
        await conn.close()
