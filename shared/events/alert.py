"""Topic ``alert-events``: analytical alerts (分析研判), keyed by the alert id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.base import Event, Topic


class HotspotAlert(Event):
    topic: ClassVar[str] = Topic.ALERT
    ce_type: ClassVar[str] = "fq.alert.hotspot.v1"
    description: ClassVar[str] = (
        "A unit and category are well above their own recent baseline (a spike), found by analytics."
    )
    alert_id: uuid.UUID
    unit_id: str
    unit_path: list[str] = Field(description="ids from the root down to the unit itself")
    category: str | None = Field(default=None, description="category code or prefix; None = all categories")
    window_start: datetime
    window_end: datetime
    count: int
    baseline: float = Field(description="expected count for a window this long, from the unit's recent history")
    ratio: float
    at: datetime

    def key(self) -> str:
        return str(self.alert_id)
