"""Delivery policy: retry backoff, quiet hours, rate limits (pure, no I/O)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from shared.clock import SHANGHAI


def backoff(attempts: int, base_seconds: float, max_seconds: float, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter after ``attempts`` failed tries: base·2^(n-1), ±25 %, capped."""
    delay = min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds)
    jitter = (rng or random).uniform(0.75, 1.25)
    return timedelta(seconds=min(delay * jitter, max_seconds))


def after_quiet_hours(at: datetime, start: time, end: time) -> datetime:
    """``at`` if it is outside the quiet hours (Asia/Shanghai), else the end of the quiet period (e.g. 08:00)."""
    local = at.astimezone(SHANGHAI)
    t = local.time()
    quiet = (start <= t or t < end) if start > end else (start <= t < end)
    if not quiet:
        return at
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=SHANGHAI).astimezone(at.tzinfo)
