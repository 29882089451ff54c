"""Routing handlers: one function per command or event. The caller owns the transaction.

The org handlers live in ``routing_svc.org``, the rules and calendar in ``routing_svc.rules``, and the
assignment workflow (routing a received case, every action on an assignment, the scheduler's effects) in
``routing_svc.workflow``; this module holds the dependencies they share and names the entry points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routing_svc import workflow
from routing_svc.org import UnitCache, import_org
from routing_svc.rules import CalendarCache, RulesCache
from shared.clock import Clock
from shared.crypto import Sealer

__all__ = ["RoutingDeps", "UnitCache", "import_org"]


@dataclass
class RoutingDeps:
    clock: Clock
    pii: Sealer  # members' contact data at rest
    transport: Sealer  # opens the address sealed by intake
    source: str
    close_after_days: int = 5  # 销号 when no follow-up answer came within this many working days of resolution
    followup_review_days: int = 30  # followup track: the review date the accepted event carries (no hard deadline)
    units: UnitCache = field(default_factory=lambda: UnitCache())
    rules: RulesCache = field(default_factory=lambda: RulesCache())
    calendar: CalendarCache = field(default_factory=lambda: CalendarCache())


# --- events and assignment commands: the workflow ------------------------------------------------------

on_case_received = workflow.on_case_received
on_feedback_received = workflow.on_feedback_received
on_reopen_requested = workflow.on_reopen_requested
get_assignment = workflow.get_assignment
accept = workflow.accept
resolve = workflow.resolve
