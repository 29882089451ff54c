"""Intake's event map: routing's workflow events on the case file, then the 12345 adapter's callbacks owed on the
same events (run after intake's, in the same transaction)."""

from __future__ import annotations

from intake_svc.handlers import cohandling, lookback, workflow
from intake_svc.hotline.consumers import CONSUMERS as HOTLINE
from shared.bus.handlers import merge
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseExtensionRejected,
    CaseOverdue,
    CaseReopened,
    CaseResolved,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    CohandlingTaskOpened,
    LookbackRecurred,
    LookbackScheduled,
    LookbackStable,
)

CONSUMERS = merge({
    CaseAssigned: workflow.on_case_assigned,
    CaseAccepted: workflow.on_case_accepted,
    CaseResolved: workflow.on_case_resolved,
    CaseReturned: workflow.on_case_returned,
    CaseEscalated: workflow.on_case_escalated,
    CaseExtended: workflow.on_case_extended,
    CaseExtensionRejected: workflow.on_case_extension_rejected,
    CaseSuspended: workflow.on_case_suspended,
    CaseResumed: workflow.on_case_resumed,
    CaseOverdue: workflow.on_case_overdue,
    CaseReopened: workflow.on_case_reopened,
    CaseClosed: workflow.on_case_closed,
    CohandlingTaskOpened: cohandling.on_task_opened,  # the member may read the case from now on
    LookbackScheduled: lookback.on_lookback_scheduled,
    LookbackStable: lookback.on_lookback_stable,
    LookbackRecurred: lookback.on_lookback_recurred,
}, HOTLINE)
