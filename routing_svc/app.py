"""Routing bootstrap: ``uvicorn --factory routing_svc.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from routing_svc.api import ROUTERS
from routing_svc.consumers import CONSUMERS
from routing_svc.deps import RoutingDeps
from routing_svc.examples import EXAMPLES, OPERATIONS
from routing_svc.handlers.follow_up import follow_up
from routing_svc.handlers.rules import publish_calendar
from routing_svc.settings import RoutingSettings
from routing_svc.store.caches import CalendarCache, RulesCache
from routing_svc.store.revisions import calendar_revision
from routing_svc.tables import SCHEMA
from routing_svc.workers.scheduler import Scheduler
from shared.bus import pending
from shared.clock import Clock
from shared.crypto import Sealer
from shared.events import Topic
from shared.loops import BackgroundLoop
from shared.runtime import ServiceRuntime, ServiceSpec, create_service_app
from shared.worktime import WorkSpan, parse_hours

MIGRATIONS = Path(__file__).parent / "migrations"


NAME = "routing"


def build_spec(deps: RoutingDeps, settings: RoutingSettings) -> ServiceSpec:
    def workers(runtime: ServiceRuntime) -> Sequence[BackgroundLoop]:
        # built with the runtime: the scheduler takes its sessions, both export to its metrics registry
        deps.calendar.bind_metrics(runtime.metrics.registry)
        return [Scheduler(deps, runtime.session, interval=settings.scheduler_interval_seconds,
                          batch_size=settings.scheduler_batch_size, enabled=settings.scheduler_enabled,
                          registry=runtime.metrics.registry)]

    @asynccontextmanager
    async def calendar_at_start(runtime: ServiceRuntime) -> AsyncIterator[None]:
        await _publish_calendar_at_start(runtime, deps)
        yield

    async def readiness_details(runtime: ServiceRuntime) -> dict[str, str]:
        """The calendar gap (a year in use without an official calendar) and the deadline scheduler's state show
        here; they do not fail readiness."""
        async with runtime.session() as session:
            await deps.calendar.get(session)
            await deps.rules.get(session)
        details = {"calendar": deps.calendar.gap_detail(), "rules_version": str(deps.rules.version)}
        details.update({loop.name: loop.status() for loop in runtime.loops})
        return details

    return ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        title="Fengqiao routing",
        description="Org hierarchy, routing rules, assignments and their workflow, SLA clocks.",
        produces=[Topic.CASE, Topic.ORG],
        consumes=[Topic.CASE],
        consumers=CONSUMERS,
        deps=deps,
        routers=ROUTERS,
        examples=EXAMPLES,
        operation_examples=OPERATIONS,
        loops=workers,
        resources=[calendar_at_start],
        readiness_details=readiness_details,
    )


def create_app(settings: RoutingSettings | None = None, *, clock: Clock | None = None,
               **runtime_kwargs: Any) -> FastAPI:
    settings = settings or RoutingSettings()
    clock = clock or Clock()
    deps = RoutingDeps(
        clock=clock, pii=Sealer.single(settings.pii_key), transport=Sealer.single(settings.pii_transport_key, "t1"),
        source=ServiceSpec.source_for(NAME), close_after_days=settings.close_after_days,
        followup_review_days=settings.followup_review_days,
        cohandling_span=WorkSpan.parse(settings.cohandling_span),
        rules=RulesCache(check_seconds=settings.rules_check_seconds),
        calendar=CalendarCache(parse_hours(settings.work_hours), clock, check_seconds=settings.rules_check_seconds),
        follow_ups=pending.PendingKind("routing.assignment_follow_up", follow_up),
    )
    app = create_service_app(build_spec(deps, settings), settings, clock=clock, **runtime_kwargs)
    app.state.scheduler = app.state.runtime.loops[0]  # tests run its pass (``tick()``) themselves
    return app


async def _publish_calendar_at_start(runtime: ServiceRuntime, deps: RoutingDeps) -> None:
    """Once an admin changed the calendar, every start publishes it again: a notify that missed it (a calendar
    changed before fq.org.calendar_changed.v1 existed, a topic lost with a broker's data) catches up. Notify keeps
    only a newer revision, so a repeat costs one event."""
    async with runtime.session() as session, pending.transaction(session):
        if await calendar_revision(session):
            await publish_calendar(session, deps.source)
