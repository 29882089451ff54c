"""Analytics' event map: every case event the fold knows goes to the projection's batch; the org's units
(``CONSUMERS``), and why it ignores every other event type of the catalog (``IGNORED``;
``tests/contracts/test_lifecycle.py`` keeps the two complete)."""

from __future__ import annotations

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.handlers import facts, units
from shared.bus.handlers import Consumers
from shared.events import (
    CalendarChanged,
    CaseAccepted,
    CaseAssigned,
    CaseAssigneeSet,
    CaseAssignmentCancelled,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseExtensionRejected,
    CaseExtensionRequested,
    CaseMerged,
    CaseOverdue,
    CaseReceived,
    CaseReclassified,
    CaseReopened,
    CaseReopenRequested,
    CaseResolved,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    CaseUrged,
    CohandlingTaskAccepted,
    CohandlingTaskClosed,
    CohandlingTaskCompleted,
    CohandlingTaskOpened,
    Event,
    FeedbackReceived,
    HotspotAlert,
    MemberUpserted,
    NotificationDelivered,
    NotificationFailed,
    RiskChanged,
    SessionScheduled,
    UnitUpserted,
)

CONSUMERS: Consumers[AnalyticsDeps] = {
    CaseReceived: facts.on_case_event,
    CaseMerged: facts.on_case_event,
    CaseAssigned: facts.on_case_event,
    CaseAccepted: facts.on_case_event,
    CaseReturned: facts.on_case_event,
    CaseExtensionRequested: facts.on_case_event,
    CaseExtended: facts.on_case_event,
    CaseSuspended: facts.on_case_event,
    CaseResumed: facts.on_case_event,
    CaseEscalated: facts.on_case_event,
    CaseOverdue: facts.on_case_event,
    CaseResolved: facts.on_case_event,
    FeedbackReceived: facts.on_case_event,
    CaseReopened: facts.on_case_event,
    CaseClosed: facts.on_case_event,
    RiskChanged: facts.on_case_event,
    CaseReclassified: facts.on_case_event,
    CaseAssignmentCancelled: facts.on_case_event,
    UnitUpserted: units.on_unit_upserted,
}

IGNORED: dict[type[Event], str] = {
    CohandlingTaskOpened: "per-force co-handling figures are not counted yet (analytics' per-force work)",
    CohandlingTaskAccepted: "per-force co-handling figures are not counted yet (analytics' per-force work)",
    CohandlingTaskCompleted: "per-force co-handling figures are not counted yet (analytics' per-force work)",
    CohandlingTaskClosed: "per-force co-handling figures are not counted yet (analytics' per-force work)",
    CaseAssigneeSet: "who in the unit holds the case counts in no unit KPI (per-person figures are not built yet)",
    CaseExtensionRejected: "a rejected extension moves no deadline and counts in no KPI (the request is counted)",
    CaseReopenRequested: "a request: routing's fq.case.reopened.v1 is what counts (重办率), once, if it reopens",
    CaseUrged: "催办 counts in no KPI of design section 7",
    MemberUpserted: "people are not analysed: KPIs are per unit",
    CalendarChanged: "working time is counted on the shared calendar kernel (domain.worktime), not per revision",
    NotificationDelivered: "delivery outcomes are no KPI (not subscribed to notification-events)",
    NotificationFailed: "delivery outcomes are no KPI (not subscribed to notification-events)",
    HotspotAlert: "analytics' own alert (not subscribed to alert-events)",
    SessionScheduled: "调解 sessions count in no KPI of design section 7 (the outcome on resolve does)",
}
