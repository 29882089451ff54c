"""Notify's event map: every event it consumes and the handler that applies it (``CONSUMERS``), and why it ignores
every other event type of the catalog (``IGNORED``; ``tests/contracts/test_lifecycle.py`` keeps the two complete)."""

from __future__ import annotations

from notify_svc.deps import NotifyDeps
from notify_svc.handlers import cases, lookback, notifications, org, people, performance, reminders, sessions
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

CONSUMERS: Consumers[NotifyDeps] = {
    MemberUpserted: org.on_member_upserted,
    UnitUpserted: org.on_unit_upserted,
    CalendarChanged: reminders.on_calendar_changed,
    CaseReceived: cases.on_case_received,
    CaseMerged: reminders.on_case_merged,
    CaseAssigned: cases.on_case_assigned,
    CaseAssigneeSet: cases.on_case_assignee_set,
    CaseAccepted: reminders.on_case_accepted,
    CaseReturned: reminders.on_case_returned,
    CaseExtensionRequested: cases.on_case_extension_requested,
    CaseExtended: reminders.on_case_extended,
    CaseExtensionRejected: cases.on_case_extension_rejected,
    CaseSuspended: reminders.on_case_suspended,
    CaseResumed: reminders.on_case_resumed,
    CaseEscalated: cases.on_case_escalated,
    CaseOverdue: cases.on_case_overdue,
    CaseResolved: cases.on_case_resolved,
    CaseClosed: reminders.on_case_closed,
    CaseAssignmentCancelled: reminders.on_assignment_cancelled,
    CaseUrged: cases.on_case_urged,
    RiskChanged: cases.on_risk_changed,
    HotspotAlert: notifications.on_hotspot,
    SessionScheduled: sessions.on_session_scheduled,
    LookbackDue: lookback.on_lookback_due,
    LookbackRecurred: lookback.on_lookback_recurred,
    AgreementSigned: performance.on_agreement_signed,
    PerformanceRecorded: performance.on_performance_recorded,
    CaseLeaderSet: people.on_case_leader_set,
    CohandlingTaskOpened: people.on_cohandling_task_opened,
    CohandlingTaskOverdue: people.on_cohandling_task_overdue,
    TaskForcePlanDue: people.on_task_force_plan_due,
}

_OWN = "notify's own delivery outcome (not subscribed to notification-events)"

IGNORED: dict[type[Event], str] = {
    CohandlingTaskAccepted: "the lead unit reads the task's state (GET /api/v1/assignments/{id}/tasks); nobody is told",
    CohandlingTaskCompleted: "the lead unit reads the task's report in routing; nobody is told",
    CohandlingTaskClosed: "closed by the lead unit itself; nobody else is told",
    CaseReclassified: "a new category notifies nobody; if routing re-routes the case, its escalated and assigned "
                      "events notify the units",
    CaseReopened: "the fq.case.assigned.v1 that follows (cause reopened) cancels the old reminders, schedules the "
                  "new ones and notifies the unit",
    CaseReopenRequested: "a request to routing; routing's fq.case.reopened.v1 and fq.case.assigned.v1 follow if it "
                         "reopens",
    FeedbackReceived: "the answer closes or reopens the case in routing; its closed or reopened/assigned events "
                      "stop or start the reminders (a survey answered here is already marked answered)",
    LookbackScheduled: "a 回头看 is done later: the unit is told when it falls due (fq.case.lookback_due.v1)",
    LookbackStable: "稳定: the case stays closed, nobody needs telling",
    JudicialConfirmationRecorded: "司法确认 is recorded by the staff who applied for it; nobody else is told",
    NotificationDelivered: _OWN,
    NotificationFailed: _OWN,
    TaskForceSet: "the 专班's people are routing's: members see the case in my/work; only the plan's deadline "
                  "(fq.case.task_force_plan_due.v1) notifies",
}
