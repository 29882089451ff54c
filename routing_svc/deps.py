"""What routing's handlers share: built once in ``app.create_app``; routes take it as ``deps: Deps``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends

from routing_svc.store.caches import CalendarCache, RulesCache, UnitCache
from shared.bus import pending
from shared.clock import Clock
from shared.crypto import Sealer
from shared.runtime import app_deps
from shared.worktime import WorkSpan


@dataclass
class RoutingDeps:
    clock: Clock
    pii: Sealer  # members' contact data at rest
    transport: Sealer  # opens the address sealed by intake
    source: str
    close_after_days: int = 5  # 销号 when no follow-up answer came within this many working days of resolution
    followup_review_days: int = 30  # followup track: the review date the accepted event carries (no hard deadline)
    cohandling_span: WorkSpan = field(default_factory=lambda: WorkSpan(days=3))  # a 协办 task's deadline
    units: UnitCache = field(default_factory=lambda: UnitCache())
    rules: RulesCache = field(default_factory=lambda: RulesCache())
    calendar: CalendarCache = field(default_factory=lambda: CalendarCache())
    # the pending kind a new assignment queues its 协办 tasks and default 包案领导 under; its writer is
    # ``handlers.follow_up.follow_up`` (given by ``app.create_app``: the handlers import the store that queues)
    follow_ups: pending.PendingKind[Any] | None = None


Deps = Annotated[RoutingDeps, Depends(app_deps)]
