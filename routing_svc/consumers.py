"""Routing's event map: what each consumed event does."""

from __future__ import annotations

from routing_svc.deps import RoutingDeps
from routing_svc.handlers import lifecycle, routing
from shared.bus.handlers import Consumers
from shared.events import CaseReceived, CaseReopenRequested, FeedbackReceived

CONSUMERS: Consumers[RoutingDeps] = {
    CaseReceived: routing.on_case_received,
    FeedbackReceived: lifecycle.on_feedback_received,
    CaseReopenRequested: lifecycle.on_reopen_requested,
}
