"""Rollup maintenance by increments: a batch's change to each rollup row, computed from its fact rows in memory.

Each case and assignment fact row contributes to at most one row of each rollup table (``rollups.case_keys``,
``rollups.assignment_key``): counters, and values for the arrays (resolve hours, accept minutes, applicant
key/time pairs). The projection has every fact row of a batch in memory before and after the fold, so a rollup
row's change is (new contributions − old contributions) of the batch's rows; the rows are read, changed and written
back, under the rollup lock, without reading the other facts of their (day, unit). The arrays are multisets: a
value leaves by one occurrence. The same definitions as ``rollups._REBUILD`` (the bulk path, and the fallback: a
key whose old value cannot be found — never expected — is rebuilt from its facts instead).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics_svc import rollups
from analytics_svc.domain import LOCAL_LEVELS, STREET_OR_BELOW, UPPER_LEVELS, Row

Contribution = tuple[str, rollups.Key, list[str], dict[str, int], list[Any]]  # table, key, path, counts, values
TABLES = ("rollup_home", "rollup_outcome", "rollup_assign")
ARRAYS = {"rollup_home": ("applicant_keys", "applicant_at"), "rollup_outcome": ("resolve_hours",),
          "rollup_assign": ("accept_minutes",)}
COUNTERS = {t: tuple(c for c in rollups.COLUMNS[t] if c not in ("day", "unit_id", "unit_path", *ARRAYS[t]))
            for t in TABLES}


def case_contributions(row: Row) -> list[Contribution]:
    home, outcome = rollups.case_keys(row)
    out: list[Contribution] = []
    if home is not None:
        out.append(("rollup_home", home, row["home_path"] or [], {
            "received": 1, "assigned": int(row["home_unit_id"] is not None),
            "escalated": int(any(level in UPPER_LEVELS for level in row["escalated_levels"] or ())),
        }, [(row["applicant_key"], row["received_at"])] if row["applicant_key"] is not None else []))
    if outcome is not None:
        resolved = row["outcome"] == "resolved"
        out.append(("rollup_outcome", outcome, row["outcome_path"] or [], {
            "with_outcome": 1, "resolved": int(resolved), "on_time_outcomes": int(row["outcome_on_time"] is True),
            "resolved_locally": int(resolved and row["resolved_level"] in LOCAL_LEVELS),
            "resolved_in_street": int(resolved and row["resolved_level"] in STREET_OR_BELOW),
            "answers": row["feedback_answers"] or 0, "satisfied": row["feedback_satisfied"] or 0,
            "closed": int(row["closed_at"] is not None), "reopened": int((row["reopen_count"] or 0) > 0),
        }, [row["resolve_hours"]] if row["resolve_hours"] is not None else []))
    return out


def assignment_contributions(row: Row) -> list[Contribution]:
    key = rollups.assignment_key(row)
    if key is None:
        return []
    accepted, due = row["accepted_at"], row["accept_due_at"]
    return [("rollup_assign", key, row["unit_path"] or [], {
        "accept_counted": int(accepted is not None or bool(row["accept_overdue"])),
        "accepted_on_time": int(accepted is not None and due is not None and accepted <= due),
    }, [row["accept_minutes"]] if row["accept_minutes"] is not None else [])]


class Change:
    __slots__ = ("added", "counts", "path", "removed")

    def __init__(self) -> None:
        self.path: list[str] = []
        self.counts: dict[str, int] = {}  # a plain dict: a Counter per change showed in profiles
        self.added: list[Any] = []
        self.removed: list[Any] = []


class Increments:
    """The batch's changes per (table, key)."""

    def __init__(self) -> None:
        self.changes: dict[tuple[str, rollups.Key], Change] = {}

    def add(self, contributions: list[Contribution], sign: int) -> None:
        for table, key, path, counts, values in contributions:
            change = self.changes.get((table, key))
            if change is None:
                change = self.changes[(table, key)] = Change()
            if sign > 0:
                change.path = max(change.path, list(path))
                change.added.extend(values)
            else:
                change.removed.extend(values)
            for name, n in counts.items():
                if n:
                    change.counts[name] = change.counts.get(name, 0) + sign * n

    def effective(self) -> dict[tuple[str, rollups.Key], Change]:
        """The changes that change something (a row folded to the same contribution cancels out)."""
        out = {}
        for k, change in self.changes.items():
            common = Counter(change.added) & Counter(change.removed) if change.added and change.removed else None
            if common:
                change.added = list((Counter(change.added) - common).elements())
                change.removed = list((Counter(change.removed) - common).elements())
            if change.added or change.removed or any(change.counts.values()):
                out[k] = change
        return out


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _keys_param(keys: list[rollups.Key]) -> dict[str, Any]:
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


_WRITE = _write_sql()


def _remove_one(values: list[Any], value: Any) -> bool:
    try:
        values.remove(value)
    except ValueError:
        return False
    return True


def apply(session: Session, increments: Increments) -> None:
    """Read the rows of the changed keys, change them, write them back (deleting the emptied ones)."""
    changes = increments.effective()
    if not changes:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": rollups.ROLLUP_LOCK})
    by_table: dict[str, list[rollups.Key]] = {t: [] for t in TABLES}
    for table, key in changes:
        by_table[table].append(key)
    applicants = sorted({v[0] for (table, _), c in changes.items() if table == "rollup_home"
                         for v in (*c.added, *c.removed)})
    hashes: dict[str, int] = dict(session.execute(  # the same 64-bit hash as the bulk path (rollups._REBUILD)
        text("SELECT k, hashtextextended(k, 0) FROM unnest(CAST(:ks AS text[])) AS k"), {"ks": applicants}).all()
    ) if applicants else {}
    params: dict[str, Any] = {}
    rebuild: dict[str, set[rollups.Key]] = {t: set() for t in TABLES}
    for table in TABLES:
        t = table.removeprefix("rollup_")
        keys = by_table[table]
        current: dict[rollups.Key, dict[str, Any]] = {}
        if keys:
            result = session.execute(text(f"SELECT * FROM {table} WHERE {_WHERE_KEYS}"), _keys_param(keys))
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
    session.execute(text(_WRITE), params)
    if any(rebuild.values()):
        rollups.rebuild(session, rebuild)


def _change_arrays(table: str, row: dict[str, Any], change: Change, hashes: dict[str, int]) -> bool:
    if table == "rollup_home":
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
