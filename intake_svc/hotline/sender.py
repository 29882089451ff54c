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
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.hotline import handlers, signing
from intake_svc.hotline.handlers import HotlineDeps
from intake_svc.hotline.tables import CallbackStatus, HotlineCallback, HotlineCallbackAttempt
from intake_svc.tables import SCHEMA

log = structlog.get_logger(__name__)


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


_OWED = text(f"SELECT status, count(*) FROM {SCHEMA}.hotline_callbacks WHERE status <> 'delivered' GROUP BY status")

_DUE_HEADS = text(f"""
    SELECT id FROM (
        SELECT DISTINCT ON (client_id, order_no) id, status, next_attempt_at
        FROM {SCHEMA}.hotline_callbacks WHERE status <> 'delivered'
        ORDER BY client_id, order_no, seq
    ) heads
    WHERE status = 'pending' AND next_attempt_at <= :now
    ORDER BY next_attempt_at LIMIT :limit
""")


class CallbackSender:
    def __init__(self, deps: HotlineDeps, session_factory: Callable[[], AsyncSession], settings: SenderSettings,
                 metrics: SenderMetrics | None = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.deps = deps
        self.metrics = metrics
        self.session_factory = session_factory
        self.settings = settings
        self._client = httpx.AsyncClient(timeout=settings.timeout_seconds, transport=transport)
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hotline-callback-sender")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, self.settings.timeout_seconds + 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        purged_at = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                sent = await self.run_once()
                if loop.time() - purged_at > 60:
                    purged_at = loop.time()
                    async with self.session_factory() as session, session.begin():
                        await handlers.purge_nonces(session, self.deps)
            except Exception as exc:  # the database may be away: try again next round
                log.warning("hotline_sender_error", error=repr(exc))
                sent = 0
            if sent < self.settings.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    async def run_once(self) -> int:
        """One round: every due head-of-order callback gets one attempt. Returns how many were tried."""
        self.rounds += 1
        async with self.session_factory() as session:
            ids = [r[0] for r in (await session.execute(
                _DUE_HEADS, {"now": self.deps.clock.now(), "limit": self.settings.batch_size})).all()]
            if self.metrics is not None:
                owed = dict((await session.execute(_OWED)).all())
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
            earlier = (await session.execute(text(
                f"SELECT 1 FROM {SCHEMA}.hotline_callbacks WHERE client_id = :c AND order_no = :o AND seq < :s "
                "AND status <> 'delivered' LIMIT 1"),
                {"c": callback.client_id, "o": callback.order_no, "s": callback.seq})).first()
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
                try:
                    response = await self._client.post(client.callback_url, content=body, headers=headers)
                    status_code, answer = response.status_code, response.text[:2000]
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
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
                self._wake.set()  # the order's next callback may go now
                return
            callback.last_error = error or f"HTTP {status_code}"
            if callback.attempts >= self.settings.max_attempts:
                callback.status = CallbackStatus.FAILED
                log.warning("hotline_callback_failed", callback_id=callback.id, action=callback.action,
                            attempts=callback.attempts, error=callback.last_error)
            else:
                callback.next_attempt_at = now + backoff(self.settings, callback.attempts)
