"""Spikes (分析研判): a grid's daily count of a top-level category well above its recent baseline.

Pure: which (grid, category, day) groups a batch's newly assigned cases entered, and whether a day's count over a
baseline is a spike. The counts come from ``analytics_svc.store.spikes``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from analytics_svc.domain.fold import Row
from shared.clock import SHANGHAI
from shared.events import HotspotAlert

ALERT_NS = uuid.UUID("6f1c2a52-5d0e-4f5e-9a39-2f1b6c0d7e11")

GroupKey = tuple[str, str, date]  # (home unit, top-level category, Asia/Shanghai day)


@dataclass(frozen=True)
class SpikeRule:
    """A day's count of at least ``ratio`` × the mean daily count over the previous ``baseline_days`` days, and at
    least ``min_count`` cases."""

    min_count: int
    ratio: float
    baseline_days: int

    def baseline(self, base: int) -> float:
        return round(base / self.baseline_days, 3)

    def is_spike(self, count: int, baseline: float) -> bool:
        return count >= self.min_count and count >= self.ratio * baseline


def groups(cases: list[Row]) -> dict[GroupKey, list[str]]:
    """The (grid, top category, day) groups the cases just entered, each with the grid's path."""
    out: dict[GroupKey, list[str]] = {}
    for c in cases:
        if c["received_at"] is None or not c["category"] or c["merged_into"] is not None:
            continue
        day = c["received_at"].astimezone(SHANGHAI).date()
        out[(c["home_unit_id"], c["category"].split(".")[0], day)] = c["home_path"]
    return out


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def alert(key: GroupKey, path: list[str], window_start: datetime, count: int, baseline: float,
          cases: list[Row]) -> HotspotAlert:
    """The alert of a spike; its id is the same for the same (unit, category, day), whoever finds it."""
    unit_id, cat, day = key
    return HotspotAlert(
        alert_id=uuid.uuid5(ALERT_NS, f"{unit_id}/{cat}/{day.isoformat()}"), unit_id=unit_id,
        unit_path=list(path), category=cat, window_start=window_start,
        window_end=window_start + timedelta(days=1), count=count, baseline=baseline,
        ratio=round(count / max(baseline, 1.0), 2),
        at=max(c["received_at"] for c in cases if c["received_at"] is not None),
    )
