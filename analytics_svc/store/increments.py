"""Rollup maintenance by increments: a batch's changes (``domain.increments``) applied to the rollup rows.

The rows of the changed keys are read, changed and written back in one statement, under the rollup lock, without
reading the other facts of their (day, unit). The same definitions as ``rollups._REBUILD`` (the bulk path, and the
fallback: a key whose old value cannot be found — never expected — is rebuilt from its facts instead).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.increments import Change, Increments, Key, Rollup
from analytics_svc.store import rollups

TABLES = tuple(Rollup)
ARRAYS = {Rollup.HOME: ("applicant_keys", "applicant_at"), Rollup.OUTCOME: ("resolve_hours",),
          Rollup.ASSIGN: ("accept_minutes",)}
COUNTERS = {t: tuple(c for c in rollups.COLUMNS[t] if c not in ("day", "unit_id", "unit_path", *ARRAYS[t]))
            for t in TABLES}


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _keys_param(keys: list[Key]) -> dict[str, Any]:
    return {"days": [k[0] for k in keys], "units": [k[1] for k in keys]}


_WHERE_KEYS = ("(day, unit_id) IN (SELECT * FROM unnest(CAST(:days AS date[]), CAST(:units AS text[])))")


def _write_sql() -> str:
    parts = []
    for table in TABLES:
        t = table.removeprefix("rollup_")
        cols = rollups.COLUMNS[table]
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in ("day", "unit_id"))
        parts.append(f"""
            u_{t} AS (INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM jsonb_populate_recordset(
                        NULL::{table}, CAST(:{t}_rows AS jsonb)) ON CONFLICT (day, unit_id) DO UPDATE SET {sets}),
            d_{t} AS (DELETE FROM {table} WHERE (day, unit_id) IN (
                        SELECT * FROM unnest(CAST(:{t}_days AS date[]), CAST(:{t}_units AS text[]))))""")
    return "WITH " + ",".join(parts) + "\nSELECT 1"


WRITE = text(_write_sql())
HASHES = text("SELECT k, hashtextextended(k, 0) FROM unnest(CAST(:ks AS text[])) AS k")
_SELECT = {table: text(f"SELECT * FROM {table} WHERE {_WHERE_KEYS}") for table in TABLES}


def _remove_one(values: list[Any], value: Any) -> bool:
    try:
        values.remove(value)
    except ValueError:
        return False
    return True


async def apply(session: AsyncSession, increments: Increments) -> None:
    """Read the rows of the changed keys, change them, write them back (deleting the emptied ones)."""
    changes = increments.effective()
    if not changes:
        return
    await session.execute(rollups.ROLLUP_LOCK_SQL, {"k": rollups.ROLLUP_LOCK})
    by_table: dict[Rollup, list[Key]] = {t: [] for t in TABLES}
    for table, key in changes:
        by_table[table].append(key)
    applicants = sorted({v[0] for (table, _), c in changes.items() if table == Rollup.HOME
                         for v in (*c.added, *c.removed)})
    # the same 64-bit hash as the bulk path (rollups._REBUILD)
    hashes: dict[str, int] = dict((await session.execute(HASHES, {"ks": applicants})).all()) if applicants else {}
    params: dict[str, Any] = {}
    rebuild: dict[Rollup, set[Key]] = {t: set() for t in TABLES}
    for table in TABLES:
        t = table.removeprefix("rollup_")
        keys = by_table[table]
        current: dict[Key, dict[str, Any]] = {}
        if keys:
            result = await session.execute(_SELECT[table], _keys_param(keys))
            names = list(result.keys())
            for values in result:
                r = dict(zip(names, values, strict=True))
                current[(r["day"], r["unit_id"])] = r
        rows, emptied = [], []
        for key in keys:
            change = changes[(table, key)]
            row = current.get(key)
            if row is None:
                row = {"day": key[0], "unit_id": key[1], "unit_path": [], **{c: 0 for c in COUNTERS[table]},
                       **{a: [] for a in ARRAYS[table]}}
            row["unit_path"] = max(row["unit_path"] or [], change.path)
            for name, n in change.counts.items():
                row[name] += n
            if not _change_arrays(table, row, change, hashes) or any(row[c] < 0 for c in COUNTERS[table]):
                rebuild[table].add(key)  # not the rows it should be: rebuild the key from its facts
                continue
            if not any(row[c] for c in COUNTERS[table]) and not row[ARRAYS[table][0]]:
                emptied.append(key)
            else:
                rows.append(row)
        params[f"{t}_rows"] = json.dumps(rows, default=_json_value)
        params[f"{t}_days"] = [k[0] for k in emptied]
        params[f"{t}_units"] = [k[1] for k in emptied]
    await session.execute(WRITE, params)
    if any(rebuild.values()):
        await rollups.rebuild(session, {str(t): keys for t, keys in rebuild.items()})


def _change_arrays(table: Rollup, row: dict[str, Any], change: Change, hashes: dict[str, int]) -> bool:
    if table == Rollup.HOME:
        pairs = list(zip(row["applicant_keys"], row["applicant_at"], strict=True))
        for key, at in change.removed:
            if not _remove_one(pairs, (hashes[key], at)):
                return False
        pairs.extend((hashes[key], at) for key, at in change.added)
        row["applicant_keys"], row["applicant_at"] = [p[0] for p in pairs], [p[1] for p in pairs]
        return True
    name = ARRAYS[table][0]
    values = list(row[name])
    for v in change.removed:
        if not _remove_one(values, v):
            return False
    values.extend(change.added)
    row[name] = values
    return True
