"""Notify's event map: every event it consumes and the handler that applies it."""

from __future__ import annotations

from notify_svc.deps import NotifyDeps
from notify_svc.handlers import cases, notifications, org, reminders
from shared.bus.handlers import Consumers
from shared.events import (
    CalendarChanged,
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseExtensionRejected,
    CaseOverdue,
    CaseReceived,
    CaseResolved,
    CaseResumed,
    CaseSuspended,
    CaseUrged,
    HotspotAlert,
    MemberUpserted,
    RiskChanged,
    UnitUpserted,
)

CONSUMERS: Consumers[NotifyDeps] = {
    MemberUpserted: org.on_member_upserted,
    UnitUpserted: org.on_unit_upserted,
    CalendarChanged: reminders.on_calendar_changed,
    CaseReceived: cases.on_case_received,
    CaseAssigned: cases.on_case_assigned,
    CaseAccepted: reminders.on_case_accepted,
    CaseExtended: reminders.on_case_extended,
    CaseExtensionRejected: cases.on_case_extension_rejected,
    CaseSuspended: reminders.on_case_suspended,
    CaseResumed: reminders.on_case_resumed,
    CaseEscalated: cases.on_case_escalated,
    CaseOverdue: cases.on_case_overdue,
    CaseResolved: cases.on_case_resolved,
    CaseClosed: reminders.on_case_closed,
    CaseUrged: cases.on_case_urged,
    RiskChanged: cases.on_risk_changed,
    HotspotAlert: notifications.on_hotspot,
}
