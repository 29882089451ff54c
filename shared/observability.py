"""Structured JSON logs (structlog) and Prometheus metrics, one registry per service instance."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response


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
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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

    def http_middleware(self) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
        async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            structlog.contextvars.clear_contextvars()  # handlers bind case_id; nothing leaks between requests
            start = time.perf_counter()
            status = 500
            try:
                response = await call_next(request)
                status = response.status_code
                return response
            finally:
                route = request.scope.get("route")
                path = getattr(route, "path", "unmatched")
                self.http_requests.labels(request.method, path, str(status)).inc()
                self.http_latency.labels(request.method, path).observe(time.perf_counter() - start)

        return middleware
