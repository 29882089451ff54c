"""A sliding-window rate limiter kept in process memory (per replica), for public endpoints, and the client
address it is keyed by."""

from __future__ import annotations

import functools
import time
from collections import deque
from typing import Any

from starlette.requests import Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


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


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    return None


@functools.lru_cache(maxsize=8)
def _proxy_headers(trusted: str) -> ProxyHeadersMiddleware:
    return ProxyHeadersMiddleware(_nothing, trusted_hosts=trusted)


async def client_address(request: Request) -> str:
    """The address a request comes from: ``X-Forwarded-For`` counts only when the connection comes from one of the
    proxies in the ``forwarded_allow_ips`` setting (none by default), read by uvicorn's own rule, so an app run
    in-process (tests) keys its limits exactly as behind ``uvicorn --forwarded-allow-ips`` (the stack runner and
    the container pass the same setting; an address uvicorn already resolved resolves to itself again)."""
    client = request.scope.get("client")
    trusted = str(getattr(request.app.state.settings, "forwarded_allow_ips", "") or "").strip()
    if trusted:
        scope = {"type": request.scope["type"], "client": client, "headers": request.scope.get("headers", [])}
        await _proxy_headers(trusted)(scope, _nothing, _nothing)  # type: ignore[arg-type]
        client = scope["client"]
    return str(client[0]) if client else "unknown"
