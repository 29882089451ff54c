"""Structured JSON logs (structlog) and Prometheus metrics, one registry per service instance."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import threading
import time
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

import structlog
from opentelemetry import trace
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
    # httpx logs every request's full URL at INFO: a robot webhook's access_token, a signed query string
    for noisy in ("aiokafka", "kafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


ACCESS_LOGGER = "fq.access"
access_log = logging.getLogger(ACCESS_LOGGER)


def configure_access_log(enabled: bool = True, file: str = "", keep_days: int = 190) -> None:
    """The access log: one JSON line per request on the ``fq.access`` logger (``AccessLog``), on stdout, or with
    ``file`` in that file rotated at midnight UTC and kept ``keep_days`` days (the 网络安全法's six months: 190)."""
    access_log.propagate = False
    access_log.setLevel(logging.INFO if enabled else logging.CRITICAL + 1)
    for old in list(access_log.handlers):
        access_log.removeHandler(old)
        old.close()
    handler: logging.Handler = (
        logging.handlers.TimedRotatingFileHandler(file, when="midnight", backupCount=keep_days, utc=True,
                                                  encoding="utf-8")
        if file else logging.StreamHandler(sys.stdout))
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.addHandler(handler)


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


# requests left out of the access log: the probes and the scrapes (not a person's access)
_NOT_ACCESS = frozenset({"/healthz", "/readyz", "/metrics"})
# where ``shared.auth.current_principal`` leaves the caller for the access log (in the request's state)
PRINCIPAL_STATE = "fq_principal"


class MetricsMiddleware:
    """Counts and times every request by route template, and writes its access-log line (a plain ASGI middleware:
    no per-request task).

    The access line holds the method, the route template (never the path's values or the query string: they may
    carry a name, a phone number or a token), the status, the duration, the caller's token subject and unit, and
    the trace id when tracing is on."""

    def __init__(self, app: ASGIApp, metrics: Metrics, service: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.service = service or metrics.service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()  # handlers bind case_id; nothing leaks between requests
        state = scope.setdefault("state", {})  # shared with the request (shared.auth puts the caller there)
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
            elapsed = time.perf_counter() - start
            self.metrics.http_requests.labels(method, path, str(status)).inc()
            self.metrics.http_latency.labels(method, path).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO) and scope.get("path") not in _NOT_ACCESS:
                self._access(method, path, status, elapsed, state.get(PRINCIPAL_STATE))

    def _access(self, method: str, route: str, status: int, elapsed: float, principal: Any) -> None:
        line: dict[str, Any] = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "logger": ACCESS_LOGGER,
            "service": self.service, "method": method, "route": route, "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "caller": getattr(principal, "sub", None), "unit": getattr(principal, "unit_id", None),
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            line["trace_id"] = f"{span_context.trace_id:032x}"
        access_log.info(json.dumps(line, ensure_ascii=False))
