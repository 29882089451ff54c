"""What analytics' handlers and routes need, built once in ``app.create_app``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from analytics_svc.settings import AnalyticsSettings
from shared.bus.pending import PendingKind
from shared.clock import Clock
from shared.events import Event
from shared.runtime import app_deps


@dataclass(frozen=True)
class AnalyticsDeps:
    settings: AnalyticsSettings
    source: str  # the CloudEvents source of the alerts
    clock: Clock
    # the transaction's case events, folded and written once before its commit (``handlers.facts.fact_batch``)
    facts: PendingKind[Event]


Deps = Annotated[AnalyticsDeps, Depends(app_deps)]
