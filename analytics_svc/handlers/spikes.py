"""Spikes (分析研判): for each (grid, top category, day) a batch's cases just entered, the day's count against the
baseline; a spike is recorded once and published as ``fq.alert.hotspot.v1`` (outbox row, same transaction)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain import spikes
from analytics_svc.domain.fold import Row
from analytics_svc.store import spikes as spike_store
from shared.bus.outbox import add_event


async def check_spikes(session: AsyncSession, cases: list[Row], rule: spikes.SpikeRule, source: str) -> None:
    groups = spikes.groups(cases)
    if not groups:
        return
    keys = list(groups)
    starts = [spikes.day_start(day) for _, _, day in keys]
    for i, day_start, count, base in await spike_store.counts(session, keys, starts, rule.baseline_days):
        baseline = rule.baseline(base)
        if not rule.is_spike(count, baseline):
            continue
        alert = spikes.alert(keys[i], groups[keys[i]], day_start, count, baseline, cases)
        if await spike_store.insert_alert(session, keys[i], alert):
            await add_event(session, alert, source=source)
