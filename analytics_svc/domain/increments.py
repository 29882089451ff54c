"""What a fact row contributes to the daily rollups, and a batch's change to each rollup row (pure).

Each case and assignment fact row contributes to at most one row of each rollup table (``case_keys``,
``assignment_key``): counters, and values for the arrays (resolve hours, accept minutes, applicant key/time pairs).
The projection has every fact row of a batch in memory before and after the fold, so a rollup row's change is
(new contributions − old contributions) of the batch's rows (``Increments``); ``analytics_svc.store.increments``
reads, changes and writes those rows back. The arrays are multisets: a value leaves by one occurrence.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from enum import StrEnum
from typing import Any

from analytics_svc.domain.fold import Row
from analytics_svc.domain.kpis import LOCAL_LEVELS, STREET_OR_BELOW, UPPER_LEVELS
from shared.clock import SHANGHAI
from shared.events.case import Outcome

Key = tuple[date, str]  # (Asia/Shanghai day the case was received, unit)


class Rollup(StrEnum):
    """The rollup tables (their names): the home side, the outcome side, the assignment side."""

    HOME = "rollup_home"
    OUTCOME = "rollup_outcome"
    ASSIGN = "rollup_assign"


Contribution = tuple[Rollup, Key, list[str], dict[str, int], list[Any]]  # table, key, path, counts, values


def _day(row: Row) -> date | None:
    return row["received_at"].astimezone(SHANGHAI).date() if row["received_at"] is not None else None


def case_keys(row: Row) -> tuple[Key | None, Key | None]:
    """(home key, outcome key) of a case fact row; merged reports count nowhere."""
    day = _day(row)
    if day is None or row["merged_into"] is not None:
        return None, None
    home = (day, row["home_unit_id"] or "")
    outcome = (day, row["outcome_unit_id"]) if row["outcome"] is not None and row["outcome_unit_id"] else None
    return home, outcome


def assignment_key(row: Row) -> Key | None:
    """The rollup key of an assignment fact row; a merged case's assignments count nowhere."""
    day = _day(row)
    return (day, row["unit_id"]) if day is not None and row["unit_id"] and not row.get("merged") else None


def case_contributions(row: Row) -> list[Contribution]:
    home, outcome = case_keys(row)
    out: list[Contribution] = []
    if home is not None:
        out.append((Rollup.HOME, home, row["home_path"] or [], {
            "received": 1, "assigned": int(row["home_unit_id"] is not None),
            "escalated": int(any(level in UPPER_LEVELS for level in row["escalated_levels"] or ())),
        }, [(row["applicant_key"], row["received_at"])] if row["applicant_key"] is not None else []))
    if outcome is not None:
        resolved = row["outcome"] == Outcome.RESOLVED
        out.append((Rollup.OUTCOME, outcome, row["outcome_path"] or [], {
            "with_outcome": 1, "resolved": int(resolved), "on_time_outcomes": int(row["outcome_on_time"] is True),
            "resolved_locally": int(resolved and row["resolved_level"] in LOCAL_LEVELS),
            "resolved_in_street": int(resolved and row["resolved_level"] in STREET_OR_BELOW),
            "answers": row["feedback_answers"] or 0, "satisfied": row["feedback_satisfied"] or 0,
            "closed": int(row["closed_at"] is not None), "reopened": int((row["reopen_count"] or 0) > 0),
        }, [row["resolve_hours"]] if row["resolve_hours"] is not None else []))
    return out


def assignment_contributions(row: Row) -> list[Contribution]:
    key = assignment_key(row)
    if key is None:
        return []
    accepted, due = row["accepted_at"], row["accept_due_at"]
    return [(Rollup.ASSIGN, key, row["unit_path"] or [], {
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
        self.changes: dict[tuple[Rollup, Key], Change] = {}

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

    def effective(self) -> dict[tuple[Rollup, Key], Change]:
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


def batch_increments(before_cases: dict[Any, list[Contribution]], before_assignments: dict[Any, list[Contribution]],
                     cases: dict[Any, Row], assignments: dict[Any, Row], dirty_cases: set[Any],
                     dirty_assignments: set[Any]) -> Increments:
    """The change of a folded batch: for each row it touched, its new contributions minus its old ones."""
    changes = Increments()
    for i in dirty_cases:
        changes.add(before_cases.get(i, []), -1)
        changes.add(case_contributions(cases[i]), +1)
    for i in dirty_assignments:
        changes.add(before_assignments.get(i, []), -1)
        changes.add(assignment_contributions(assignments[i]), +1)
    return changes
