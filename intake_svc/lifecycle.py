"""Why intake ignores the event types of the catalog it has no handler for (its handlers: ``app.SPEC`` and the 12345
adapter's, being moved to ``consumers.py``). ``tests/contracts/test_lifecycle.py`` keeps the decisions complete."""

from __future__ import annotations

from shared.events import (
    AgreementSigned,
    CalendarChanged,
    CaseAssigneeSet,
    CaseAssignmentCancelled,
    CaseLeaderSet,
    CaseMerged,
    CaseReceived,
    CaseReclassified,
    CaseReopenRequested,
    CaseUrged,
    CohandlingTaskAccepted,
    CohandlingTaskClosed,
    CohandlingTaskCompleted,
    CohandlingTaskOverdue,
    Event,
    FeedbackReceived,
    HotspotAlert,
    JudicialConfirmationRecorded,
    LookbackDue,
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

_OWN = "intake's own fact: the case file changed in the transaction that published it"
_COHANDLING = ("a co-handling task's progress is routing's (the member keeps reading the case it co-handled; "
               "the grant comes with fq.case.cohandling_task_opened.v1)")
_NOT_SUBSCRIBED = "intake does not subscribe to {topic}: the case file holds no {what}"

_PEOPLE = "the case file holds no staff: who answers for the case (包案领导, 专班) is routing's"

IGNORED: dict[type[Event], str] = {
    CaseReceived: _OWN,
    CaseLeaderSet: _PEOPLE,
    TaskForceSet: _PEOPLE,
    TaskForcePlanDue: _PEOPLE,
    CaseAssigneeSet: "the case file follows the handling unit, not who in it holds the case (routing's "
                     "assignment does)",
    CaseMerged: _OWN,
    CaseReclassified: _OWN,
    RiskChanged: _OWN,
    SessionScheduled: _OWN + " (a 调解 session scheduled or rescheduled: intake_svc.handlers.sessions)",
    FeedbackReceived: _OWN + " (回访 recorded by staff or the 12345 adapter; a citizen's survey answer is notify's)",
    CaseReopenRequested: _OWN + " (routing reopens; intake follows fq.case.reopened.v1)",
    CaseUrged: _OWN + " (the 12345 adapter records 催办 and publishes it for notify)",
    CaseAssignmentCancelled: "intake merged the case itself: its file already says merged (status, timeline)",
    CohandlingTaskAccepted: _COHANDLING,
    CohandlingTaskCompleted: _COHANDLING,
    CohandlingTaskClosed: _COHANDLING,
    CohandlingTaskOverdue: _COHANDLING,
    UnitUpserted: _NOT_SUBSCRIBED.format(topic="org-events", what="org data"),
    MemberUpserted: _NOT_SUBSCRIBED.format(topic="org-events", what="org data"),
    CalendarChanged: _NOT_SUBSCRIBED.format(topic="org-events", what="org data"),
    NotificationDelivered: _NOT_SUBSCRIBED.format(topic="notification-events", what="delivery outcomes"),
    NotificationFailed: _NOT_SUBSCRIBED.format(topic="notification-events", what="delivery outcomes"),
    HotspotAlert: _NOT_SUBSCRIBED.format(topic="alert-events", what="analytical alerts"),
    LookbackDue: "a 回头看 falling due changes nothing in the case file (its scheduling and result are on the "
                 "timeline); notify tells the unit",
    AgreementSigned: _OWN,
    JudicialConfirmationRecorded: _OWN,
    PerformanceRecorded: _OWN,
}
