"""The org's units (from routing's ``fq.org.unit.upserted.v1``): the names and paths scopes are resolved by."""

from __future__ import annotations

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.store import units
from shared.bus.handlers import EventContext
from shared.events import UnitUpserted


async def on_unit_upserted(ctx: EventContext[AnalyticsDeps], event: UnitUpserted) -> None:
    await units.upsert(ctx.session, event)
