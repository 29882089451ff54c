"""A sliding-window rate limiter kept in process memory (per replica), for public endpoints."""

from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._last_sweep = time.monotonic()

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next request would be allowed)."""
        now = time.monotonic()
        if now - self._last_sweep > self.window:
            self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False, hits[0] + self.window - now
        hits.append(now)
        return True, 0.0

    def _sweep(self, now: float) -> None:
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window}
        self._last_sweep = now
