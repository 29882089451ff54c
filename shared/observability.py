"""Structured JSON logs (structlog) and Prometheus metrics, one registry per service instance."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Hashable

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    """JSON lines on stdout; ``case_id``/``ce_id`` bound with ``structlog.contextvars`` appear on every line."""
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json_logs else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class LogLimiter:
    """At most one log line per key (e.g. error class + route) every ``window`` seconds.

    ``allow(key)`` answers ``(True, suppressed)`` when a line may be written, with how many were held back since
    the last one (to log as ``suppressed=N``), and ``(False, 0)`` otherwise. An outage repeats one error thousands
    of times a minute; the log keeps one line per window with the count instead of a traceback each time.
    """

    def __init__(self, window: float = 10.0, max_keys: int = 1000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._last: dict[Hashable, float] = {}
        self._suppressed: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: Hashable) -> tuple[bool, int]:
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.window:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return False, 0
            if len(self._last) >= self.max_keys:  # bounded memory: forget the stalest keys
                for old in sorted(self._last, key=self._last.__getitem__)[: self.max_keys // 2]:
                    self._last.pop(old, None)
                    self._suppressed.pop(old, None)
            self._last[key] = now
            return True, self._suppressed.pop(key, 0)


class RepeatFilter(logging.Filter):
    """For the standard-library loggers (uvicorn, SQLAlchemy's pool, aiokafka): a warning or error repeated with the
    same logger, message template and exception type passes once per window; the next one that passes says how
    many were dropped."""

    def __init__(self, window: float = 10.0) -> None:
        super().__init__()
        self.limiter = LogLimiter(window)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        ok, suppressed = self.limiter.allow((record.name, record.levelno, str(record.msg), exc_type))
        if ok and suppressed:
            record.msg = f"{record.msg} [suppressed {suppressed} identical in the last {self.limiter.window:g}s]"
        return ok


class Metrics:
    """All metrics of one service instance, in its own registry (tests run several services in one process)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "fq_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "fq_http_request_seconds", "HTTP request latency", ["method", "route"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.outbox_backlog = Gauge("fq_outbox_backlog", "Unpublished outbox rows", registry=r)
        self.outbox_oldest_age = Gauge(
            "fq_outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox row", registry=r
        )
        self.outbox_published = Counter("fq_outbox_published_total", "Events published", ["topic"], registry=r)
        self.outbox_republished = Counter(
            "fq_outbox_republish_total", "Times retained rows were re-published (broker amnesia)", registry=r
        )
        self.relay_leader = Gauge("fq_outbox_relay_leader", "1 if this instance holds the relay lock", registry=r)
        self.consumer_lag = Gauge(
            "fq_consumer_lag", "Messages behind the partition end", ["consumer", "topic", "partition"], registry=r
        )
        self.consumed = Counter(
            "fq_consumer_events_total", "Events consumed", ["consumer", "ce_type", "result"], registry=r
        )
        self.dead_lettered = Counter(
            "fq_consumer_dead_lettered_total", "Events sent to the DLQ", ["consumer", "topic"], registry=r
        )
        self.consumer_degraded = Gauge(
            "fq_consumer_degraded", "1 while the consumer waits out a database or broker failure", ["consumer"],
            registry=r,
        )
        self.consumer_infra_retries = Counter(
            "fq_consumer_infra_retries_total",
            "Batches put back after a database or broker failure (retried without limit, never dead-lettered)",
            ["consumer"], registry=r,
        )
        self.dlq_messages = Gauge(
            "fq_dlq_messages", "Dead letters waiting in a DLQ topic (not yet re-driven)", ["topic"], registry=r
        )


class MetricsMiddleware:
    """Counts and times every request by route template (a plain ASGI middleware: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()  # handlers bind case_id; nothing leaks between requests
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope.get("method", "")
            self.metrics.http_requests.labels(method, path, str(status)).inc()
            self.metrics.http_latency.labels(method, path).observe(time.perf_counter() - start)
