"""Routing bootstrap: ``uvicorn --factory routing_svc.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from routing_svc import handlers
from routing_svc.api import router
from routing_svc.handlers import RoutingDeps
from routing_svc.internal_api import internal_router
from routing_svc.org_api import router as org_router
from routing_svc.rules import CalendarCache, RulesCache, calendar_revision, publish_calendar
from routing_svc.rules_api import router as rules_router
from routing_svc.scheduler import Scheduler
from routing_svc.settings import RoutingSettings
from routing_svc.tables import SCHEMA
from shared.clock import Clock
from shared.crypto import Sealer
from shared.events import CaseReceived, FeedbackReceived, Topic
from shared.events.case import CaseReopenRequested
from shared.runtime import ServiceRuntime, ServiceSpec, create_service_app
from shared.worktime import parse_hours

MIGRATIONS = Path(__file__).parent / "migrations"


NAME = "routing"


def build_spec(deps: RoutingDeps, scheduler: Scheduler | None = None) -> ServiceSpec:
    return ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        title="Fengqiao routing",
        description="Org hierarchy, routing rules, assignments and their workflow, SLA clocks.",
        produces=[Topic.CASE, Topic.ORG],
        consumes=[Topic.CASE],
        handlers={
            CaseReceived.ce_type: partial(handlers.on_case_received, deps),  # type: ignore[dict-item]
            FeedbackReceived.ce_type: partial(handlers.on_feedback_received, deps),  # type: ignore[dict-item]
            CaseReopenRequested.ce_type: partial(handlers.on_reopen_requested, deps),  # type: ignore[dict-item]
        },
        routers=[router, org_router, rules_router, internal_router],
        readiness_details=partial(_readiness_details, deps, scheduler),
    )


async def _readiness_details(deps: RoutingDeps, scheduler: Scheduler | None, runtime: ServiceRuntime
                             ) -> dict[str, str]:
    """The calendar gap (a year in use without an official calendar) and the deadline scheduler's state show
    here; they do not fail readiness."""
    async with runtime.session() as session:
        await deps.calendar.get(session)
        await deps.rules.get(session)
    details = {"calendar": deps.calendar.gap_detail(), "rules_version": str(deps.rules.version)}
    if scheduler is not None:
        details["scheduler"] = scheduler.status()
    return details


def create_app(settings: RoutingSettings | None = None, *, clock: Clock | None = None,
               **runtime_kwargs: Any) -> FastAPI:
    settings = settings or RoutingSettings()
    clock = clock or Clock()
    deps = RoutingDeps(
        clock=clock, pii=Sealer.single(settings.pii_key), transport=Sealer.single(settings.pii_transport_key, "t1"),
        source=ServiceSpec.source_for(NAME), close_after_days=settings.close_after_days,
        followup_review_days=settings.followup_review_days,
        rules=RulesCache(check_seconds=settings.rules_check_seconds),
        calendar=CalendarCache(parse_hours(settings.work_hours), clock, check_seconds=settings.rules_check_seconds),
    )
    runtime: list[ServiceRuntime] = []  # the scheduler's sessions come from the runtime built below
    scheduler = Scheduler(deps, lambda: runtime[0].session(), interval=settings.scheduler_interval_seconds,
                          batch_size=settings.scheduler_batch_size, enabled=settings.scheduler_enabled)
    app = create_service_app(build_spec(deps, scheduler), settings, clock=clock, **runtime_kwargs)
    runtime.append(app.state.runtime)
    app.state.deps = deps
    deps.calendar.bind_metrics(app.state.runtime.metrics.registry)
    scheduler.bind_metrics(app.state.runtime.metrics.registry)
    app.state.scheduler = scheduler
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            await _publish_calendar_at_start(app.state.runtime, deps)
            if settings.scheduler_enabled:
                await scheduler.start()
            try:
                yield
            finally:
                if settings.scheduler_enabled:
                    await scheduler.stop()

    app.router.lifespan_context = lifespan
    return app


async def _publish_calendar_at_start(runtime: ServiceRuntime, deps: RoutingDeps) -> None:
    """Once an admin changed the calendar, every start publishes it again: a notify that missed it (a calendar
    changed before fq.org.calendar_changed.v1 existed, a topic lost with a broker's data) catches up. Notify keeps
    only a newer revision, so a repeat costs one event."""
    async with runtime.session() as session, session.begin():
        if await calendar_revision(session):
            await publish_calendar(session, deps.source)
