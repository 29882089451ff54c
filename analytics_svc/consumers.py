"""Analytics' event map: every case event the fold knows goes to the projection's batch; the org's units."""

from __future__ import annotations

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.handlers import facts, units
from shared.bus.handlers import Consumers
from shared.events import (
    CaseAccepted,
    CaseAssigned,
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
    FeedbackReceived,
    RiskChanged,
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
    UnitUpserted: units.on_unit_upserted,
}
