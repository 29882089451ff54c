"""Factories for scripted cases: one line per workflow step, each producing the real catalog event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.clock import SHANGHAI
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseMerged,
    CaseOverdue,
    CaseReceived,
    CaseReopened,
    CaseResolved,
    Event,
    FeedbackReceived,
    UnitUpserted,
)
from shared.events.case import (
    AssignCause,
    Channel,
    CloseReason,
    DeadlineClock,
    EscalationReason,
    FeedbackResult,
    Level,
    LocationRef,
    Outcome,
    ReopenReason,
    RequestType,
    RiskLevel,
    Track,
)
from shared.events.org import PolygonGeometry


def t(day: str, hhmm: str) -> datetime:
    """A Shanghai wall-clock time, e.g. t("2025-03-03", "09:05")."""
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SHANGHAI)


@dataclass
class Org:
    """A small hierarchy with ids unique to one test: district › street(s) › communities › grids."""

    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    paths: dict[str, list[str]] = field(default_factory=dict)
    levels: dict[str, Level] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    polygons: dict[str, list[list[float]]] = field(default_factory=dict)

    def id(self, short: str) -> str:
        return f"{self.prefix}-{short}"

    def add(self, short: str, level: Level, parent: str | None, name: str,
            polygon: list[list[float]] | None = None) -> str:
        uid = self.id(short)
        if polygon is not None:
            self.polygons[uid] = polygon
        self.paths[uid] = [*(self.paths[self.id(parent)] if parent else []), uid]
        self.levels[uid] = level
        self.names[uid] = name
        return uid

    def events(self) -> list[Event]:
        return [UnitUpserted(unit_id=u, name=self.names[u], level=self.levels[u],
                             parent_id=p[-2] if len(p) > 1 else None, path=p,
                             polygon=PolygonGeometry.of_ring(self.polygons.get(u))) for u, p in self.paths.items()]


@dataclass
class Script:
    """One case's events in order; ``intake`` ones (received/merged) and ``routing`` ones (the workflow)."""

    org: Org
    case_id: uuid.UUID = field(default_factory=uuid.uuid4)
    intake: list[Event] = field(default_factory=list)
    routing: list[Event] = field(default_factory=list)
    assignment: uuid.UUID | None = None
    unit: str | None = None
    reopens: int = 0

    def received(self, at: datetime, *, channel: Channel = Channel.WALK_IN, category: str = "neighbor.water",
                 grid: str | None = None, applicant: str | None = None, address: str | None = None,
                 request_type: RequestType = RequestType.DISPUTE, risk: RiskLevel = RiskLevel.BLUE) -> Script:
        self.intake.append(CaseReceived(
            case_id=self.case_id, at=at, code=f"FQ-T-{self.case_id.hex[:8]}", channel=channel,
            request_type=request_type, category=category,
            location=LocationRef(grid_id=self.org.id(grid) if grid else None), applicant_key=applicant,
            address_key=address, risk_level=risk))
        return self

    def merged(self, at: datetime, into: Script) -> Script:
        self.intake.append(CaseMerged(case_id=self.case_id, at=at, code=f"FQ-T-{self.case_id.hex[:8]}",
                                      primary_case_id=into.case_id, similarity=0.9, channel=Channel.PHONE,
                                      linked_by="auto"))
        return self

    def assign(self, at: datetime, unit: str, *, accept_hours: float = 2, cause: AssignCause = AssignCause.ROUTED,
               track: Track = Track.GENERAL, building: str | None = None) -> Script:
        previous, self.assignment, self.unit = self.assignment, uuid.uuid4(), self.org.id(unit)
        self.routing.append(CaseAssigned(
            case_id=self.case_id, at=at, assignment_id=self.assignment, case_code="FQ-T", unit_id=self.unit,
            unit_name=self.org.names[self.unit], unit_path=self.org.paths[self.unit], level=self.org.levels[self.unit],
            track=track, accept_due_at=at + timedelta(hours=accept_hours), rule_id="test", explanation="test",
            cause=cause, previous_assignment_id=previous, building_id=self.org.id(building) if building else None))
        return self

    def _a(self) -> dict[str, Any]:
        assert self.assignment is not None and self.unit is not None
        return {"case_id": self.case_id, "assignment_id": self.assignment, "unit_id": self.unit}

    def accept(self, at: datetime, *, resolve_due: datetime) -> Script:
        assigned = next(e for e in reversed(self.routing) if isinstance(e, CaseAssigned))
        self.routing.append(CaseAccepted(**self._a(), at=at, accepted_by="m1", resolve_due_at=resolve_due,
                                         accepted_on_time=at <= assigned.accept_due_at))
        return self

    def overdue(self, at: datetime, clock: DeadlineClock = DeadlineClock.ACCEPT, escalated: bool = True) -> Script:
        assert self.unit is not None
        self.routing.append(CaseOverdue(**self._a(), at=at, unit_path=self.org.paths[self.unit],
                                        level=self.org.levels[self.unit], clock=clock, due_at=at,
                                        escalated=escalated))
        return self

    def escalate(self, at: datetime, to: str, reason: EscalationReason = EscalationReason.REQUEST,
                 accept_hours: float = 2) -> Script:
        assert self.unit is not None
        target = self.org.id(to)
        self.routing.append(CaseEscalated(
            case_id=self.case_id, at=at, assignment_id=self.assignment, from_unit_id=self.unit,
            from_level=self.org.levels[self.unit], to_unit_id=target, to_level=self.org.levels[target], reason=reason,
            escalated_by="scheduler" if reason == EscalationReason.TIMEOUT else "m1"))
        return self.assign(at, to, cause=AssignCause.ESCALATED, accept_hours=accept_hours)

    def extend(self, at: datetime, previous_due: datetime, new_due: datetime) -> Script:
        self.routing.append(CaseExtended(**self._a(), at=at, clock=DeadlineClock.RESOLVE, reason="需要补充材料",
                                         approved_by="boss", previous_due_at=previous_due, new_due_at=new_due))
        return self

    def resolve(self, at: datetime, outcome: Outcome = Outcome.RESOLVED, *, on_time_flag: bool = True) -> Script:
        assert self.unit is not None
        self.routing.append(CaseResolved(**self._a(), at=at, level=self.org.levels[self.unit], outcome=outcome,
                                         resolved_by="m1", resolved_on_time=on_time_flag))
        return self

    def feedback(self, at: datetime, result: FeedbackResult) -> Script:
        # recorded by intake (回访) in production; it interleaves with the workflow, so the script publishes it
        # through the same outbox as the workflow to keep the case's events in order
        self.routing.append(FeedbackReceived(case_id=self.case_id, at=at, result=result, source="staff",
                                             recorded_by="op"))
        return self

    def reopen(self, at: datetime, to: str | None = None) -> Script:
        assert self.assignment is not None
        self.reopens += 1
        self.routing.append(CaseReopened(case_id=self.case_id, at=at, previous_assignment_id=self.assignment,
                                         reason=ReopenReason.UNSATISFIED_FEEDBACK, reopen_count=self.reopens,
                                         reopened_by="system"))
        return self.assign(at, to or self.unit.removeprefix(f"{self.org.prefix}-"),  # type: ignore[union-attr]
                           cause=AssignCause.REOPENED)

    def close(self, at: datetime, reason: CloseReason = CloseReason.SATISFIED) -> Script:
        self.routing.append(CaseClosed(**self._a(), at=at, reason=reason, closed_by="system"))
        return self
