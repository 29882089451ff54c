"""Routing bootstrap: ``uvicorn --factory routing_svc.app:create_app``."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from routing_svc import handlers
from routing_svc.api import router
from routing_svc.handlers import RoutingDeps
from routing_svc.internal_api import internal_router
from routing_svc.org_api import router as org_router
from routing_svc.rules import CalendarCache, RulesCache
from routing_svc.rules_api import router as rules_router
from routing_svc.settings import RoutingSettings
from routing_svc.tables import SCHEMA
from shared.clock import Clock
from shared.crypto import Sealer
from shared.events import CaseReceived, Topic
from shared.runtime import ServiceRuntime, ServiceSpec, create_service_app
from shared.worktime import parse_hours

MIGRATIONS = Path(__file__).parent / "migrations"


NAME = "routing"


def build_spec(deps: RoutingDeps) -> ServiceSpec:
    return ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        title="Fengqiao routing",
        description="Org hierarchy, routing rules, assignments and their workflow, SLA clocks.",
        produces=[Topic.CASE, Topic.ORG],
        consumes=[Topic.CASE],
        handlers={CaseReceived.ce_type: partial(handlers.on_case_received, deps)},  # type: ignore[dict-item]
        routers=[router, org_router, rules_router, internal_router],
        readiness_details=partial(_readiness_details, deps),
    )


async def _readiness_details(deps: RoutingDeps, runtime: ServiceRuntime) -> dict[str, str]:
    """The calendar gap (a year in use without an official calendar) shows here; it does not fail readiness."""
    async with runtime.session() as session:
        await deps.calendar.get(session)
        await deps.rules.get(session)
    return {"calendar": deps.calendar.gap_detail(), "rules_version": str(deps.rules.version)}


def create_app(settings: RoutingSettings | None = None, *, clock: Clock | None = None,
               **runtime_kwargs: Any) -> FastAPI:
    settings = settings or RoutingSettings()
    clock = clock or Clock()
    deps = RoutingDeps(
        clock=clock, pii=Sealer.single(settings.pii_key), transport=Sealer.single(settings.pii_transport_key, "t1"),
        source=ServiceSpec.source_for(NAME), accept_hours=settings.accept_hours, resolve_hours=settings.resolve_hours,
        rules=RulesCache(check_seconds=settings.rules_check_seconds),
        calendar=CalendarCache(parse_hours(settings.work_hours), clock, check_seconds=settings.rules_check_seconds),
    )
    app = create_service_app(build_spec(deps), settings, clock=clock, **runtime_kwargs)
    app.state.deps = deps
    deps.calendar.bind_metrics(app.state.runtime.metrics.registry)
    return app
