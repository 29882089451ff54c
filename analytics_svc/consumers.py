"""Analytics' event map: every case event the fold knows goes to the projection's batch; the org's units
(``CONSUMERS``), and why it ignores every other event type of the catalog (``IGNORED``;
``tests/contracts/test_lifecycle.py`` keeps the two complete)."""

from __future__ import annotations

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.handlers import facts, people, records, recurrence, units
from shared.bus.handlers import Consumers
from shared.events import (
    AgreementSigned,
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
    CaseLeaderSet,
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
    JudicialConfirmationRecorded,
    LookbackDue,
    LookbackRecurred,
    LookbackScheduled,
    LookbackStable,
    MemberUpserted,
    NotificationDelivered,
    NotificationFailed,
    PerformanceRecorded,
    RiskChanged,
    SessionScheduled,
    TaskForcePlanDue,
    TaskForceSet,
    UnitUpserted,
)

CONSUMERS: Consumers[AnalyticsDeps] = {
    CaseReceived: facts.on_case_event,
    CaseMerged: facts.on_case_event,
    CaseAssigned: records.on_case_assigned,  # the fold's, and the forces it calls in (协同力量, per-force figures)
    CaseAccepted: facts.on_case_event,
    CaseReturned: facts.on_case_event,
    CaseExtensionRequested: facts.on_case_event,
    CaseExtended: facts.on_case_event,
    CaseSuspended: facts.on_case_event,
    CaseResumed: facts.on_case_event,
    CaseEscalated: facts.on_case_event,
    CaseOverdue: facts.on_case_event,
    CaseResolved: people.on_case_resolved,  # the facts' batch, and the 承办人's resolved case
    FeedbackReceived: facts.on_case_event,
    CaseReopened: facts.on_case_event,
    CaseClosed: recurrence.on_case_closed,  # the fold's, and the closure row of 复发率
    RiskChanged: facts.on_case_event,
    CaseReclassified: facts.on_case_event,
    CaseAssignmentCancelled: facts.on_case_event,
    LookbackRecurred: recurrence.on_lookback_recurred,
    UnitUpserted: units.on_unit_upserted,
    AgreementSigned: records.on_agreement_signed,
    JudicialConfirmationRecorded: records.on_confirmation_recorded,
    PerformanceRecorded: records.on_performance_recorded,
    CaseAssigneeSet: people.on_assignee_set,
}

IGNORED: dict[type[Event], str] = {
    CohandlingTaskOpened: "per-force figures count the case's forces (fq.case.assigned.v1), not each task's steps",
    CohandlingTaskAccepted: "per-force figures count the case's forces (fq.case.assigned.v1), not each task's steps",
    CohandlingTaskCompleted: "per-force figures count the case's forces (fq.case.assigned.v1), not each task's steps",
    CohandlingTaskClosed: "per-force figures count the case's forces (fq.case.assigned.v1), not each task's steps",
    CaseLeaderSet: "the 包案领导 is told of the case; no KPI of design section 7 counts leaders",
    TaskForceSet: "a 专班's people count in no KPI (the case's task_force flag comes from fq.case.assigned.v1)",
    TaskForcePlanDue: "a 专班 plan's reminder or overdue mark counts in no KPI",
    CaseExtensionRejected: "a rejected extension moves no deadline and counts in no KPI (the request is counted)",
    CaseReopenRequested: "a request: routing's fq.case.reopened.v1 is what counts (重办率), once, if it reopens",
    CaseUrged: "催办 counts in no KPI of design section 7",
    MemberUpserted: "per-person figures are by member id, from the assignment events; roles are not needed",
    CalendarChanged: "working time is counted on the shared calendar kernel (domain.worktime), not per revision",
    NotificationDelivered: "delivery outcomes are no KPI (not subscribed to notification-events)",
    NotificationFailed: "delivery outcomes are no KPI (not subscribed to notification-events)",
    HotspotAlert: "analytics' own alert (not subscribed to alert-events)",
    SessionScheduled: "调解 sessions count in no KPI of design section 7 (the outcome on resolve does)",
    LookbackScheduled: "复发率 counts closures (fq.case.closed.v1) and recurrences, not the 回头看 planned",
    LookbackDue: "a 回头看 falling due counts in no KPI",
    LookbackStable: "稳定 leaves the closure as it was: counted in 复发率's denominator by its close",
}
