"""Analytics' event map: every case event the fold knows goes to the projection's batch; the org's units
(``CONSUMERS``), and why it ignores every other event type of the catalog (``IGNORED``;
``tests/contracts/test_lifecycle.py`` keeps the two complete)."""

from __future__ import annotations

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.handlers import facts, people, units
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
    Event,
    FeedbackReceived,
    HotspotAlert,
    MemberUpserted,
    NotificationDelivered,
    NotificationFailed,
    RiskChanged,
    TaskForcePlanDue,
    TaskForceSet,
    UnitUpserted,
)

CONSUMERS: Consumers[AnalyticsDeps] = {
    CaseReceived: facts.on_case_event,
    CaseMerged: facts.on_case_event,
    CaseAssigned: people.on_case_assigned,  # the facts' batch, and the case's forces
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
    CaseClosed: facts.on_case_event,
    RiskChanged: facts.on_case_event,
    CaseReclassified: facts.on_case_event,
    CaseAssignmentCancelled: facts.on_case_event,
    UnitUpserted: units.on_unit_upserted,
    CaseAssigneeSet: people.on_assignee_set,
}

IGNORED: dict[type[Event], str] = {
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
}
