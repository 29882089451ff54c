"""The 12345 adapter's event map: the case events that owe the platform a callback (or change what it will be
owed). Merged after intake's own map (``intake_svc.consumers``): these run second, in the same transaction."""

from __future__ import annotations

from intake_svc.deps import IntakeDeps
from intake_svc.hotline.handlers import callbacks
from shared.bus.handlers import Consumers
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseEscalated,
    CaseExtensionRequested,
    CaseReopened,
    CaseResolved,
    CaseReturned,
)

CONSUMERS: Consumers[IntakeDeps] = {
    CaseAssigned: callbacks.on_case_assigned,
    CaseAccepted: callbacks.on_case_accepted,
    CaseReturned: callbacks.on_case_returned,
    CaseExtensionRequested: callbacks.on_extension_requested,
    CaseEscalated: callbacks.on_case_escalated,
    CaseResolved: callbacks.on_case_resolved,
    CaseReopened: callbacks.on_case_reopened,
}
