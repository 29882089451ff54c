"""Routing's event map: what each consumed event does (``CONSUMERS``), and why it ignores every other event type of
the catalog (``IGNORED``; ``tests/contracts/test_lifecycle.py`` keeps the two complete)."""

from __future__ import annotations

from routing_svc.deps import RoutingDeps
from routing_svc.handlers import case_changes, leaders, lifecycle, performance, routing, tasks
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
    CohandlingTaskOverdue,
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

CONSUMERS: Consumers[RoutingDeps] = {
    CaseReceived: routing.on_case_received,
    CaseMerged: case_changes.on_case_merged,
    PerformanceRecorded: performance.on_performance_recorded,  # 未履行 reopens a resolved or closed case
    RiskChanged: case_changes.on_risk_changed,
    CaseReclassified: case_changes.on_reclassified,
    FeedbackReceived: lifecycle.on_feedback_received,
    CaseReopenRequested: lifecycle.on_reopen_requested,
    # its own assignment, once committed: the forces' co-handling tasks are opened off the routing hot path
    # and a red case's default 包案领导
    CaseAssigned: (tasks.on_case_assigned, leaders.on_case_assigned),
}

_OWN = "routing's own fact: its state changed in the transaction that published it"
_ORG = "routing owns the org and the calendar: it publishes these and does not subscribe to org-events"

IGNORED: dict[type[Event], str] = {
    CaseAssigneeSet: _OWN,
    CaseLeaderSet: _OWN,
    TaskForceSet: _OWN,
    TaskForcePlanDue: _OWN,
    CaseAccepted: _OWN,
    CaseReturned: _OWN,
    CaseExtensionRequested: _OWN,
    CaseExtensionRejected: _OWN,
    CaseExtended: _OWN,
    CaseSuspended: _OWN,
    CaseResumed: _OWN,
    CaseEscalated: _OWN,
    CaseOverdue: _OWN,
    CaseResolved: _OWN,
    CaseReopened: _OWN,
    CaseClosed: _OWN,
    CaseAssignmentCancelled: _OWN,
    CohandlingTaskOpened: _OWN,
    CohandlingTaskAccepted: _OWN,
    CohandlingTaskCompleted: _OWN,
    CohandlingTaskClosed: _OWN,
    CohandlingTaskOverdue: _OWN,
    LookbackScheduled: _OWN,
    LookbackDue: _OWN,
    LookbackStable: _OWN,
    LookbackRecurred: _OWN,
    CaseUrged: "催办 changes no assignment: notify tells the handling unit; the clocks run as they were",
    UnitUpserted: _ORG,
    MemberUpserted: _ORG,
    CalendarChanged: _ORG,
    NotificationDelivered: "delivery outcomes change nothing in routing (not subscribed to notification-events)",
    NotificationFailed: "delivery outcomes change nothing in routing (not subscribed to notification-events)",
    HotspotAlert: "an analytical alert routes no case (not subscribed to alert-events)",
    SessionScheduled: "a 调解 session is part of the case file (intake); it moves no assignment or clock",
    AgreementSigned: "a 协议书 is the case file's document: the outcome routing keeps is set by resolve",
    JudicialConfirmationRecorded: "司法确认 is the case file's record; it moves no assignment",
}
