"""The projection: case events folded into fact rows, once per transaction, and the rollups kept by increments.

The idempotent consumer applies a partition's messages in one transaction (inbox rows + handler effects). The case
handler only queues the event (``shared.bus.pending``); just before that transaction commits, the batch's fact rows
are loaded in one query per table, folded in memory (``domain.fold.apply``, in arrival order, so per case in event
order), written back with one multi-row upsert per table, and the rollup rows they contribute to are changed by
the difference (``store.increments``). One round trip per table per batch instead of one per event is what lets
the projection catch up fast after a replay.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.domain import fold, increments
from analytics_svc.domain.spikes import SpikeRule
from analytics_svc.handlers.spikes import check_spikes
from analytics_svc.settings import AnalyticsSettings
from analytics_svc.store import facts
from analytics_svc.store import increments as rollup_increments
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.events import Event


async def on_case_event(ctx: EventContext[AnalyticsDeps], event: Event) -> None:
    """Every case event the fold knows: queued for the transaction's batch."""
    pending.queue(ctx.session, ctx.deps.facts, event)


def fact_batch(settings: AnalyticsSettings, source: str) -> pending.PendingKind[Event]:
    """The pending kind of a service's case events: its writer folds and writes them (``apply_batch``)."""

    async def write(session: AsyncSession, events: list[Event]) -> None:
        await apply_batch(session, events, settings, source)

    return pending.PendingKind("analytics.facts", write)


async def apply_batch(session: AsyncSession, events: list[Event], settings: AnalyticsSettings,
                      source: str) -> fold.Store:
    """Fold ``events`` (in order) into their fact rows and write them, the rollups' increments and any spike alerts,
    in the caller's transaction (never commits). The consumer calls it through ``fact_batch``; the bench and the
    increments test call it with sessions of their own."""
    case_ids = list({e.case_id for e in events})  # type: ignore[attr-defined]
    assignment_ids = list({a for e in events for a in fold.assignment_ids(e)})
    store = await facts.load(session, case_ids, assignment_ids, fold.merged_cases(events))
    # the fold changes rows in place: their contributions before it
    before: dict[Any, list[increments.Contribution]] = {
        i: increments.case_contributions(r) for i, r in store.cases.items()}
    before_assignments: dict[Any, list[increments.Contribution]] = {
        i: increments.assignment_contributions(r) for i, r in store.assignments.items()}
    for e in events:
        fold.apply(store, e)
    await facts.save(session, store)
    changes = increments.batch_increments(before, before_assignments, store.cases, store.assignments,
                                          store.dirty_cases, store.dirty_assignments)
    await rollup_increments.apply(session, changes)
    if settings.emit_alerts and store.first_assignments:
        rule = SpikeRule(settings.hotspot_min_count, settings.hotspot_ratio, settings.hotspot_baseline_days)
        await check_spikes(session, store.first_assignments, rule, source)
    return store
