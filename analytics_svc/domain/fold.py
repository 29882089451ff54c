"""Pure projection logic: fold case events into a case fact row and per-assignment fact rows.

No I/O here. A fact is a plain dict keyed by column name, so the same fold serves the live consumer (rows
loaded, folded and written back per batch) and the bench's bulk load. Events of one case arrive in order (same
Kafka key); events of different cases touch different rows, so the result does not depend on their interleaving.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from analytics_svc.domain.worktime import working_seconds
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseAssignmentCancelled,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseExtensionRequested,
    CaseMerged,
    CaseOverdue,
    CaseReceived,
    CaseReclassified,
    CaseReopened,
    CaseResolved,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    Event,
    FeedbackReceived,
    RiskChanged,
)
from shared.events.case import AssignCause, CancelReason, DeadlineClock, FeedbackResult, Level

Row = dict[str, Any]

LEVEL_RANK = {Level.BUILDING: 0, Level.GRID: 1, Level.COMMUNITY: 2, Level.VILLAGE: 2, Level.STREET: 3,
              Level.DISTRICT: 4}


def new_case(case_id: uuid.UUID) -> Row:
    return {
        "case_id": case_id, "code": None, "received_at": None, "channel": None, "request_type": None,
        "category": None, "risk_level": None, "urgent": False, "deadline_days": None, "grid_id": None,
        "received_unit_id": None, "applicant_key": None, "address_key": None, "building_id": None, "merged_into": None,
        "home_unit_id": None, "home_path": [], "home_level": None, "first_assigned_at": None,
        "unit_id": None, "unit_path": [], "unit_name": None, "level": None, "track": None, "assigned_at": None,
        "assignment_id": None, "levels_reached": [], "escalated_levels": [], "max_level_rank": None,
        "task_force": False, "accepted_at": None, "accept_due_at": None, "resolve_due_at": None,
        "returns": 0, "extension_requests": 0, "extensions": 0, "suspensions": 0, "escalations": 0,
        "overdue_count": 0, "outcome": None, "outcome_at": None, "resolved_level": None,
        "outcome_unit_id": None, "outcome_path": [], "outcome_on_time": None, "resolve_hours": None,
        "mediation_agreement": False, "judicial_confirmation": False,
        "feedback_result": None, "feedback_answers": 0, "feedback_satisfied": 0,
        "closed_at": None, "close_reason": None, "reopen_count": 0, "reopened_at": None,
    }


def new_assignment(assignment_id: uuid.UUID, case_id: uuid.UUID) -> Row:
    return {
        "assignment_id": assignment_id, "case_id": case_id, "received_at": None, "unit_id": None,
        "unit_path": [], "level": None, "track": None, "cause": None, "assigned_at": None, "accept_due_at": None,
        "accepted_at": None, "accept_minutes": None, "accept_overdue": False, "resolve_due_at": None,
        "resolve_overdue": False, "returned_at": None, "left_at": None, "outcome": None, "resolved_at": None,
        "merged": False,
    }


# --- the fold --------------------------------------------------------------------------------------------


class Store:
    """Where the fold finds and puts rows; the I/O layer preloads it and writes back what is dirty."""

    def __init__(self, cases: dict[uuid.UUID, Row] | None = None,
                 assignments: dict[uuid.UUID, Row] | None = None) -> None:
        self.cases = cases if cases is not None else {}
        self.assignments = assignments if assignments is not None else {}
        self.dirty_cases: set[uuid.UUID] = set()
        self.dirty_assignments: set[uuid.UUID] = set()
        self.first_assignments: list[Row] = []  # cases that got their home unit in this batch (spike checks)

    def case(self, case_id: uuid.UUID) -> Row:
        row = self.cases.get(case_id)
        if row is None:
            row = self.cases[case_id] = new_case(case_id)
        self.dirty_cases.add(case_id)
        return row

    def assignment(self, assignment_id: uuid.UUID, case_id: uuid.UUID) -> Row:
        row = self.assignments.get(assignment_id)
        if row is None:
            row = self.assignments[assignment_id] = new_assignment(assignment_id, case_id)
        self.dirty_assignments.add(assignment_id)
        return row


def _add_level(levels: list[str], level: str) -> list[str]:
    return levels if level in levels else [*levels, level]


def _received(s: Store, e: CaseReceived) -> None:
    c = s.case(e.case_id)
    c.update(code=e.code, received_at=e.at, channel=e.channel.value, request_type=e.request_type.value,
             category=e.category, risk_level=e.risk_level.value, urgent=e.urgent, deadline_days=e.deadline_days,
             grid_id=e.location.grid_id, received_unit_id=e.received_unit_id, applicant_key=e.applicant_key,
             address_key=e.address_key)


def _merged(s: Store, e: CaseMerged) -> None:
    """并案 (at intake, or after routing): the case counts nowhere on its own — nor do its assignments' on-time
    figures (the I/O layer preloads every assignment row of a merged case)."""
    c = s.case(e.case_id)
    c.update(code=e.code, received_at=c["received_at"] or e.at, channel=e.channel.value,
             merged_into=e.primary_case_id)
    for a in s.assignments.values():
        if a["case_id"] == e.case_id and not a["merged"]:
            a["merged"] = True
            s.dirty_assignments.add(a["assignment_id"])


def _assignment_cancelled(s: Store, e: CaseAssignmentCancelled) -> None:
    """Routing ended the assignment without a successor (merged): it left the case then."""
    a = s.assignment(e.assignment_id, e.case_id)
    a.update(left_at=a["left_at"] or e.at, merged=a["merged"] or e.reason == CancelReason.MERGED)


def _assigned(s: Store, e: CaseAssigned) -> None:
    c = s.case(e.case_id)
    level = e.level.value
    if c["home_unit_id"] is None:
        c.update(home_unit_id=e.unit_id, home_path=list(e.unit_path), home_level=level, first_assigned_at=e.at)
        s.first_assignments.append(c)
    if e.building_id and c["building_id"] is None:  # where routing placed the case (楼栋), for top buildings
        c["building_id"] = e.building_id
    if c["assignment_id"] is not None and c["assignment_id"] != e.assignment_id:
        prev = s.assignments.get(c["assignment_id"])
        if prev is not None and prev["left_at"] is None:
            prev["left_at"] = e.at
            s.dirty_assignments.add(prev["assignment_id"])
    rank = LEVEL_RANK[e.level]
    c.update(unit_id=e.unit_id, unit_path=list(e.unit_path), unit_name=e.unit_name or None, level=level,
             track=e.track.value, assigned_at=e.at, assignment_id=e.assignment_id, accept_due_at=e.accept_due_at,
             resolve_due_at=None, levels_reached=_add_level(c["levels_reached"], level),
             max_level_rank=max(c["max_level_rank"] or 0, rank), task_force=c["task_force"] or e.task_force)
    if e.cause == AssignCause.ESCALATED:
        c["escalated_levels"] = _add_level(c["escalated_levels"], level)
    a = s.assignment(e.assignment_id, e.case_id)
    a.update(received_at=c["received_at"], unit_id=e.unit_id, unit_path=list(e.unit_path), level=level,
             track=e.track.value, cause=e.cause.value, assigned_at=e.at, accept_due_at=e.accept_due_at,
             merged=a["merged"] or c["merged_into"] is not None)  # assigned after the merge reached analytics


def _accepted(s: Store, e: CaseAccepted) -> None:
    c = s.case(e.case_id)
    if c["accepted_at"] is None:
        c["accepted_at"] = e.at
    if c["assignment_id"] in (None, e.assignment_id):
        c["resolve_due_at"] = e.resolve_due_at
    a = s.assignment(e.assignment_id, e.case_id)
    a.update(accepted_at=e.at, resolve_due_at=e.resolve_due_at)
    if a["assigned_at"] is not None:
        a["accept_minutes"] = round(working_seconds(a["assigned_at"], e.at) / 60, 2)


def _returned(s: Store, e: CaseReturned) -> None:
    c = s.case(e.case_id)
    c["returns"] = max(c["returns"] + 1, e.return_count)
    s.assignment(e.assignment_id, e.case_id).update(returned_at=e.at, left_at=e.at)


def _extension_requested(s: Store, e: CaseExtensionRequested) -> None:
    s.case(e.case_id)["extension_requests"] += 1


def _extended(s: Store, e: CaseExtended) -> None:
    """延期 moves the deadline of its clock: the on-time boundary of acceptance or of the outcome."""
    c = s.case(e.case_id)
    c["extensions"] += 1
    field = "accept_due_at" if e.clock == DeadlineClock.ACCEPT else "resolve_due_at"
    if c["assignment_id"] in (None, e.assignment_id):
        c[field] = e.new_due_at
    s.assignment(e.assignment_id, e.case_id)[field] = e.new_due_at


def _suspended(s: Store, e: CaseSuspended) -> None:
    s.case(e.case_id)["suspensions"] += 1


def _resumed(s: Store, e: CaseResumed) -> None:
    c = s.case(e.case_id)
    a = s.assignment(e.assignment_id, e.case_id)
    for field, value in (("accept_due_at", e.accept_due_at), ("resolve_due_at", e.resolve_due_at)):
        if value is not None:
            a[field] = value
            if c["assignment_id"] in (None, e.assignment_id):
                c[field] = value


def _escalated(s: Store, e: CaseEscalated) -> None:
    c = s.case(e.case_id)
    c["escalations"] += 1
    c["escalated_levels"] = _add_level(c["escalated_levels"], e.to_level.value)
    s.assignment(e.assignment_id, e.case_id)["left_at"] = e.at


def _overdue(s: Store, e: CaseOverdue) -> None:
    s.case(e.case_id)["overdue_count"] += 1
    a = s.assignment(e.assignment_id, e.case_id)
    if not a["unit_path"]:
        a.update(unit_id=e.unit_id, unit_path=list(e.unit_path), level=e.level.value)
    a["accept_overdue" if e.clock == DeadlineClock.ACCEPT else "resolve_overdue"] = True


def _resolved(s: Store, e: CaseResolved) -> None:
    c = s.case(e.case_id)
    a = s.assignment(e.assignment_id, e.case_id)
    a.update(outcome=e.outcome.value, resolved_at=e.at)
    due = a["resolve_due_at"] or (c["resolve_due_at"] if c["assignment_id"] == e.assignment_id else None)
    path = a["unit_path"] or (c["unit_path"] if c["unit_id"] == e.unit_id else [e.unit_id])
    received = c["received_at"]
    c.update(outcome=e.outcome.value, outcome_at=e.at, resolved_level=e.level.value, outcome_unit_id=e.unit_id,
             outcome_path=list(path), outcome_on_time=(e.at <= due) if due is not None else e.resolved_on_time,
             resolve_hours=round(working_seconds(received, e.at) / 3600, 2) if received else None,
             mediation_agreement=e.mediation_agreement, judicial_confirmation=e.judicial_confirmation)


def _feedback(s: Store, e: FeedbackReceived) -> None:
    c = s.case(e.case_id)
    c["feedback_result"] = e.result.value
    if e.result != FeedbackResult.UNREACHED:
        c["feedback_answers"] += 1
        c["feedback_satisfied"] += e.result == FeedbackResult.SATISFIED


def _reopened(s: Store, e: CaseReopened) -> None:
    """重办: the case keeps its outcome (it did reach one) until the next resolution replaces it."""
    c = s.case(e.case_id)
    c.update(reopen_count=max(c["reopen_count"] + 1, e.reopen_count), reopened_at=e.at, closed_at=None,
             close_reason=None)


def _closed(s: Store, e: CaseClosed) -> None:
    s.case(e.case_id).update(closed_at=e.at, close_reason=e.reason.value)


def _risk_changed(s: Store, e: RiskChanged) -> None:
    s.case(e.case_id)["risk_level"] = e.to_level.value


def _reclassified(s: Store, e: CaseReclassified) -> None:
    s.case(e.case_id).update(category=e.to_category, request_type=e.to_request_type.value)


FOLDS: dict[type[Event], Callable[[Store, Any], None]] = {
    CaseReceived: _received, CaseMerged: _merged, CaseAssigned: _assigned, CaseAccepted: _accepted,
    CaseReturned: _returned, CaseExtensionRequested: _extension_requested, CaseExtended: _extended,
    CaseSuspended: _suspended, CaseResumed: _resumed, CaseEscalated: _escalated, CaseOverdue: _overdue,
    CaseResolved: _resolved, FeedbackReceived: _feedback, CaseReopened: _reopened, CaseClosed: _closed,
    RiskChanged: _risk_changed, CaseReclassified: _reclassified, CaseAssignmentCancelled: _assignment_cancelled,
}


def apply(store: Store, event: Event) -> None:
    FOLDS[type(event)](store, event)


def merged_cases(events: list[Event]) -> list[uuid.UUID]:
    """The cases merged in a batch: every assignment row of theirs is preloaded (``_merged`` marks them)."""
    return [e.case_id for e in events if isinstance(e, CaseMerged)]


def assignment_ids(event: Event) -> list[uuid.UUID]:
    """The assignment rows an event touches (so the I/O layer can preload them)."""
    found = getattr(event, "assignment_id", None)
    return [found] if found is not None else []

