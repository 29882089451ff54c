"""Service bootstrap: builds engine, bus and verifier from settings and wires them into a FastAPI app.

Nothing here runs at import time; ``create_service_app`` is called by each service's ``app.create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import TokenVerifier
from shared.bus import pending
from shared.bus.consumer import ConsumerSettings, EventConsumer, Handler, Hook
from shared.bus.dlq import pending_dead_letters
from shared.bus.handlers import bind
from shared.bus.outbox import OutboxRelay, RelaySettings, outbox_stats
from shared.bus.tables import notify_channel
from shared.bus.topics import broker_reachable
from shared.bus.wake import OutboxWaker
from shared.clock import Clock
from shared.db import asyncpg_dsn, make_engine, make_sessionmaker
from shared.events import Event
from shared.infra import error_class
from shared.loops import BackgroundLoop
from shared.observability import Metrics, MetricsMiddleware, configure_access_log, configure_logging
from shared.openapi import document_operations, merge_examples, offline_docs, openapi_url, operation_id, ops_examples
from shared.problems import install_problem_handlers
from shared.settings import ServiceSettings
from shared.tracing import INSTRUMENTATION, instrument_app, provider_from_env

log = structlog.get_logger(__name__)

# the prefix of a /readyz check that is not ok but does not take the service out of a load balancer
DEGRADED = "degraded: "


@dataclass
class ConsumerOptions:
    """How a service consumes, beyond the shared consumer settings."""

    # the consumer group; a function of the runtime when it is decided at start (analytics' epoch); default
    # ``<name>-svc``
    group: str | Callable[[ServiceRuntime], Awaitable[str]] | None = None
    max_records: int | None = None
    concurrent_partitions: bool = False


@dataclass
class ServiceSpec:
    name: str
    schema: str
    title: str
    description: str
    produces: Sequence[str]
    consumes: Sequence[str] = ()
    # the event map (``consumers.py``): event class → handler(s) taking ``EventContext[deps]`` and the event
    consumers: Mapping[type[Event], Any] = field(default_factory=dict)
    # (legacy, being replaced by ``consumers``) ce_type → ``(session, event, envelope)`` callables
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    deps: Any = None  # the service's deps dataclass: ``app.state.deps``, the handlers' ``ctx.deps``
    routers: Sequence[APIRouter] = ()
    consumer: ConsumerOptions = field(default_factory=ConsumerOptions)
    # background loops, built once the runtime exists (they take its sessions); started after the relay and
    # consumer, stopped before them; their states show in /readyz details
    loops: Callable[[ServiceRuntime], Sequence[BackgroundLoop]] | None = None
    # resources with a lifetime of the app (a second pool, a start-up publication): entered in order after the
    # runtime started, exited in reverse before it stops
    resources: Sequence[Callable[[ServiceRuntime], AbstractAsyncContextManager[Any]]] = ()
    # (legacy, being replaced by ``shared.bus.pending``) run in the consumer's transaction before its commit
    before_commit: Callable[[AsyncSession], Awaitable[None]] | None = None
    # extra /readyz details that do not decide readiness (e.g. routing's calendar gap): name → "ok" or a warning
    readiness_details: Callable[[ServiceRuntime], Awaitable[dict[str, str]]] | None = None
    # true for a service whose HTTP API cannot answer without the broker: /readyz then fails while it is
    # unreachable. None of the four does (their routes read PostgreSQL and write through the outbox): they stay
    # ready with the broker ``degraded``
    needs_broker_to_serve: bool = False
    # the document's examples (``<service>/examples.py``): by schema name; inline ones by operation id → where
    examples: Mapping[str, Any] = field(default_factory=dict)
    operation_examples: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.source_for(self.name)

    @staticmethod
    def source_for(name: str) -> str:
        """The CloudEvents ``source`` of a service's events."""
        return f"/fengqiao/{name}"


class ServiceRuntime:
    def __init__(self, spec: ServiceSpec, settings: ServiceSettings, *, after_db_commit: Hook | None = None,
                 run_relay: bool | None = None, run_consumer: bool | None = None,
                 clock: Clock | None = None, tracer_provider: TracerProvider | None = None) -> None:
        """``run_relay`` / ``run_consumer`` left out: the settings decide (``<PREFIX>RUN_RELAY``, ``RUN_CONSUMER``).
        ``tracer_provider`` left out: the ``OTEL_*`` settings decide (``shared.tracing``; none: tracing off)."""
        run_relay = settings.run_relay if run_relay is None else run_relay
        run_consumer = settings.run_consumer if run_consumer is None else run_consumer
        self.spec = spec
        self.settings = settings
        self.clock = clock or Clock()
        self.metrics = Metrics(spec.name)
        self.engine = make_engine(settings.database_url, spec.schema, settings.db_pool_size)
        self.verifier = TokenVerifier(settings)
        self.tracer_provider = tracer_provider or provider_from_env(spec.name)
        tracer = self.tracer_provider.get_tracer(INSTRUMENTATION) if self.tracer_provider else None
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self.loops: list[BackgroundLoop] = []
        self.state: dict[str, Any] = {}  # what ``resources`` made (e.g. intake's registration pool)
        if run_relay and spec.produces:
            self.relay = OutboxRelay(
                dsn=asyncpg_dsn(settings.database_url), schema=spec.schema,
                bootstrap=settings.kafka_bootstrap_servers, topics=spec.produces, metrics=self.metrics,
                settings=RelaySettings(
                    batch_size=settings.outbox_batch_size, poll_seconds=settings.outbox_poll_seconds,
                    retention_hours=settings.outbox_retention_hours,
                    health_check_seconds=settings.outbox_health_check_seconds,
                    partitions=settings.kafka_topic_partitions,
                    replication_factor=settings.kafka_replication_factor,
                ),
                tracer=tracer,
            )
        # every writer commits without NOTIFY; its session wakes the relay after the commit (shared.bus.pending)
        self.waker = OutboxWaker(self.relay, self._notify, notify_channel(spec.schema))
        self.sessionmaker = make_sessionmaker(self.engine, info={"schema": spec.schema, pending.WAKER: self.waker})
        pending.guard_session(self.sessionmaker)
        handlers = {**spec.handlers, **bind(spec.consumers, spec.deps)}
        if run_consumer and handlers:
            options = spec.consumer
            self.consumer = EventConsumer(
                name=options.group if isinstance(options.group, str) else f"{spec.name}-svc",
                topics=spec.consumes, handlers=handlers,
                sessionmaker=self.sessionmaker, schema=spec.schema,
                bootstrap=settings.kafka_bootstrap_servers, metrics=self.metrics,
                after_db_commit=after_db_commit, before_commit=self._before_commit, tracer=tracer,
                settings=ConsumerSettings(
                    max_attempts=settings.consumer_max_attempts,
                    backoff_seconds=settings.consumer_backoff_seconds,
                    backoff_max_seconds=settings.consumer_backoff_max_seconds,
                    partitions=settings.kafka_topic_partitions,
                    replication_factor=settings.kafka_replication_factor,
                    metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
                    session_timeout_ms=settings.consumer_session_timeout_ms,
                    batch_wait_ms=settings.consumer_batch_wait_ms,
                    concurrent_partitions=options.concurrent_partitions,
                    **({"max_records": options.max_records} if options.max_records else {}),
                ),
            )
        if spec.loops is not None:
            self.loops = list(spec.loops(self))
        self._resources = AsyncExitStack()
        # dead letters waiting per DLQ topic of what this service consumes: refreshed at most every
        # DLQ_REFRESH_SECONDS in the background, the last known counts answered meanwhile
        self._dlq_counts: dict[str, int] | None = None
        self._dlq_error: str | None = None
        self._dlq_at = 0.0
        self._dlq_task: asyncio.Task[None] | None = None

    async def _before_commit(self, session: AsyncSession) -> None:
        if self.spec.before_commit is not None:
            await self.spec.before_commit(session)
        await pending.flush(session)

    async def _notify(self, channel: str) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_notify(:ch, '')"), {"ch": channel})
            await conn.commit()

    DLQ_REFRESH_SECONDS = 10.0

    @property
    def source(self) -> str:
        return self.spec.source

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def start(self) -> None:
        group = self.spec.consumer.group
        if self.consumer is not None and callable(group):
            self.consumer.name = await group(self)
        self.waker.start()
        if self.relay:
            await self.relay.start()
        if self.consumer:
            await self.consumer.start()
        for make in self.spec.resources:
            await self._resources.enter_async_context(make(self))
        for loop in self.loops:
            await loop.start()

    async def stop(self) -> None:
        if self._dlq_task is not None and not self._dlq_task.done():
            self._dlq_task.cancel()
            with contextlib.suppress(BaseException):
                await self._dlq_task
        for loop in reversed(self.loops):
            await loop.stop()
        await self._resources.aclose()
        if self.consumer:
            await self.consumer.stop()
        if self.relay:
            await self.relay.stop()
        await self.waker.stop()
        await self.engine.dispose()
        if self.tracer_provider is not None:
            await asyncio.to_thread(self.tracer_provider.shutdown)  # exports what is left

    def loop_details(self) -> dict[str, str]:
        return {f"loop.{loop.name}": loop.status() for loop in self.loops}
    async def _refresh_dead_letters(self) -> None:
        try:
            counts = await asyncio.wait_for(
                pending_dead_letters(self.settings.kafka_bootstrap_servers, self.spec.consumes), 10)
        except Exception as exc:  # the broker is down: keep the last counts, say why they are old
            self._dlq_error = error_class(exc)
        else:
            self._dlq_counts, self._dlq_error = counts, None
            for topic, n in counts.items():
                self.metrics.dlq_messages.labels(topic).set(n)
        finally:
            self._dlq_at = time.monotonic()

    async def dead_letters(self, wait: float = 3.0) -> dict[str, int] | None:
        """Dead letters waiting per DLQ topic (last known counts; None before the first answer)."""
        if not self.spec.consumes:
            return {}
        if time.monotonic() - self._dlq_at >= self.DLQ_REFRESH_SECONDS and (
                self._dlq_task is None or self._dlq_task.done()):
            self._dlq_task = asyncio.create_task(self._refresh_dead_letters(), name=f"dlq-count-{self.spec.name}")
        if self._dlq_counts is None and self._dlq_task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._dlq_task), wait)
        return self._dlq_counts

    async def dead_letter_detail(self) -> str:
        """``ok``, or which DLQ topics hold how many letters (a /readyz detail: it never decides readiness)."""
        counts = await self.dead_letters()
        if counts is None:
            return f"unknown: {self._dlq_error or 'counting'}"
        waiting = {t: n for t, n in counts.items() if n}
        if not waiting:
            return "ok" if self._dlq_error is None else f"ok (as of the last count; now {self._dlq_error})"
        return ", ".join(f"{t}: {n} waiting (python -m services dlq list --topic {t.removesuffix('.dlq')})"
                         for t, n in sorted(waiting.items()))

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            async with self.session() as s:
                await asyncio.wait_for(s.execute(text("SELECT 1")), 3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        broker_ok = await broker_reachable(self.settings.kafka_bootstrap_servers)
        if broker_ok:
            checks["broker"] = "ok"
        elif self.spec.needs_broker_to_serve:
            checks["broker"] = "unreachable"
        else:  # the HTTP API works on: writes wait in the outbox, events are consumed when the broker is back
            checks["broker"] = f"{DEGRADED}unreachable; the outbox keeps every event until it is back"
        if self.relay is not None and self.relay.last_error:
            failing = f"failing: {self.relay.last_error[:300]}"
            checks["outbox_relay"] = failing if broker_ok else DEGRADED + failing
        if self.consumer is not None:
            if self.consumer.crashed:
                checks["consumer"] = f"stopped: {self.consumer.crashed!r}"
            elif self.consumer.degraded:  # waiting out a database or broker failure, retrying without limit
                checks["consumer"] = f"{DEGRADED}{self.consumer.last_infra_error}"
            elif self.consumer.started:
                checks["consumer"] = "ok"
            else:
                checks["consumer"] = "joining" if broker_ok else f"{DEGRADED}joining; the broker is unreachable"
        return checks


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]


async def app_deps(request: Request) -> Any:
    """The service's deps (``ServiceSpec.deps``), async so FastAPI does not run it in a thread; each service's
    ``deps.py`` types it:
    ``Deps = Annotated[RoutingDeps, Depends(app_deps)]``."""
    return request.app.state.deps


def create_service_app(spec: ServiceSpec, settings: ServiceSettings, **runtime_kwargs: Any) -> FastAPI:
    configure_logging(settings.log_level, settings.log_json)
    configure_access_log(settings.access_log, settings.access_log_file, settings.access_log_keep_days)
    runtime = ServiceRuntime(spec, settings, **runtime_kwargs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        log.info("service_started", service=spec.name, port=settings.port)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("service_stopped", service=spec.name)

    app = FastAPI(title=spec.title, description=spec.description, version="0.1.0", lifespan=lifespan,
                  generate_unique_id_function=operation_id, docs_url=None, redoc_url=None,
                  openapi_url=openapi_url(spec.name))
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.deps = spec.deps
    install_problem_handlers(app)
    if settings.cors_origins:  # none by default: the four services sit behind one origin (deploy/README.md)
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["*"], allow_headers=["*"], expose_headers=["ETag", "Location",
                                                                                   "Retry-After"])
    offline_docs(app, spec.name)
    app.add_middleware(MetricsMiddleware, metrics=runtime.metrics, service=spec.name)
    if runtime.tracer_provider is not None:
        instrument_app(app, runtime.tracer_provider)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        # a degraded check (the broker, a consumer or relay waiting for it) leaves the service ready: it answers
        # what it can, and the database check decides whether it can answer at all
        ready = all(v == "ok" or v.startswith(DEGRADED) for v in checks.values())
        status = ("ready" if all(v == "ok" for v in checks.values()) else "degraded") if ready else "not_ready"
        body: dict[str, Any] = {"status": status, "checks": checks}
        details: dict[str, str] = runtime.loop_details()
        if spec.consumes:
            details["dead_letters"] = await runtime.dead_letter_detail()
        if spec.readiness_details is not None:
            try:
                details.update(await spec.readiness_details(runtime))
            except Exception as exc:  # a detail never decides readiness; the database check already does
                details["error"] = type(exc).__name__
        if details:
            body["details"] = details
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)  # the Prometheus text format
    async def metrics() -> Response:
        if spec.produces:
            try:
                async with runtime.session() as s:
                    backlog, age = await asyncio.wait_for(outbox_stats(s), 2)
            except Exception:  # the database is down: the gauges keep their last values, /metrics still answers
                pass
            else:
                runtime.metrics.outbox_backlog.set(backlog)
                runtime.metrics.outbox_oldest_age.set(age)
        await runtime.dead_letters(wait=0)  # refreshes fq_dlq_messages in the background
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    for router in spec.routers:
        app.include_router(router)
    _document(app, spec.examples, {**ops_examples(spec.name), **spec.operation_examples})
    return app


def _document(app: FastAPI, examples: Mapping[str, Any], operations: Mapping[str, Mapping[str, Any]]) -> None:
    """The app's document, completed by ``shared.openapi`` (operations, then examples) once, on first request."""
    build = app.openapi
    done = False

    def openapi() -> dict[str, Any]:
        nonlocal done
        if not done:
            app.openapi_schema = merge_examples(document_operations(app, build()), examples, operations)
            done = True
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
