"""The callback sender: delivers the callback outbox to the platforms, in order per order, signed.

Each round takes the first undelivered callback of every order (``seq`` order) that is due, locks it
(``FOR UPDATE SKIP LOCKED``, so replicas never send the same row at once), POSTs it signed with the client's
callback secret and an ``Idempotency-Key``, records the attempt and the platform's answer, and either marks it
delivered or schedules the next attempt with exponential backoff (by the injectable clock). After the maximum
attempts it is parked as ``failed`` — still blocking the later callbacks of its order — until an admin retries it.
Nothing is ever deleted: a callback is delivered or visible.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import structlog
from opentelemetry.trace import StatusCode, Tracer
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.hotline import signing, store
from intake_svc.hotline.deps import HotlineDeps
from intake_svc.hotline.domain import CallbackStatus
from intake_svc.hotline.handlers.orders import purge_nonces
from intake_svc.hotline.tables import HotlineCallback, HotlineCallbackAttempt
from shared.loops import BackgroundLoop
from shared.tracing import TRACEPARENT, client_span

log = structlog.get_logger(__name__)

NONCE_PURGE_SECONDS = 60.0


@dataclass
class SenderSettings:
    poll_seconds: float = 1.0
    timeout_seconds: float = 10.0
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 900.0
    max_attempts: int = 12
    batch_size: int = 50
    concurrency: int = 4


def backoff(settings: SenderSettings, attempts: int) -> timedelta:
    """Delay after the ``attempts``-th failure: base, 2×base, 4×base, … capped."""
    return timedelta(seconds=min(settings.backoff_seconds * 2 ** max(attempts - 1, 0), settings.backoff_max_seconds))


class SenderMetrics:
    """Callbacks owed (by status) and delivery attempts (by result), in the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.owed = Gauge("fq_hotline_callbacks_undelivered", "12345 callbacks not delivered yet", ["status"],
                          registry=registry)
        self.attempts = Counter("fq_hotline_callback_attempts_total", "12345 callback delivery attempts",
                                ["result"], registry=registry)


class CallbackSender(BackgroundLoop):
    """The sender's loop (``shared.loops``): a pass is ``run_once``; the nonces past replay are purged every minute."""

    name = "hotline-callbacks"

    def __init__(self, deps: HotlineDeps, session_factory: Callable[[], AsyncSession], settings: SenderSettings,
                 metrics: SenderMetrics | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 tracer: Tracer | None = None) -> None:
        super().__init__(interval=settings.poll_seconds, stop_timeout=settings.timeout_seconds + 5)
        self.deps = deps
        self.metrics = metrics
        self.session_factory = session_factory
        self.settings = settings
        self.tracer = tracer  # tracing on: each send in a client span, child of the trace the callback was owed in
        self._client = httpx.AsyncClient(timeout=settings.timeout_seconds, transport=transport)
        self._purged_at = 0.0

    async def stop(self) -> None:
        await super().stop()
        await self._client.aclose()

    async def round(self) -> bool:
        sent = await self.run_once()
        if time.monotonic() - self._purged_at > NONCE_PURGE_SECONDS:
            self._purged_at = time.monotonic()
            async with self.session_factory() as session, session.begin():
                await purge_nonces(session, self.deps)
        return sent >= self.settings.batch_size

    async def run_once(self) -> int:
        """One round: every due head-of-order callback gets one attempt. Returns how many were tried."""
        async with self.session_factory() as session:
            ids = [r[0] for r in (await session.execute(
                store.DUE_HEADS, {"now": self.deps.clock.now(), "limit": self.settings.batch_size})).all()]
            if self.metrics is not None:
                owed = dict((await session.execute(store.OWED)).all())
                for status in (CallbackStatus.PENDING, CallbackStatus.FAILED):
                    self.metrics.owed.labels(status).set(owed.get(status, 0))
        if not ids:
            return 0
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(callback_id: int) -> None:
            async with gate:
                await self._attempt(callback_id)

        await asyncio.gather(*(one(i) for i in ids))
        return len(ids)

    async def _attempt(self, callback_id: int) -> None:
        async with self.session_factory() as session, session.begin():
            callback = (await session.execute(
                select(HotlineCallback).where(HotlineCallback.id == callback_id,
                                              HotlineCallback.status == CallbackStatus.PENDING)
                .with_for_update(skip_locked=True))).scalar_one_or_none()
            if callback is None:
                return  # another replica has it, or it changed
            earlier = (await session.execute(store.EARLIER_OWED, {
                "c": callback.client_id, "o": callback.order_no, "s": callback.seq})).first()
            if earlier is not None:
                return  # in order per order: an earlier one is still owed
            client = self.deps.clients.get(callback.client_id)
            now = self.deps.clock.now()
            status_code, answer, error = None, None, None
            if client is None:
                error = f"client {callback.client_id} is no longer configured"
            else:
                body = json.dumps(self.deps.mapping(callback.client_id).callback_body(callback.payload),
                                  ensure_ascii=False, separators=(",", ":")).encode()
                parts = urlsplit(client.callback_url)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                headers = signing.signed_headers(callback.client_id, client.callback_secret, "POST", path or "/", body,
                                                 now.timestamp())
                headers[signing.IDEMPOTENCY_HEADER] = str(callback.idempotency_key)
                headers["Content-Type"] = "application/json; charset=utf-8"
                with client_span(self.tracer, callback.traceparent, f"POST 12345 callback {callback.action}", {
                        "http.request.method": "POST", "server.address": parts.hostname or "",
                        "url.path": parts.path, "fq.hotline.action": callback.action,
                        "fq.hotline.attempt": callback.attempts + 1}) as (span, traceparent):
                    if traceparent is not None:
                        headers[TRACEPARENT] = traceparent
                    try:
                        response = await self._client.post(client.callback_url, content=body, headers=headers)
                        status_code, answer = response.status_code, response.text[:2000]
                    except httpx.HTTPError as exc:
                        error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
                    if span is not None:
                        if status_code is not None:
                            span.set_attribute("http.response.status_code", status_code)
                        if status_code is None or status_code >= 300:
                            span.set_status(StatusCode.ERROR, error or f"HTTP {status_code}")
            callback.attempts += 1
            callback.last_status_code = status_code
            session.add(HotlineCallbackAttempt(callback_id=callback.id, at=now, status_code=status_code,  # type: ignore[arg-type]
                                               response=answer, error=error))
            delivered = status_code is not None and 200 <= status_code < 300
            if self.metrics is not None:
                self.metrics.attempts.labels("delivered" if delivered else "error").inc()
            if delivered:
                callback.status, callback.delivered_at, callback.last_error = CallbackStatus.DELIVERED, now, None
                log.info("hotline_callback_delivered", callback_id=callback.id, action=callback.action,
                         attempts=callback.attempts)
                self.wake()  # the order's next callback may go now
                return
            callback.last_error = error or f"HTTP {status_code}"
            if callback.attempts >= self.settings.max_attempts:
                callback.status = CallbackStatus.FAILED
                log.warning("hotline_callback_failed", callback_id=callback.id, action=callback.action,
                            attempts=callback.attempts, error=callback.last_error)
            else:
                callback.next_attempt_at = now + backoff(self.settings, callback.attempts)
