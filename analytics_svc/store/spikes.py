"""Spike checks (分析研判): a batch's (grid, category, day) groups counted against their baselines in one statement,
and the alert row (once per group: the table's key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.spikes import GroupKey
from analytics_svc.tables import case_facts, hotspot_alerts
from shared.events import HotspotAlert

# per group: the day's count and the count of the ``:n`` days before, unless the group has an alert already
COUNTS = text(f"""
            SELECT g.i, g.unit_id, g.cat, g.day_start,
              (SELECT count(*) FROM {case_facts.fullname} f WHERE coalesce(f.home_unit_id, '') = g.unit_id
                 AND f.received_at >= g.day_start AND f.received_at < g.day_start + interval '1 day'
                 AND split_part(f.category, '.', 1) = g.cat AND f.merged_into IS NULL) AS cnt,
              (SELECT count(*) FROM {case_facts.fullname} f WHERE coalesce(f.home_unit_id, '') = g.unit_id
                 AND f.received_at >= g.day_start - make_interval(days => :n) AND f.received_at < g.day_start
                 AND split_part(f.category, '.', 1) = g.cat AND f.merged_into IS NULL) AS base
            FROM unnest(CAST(:units AS text[]), CAST(:cats AS text[]), CAST(:starts AS timestamptz[]))
                 WITH ORDINALITY AS g(unit_id, cat, day_start, i)
            WHERE NOT EXISTS (SELECT 1 FROM {hotspot_alerts.fullname} h
                              WHERE h.unit_id = g.unit_id AND h.category = g.cat AND h.day = g.day_start::date)
        """)


async def counts(session: AsyncSession, keys: list[GroupKey], starts: list[datetime],
                 baseline_days: int) -> list[tuple[int, datetime, int, int]]:
    """(index into ``keys``, day start, the day's count, the baseline days' count) of the groups without an alert."""
    rows = (await session.execute(COUNTS, {"n": baseline_days, "units": [k[0] for k in keys],
                                           "cats": [k[1] for k in keys], "starts": starts})).all()
    return [(i - 1, day_start, count, base) for i, _unit, _cat, day_start, count, base in rows]


async def insert_alert(session: AsyncSession, key: GroupKey, alert: HotspotAlert) -> bool:
    """Record the alert; False when the group already had one (another batch found it first)."""
    unit_id, cat, day = key
    values: dict[str, Any] = dict(
        unit_id=unit_id, category=cat, day=day, alert_id=alert.alert_id, unit_path=alert.unit_path,
        count=alert.count, baseline=alert.baseline, ratio=alert.ratio, window_start=alert.window_start,
        window_end=alert.window_end, at=alert.at)
    inserted = (await session.execute(insert(hotspot_alerts).values(**values).on_conflict_do_nothing()
                                      .returning(hotspot_alerts.c.alert_id))).first()
    return inserted is not None
