"""Analytics bootstrap: ``uvicorn --factory analytics_svc.app:create_app``."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from analytics_svc import api, dashboard, export
from analytics_svc.handlers import Projection
from analytics_svc.settings import AnalyticsSettings
from analytics_svc.tables import SCHEMA, projection_epoch
from shared.events import Topic
from shared.runtime import ServiceRuntime, ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"

SPEC = ServiceSpec(
    name="analytics",
    schema=SCHEMA,
    title="Fengqiao analytics",
    description="Read models built only from events: KPIs, breakdowns, trends, hotspots, exports, dashboard.",
    produces=[Topic.ALERT],
    consumes=[Topic.CASE, Topic.ORG],
    routers=[api.router, export.router, dashboard.router],
)


async def consumer_group(runtime: ServiceRuntime) -> str:
    """``analytics-svc-<epoch>``: a freshly migrated schema has a new epoch, so it replays from the start."""
    async with runtime.session() as session:
        epoch = (await session.execute(select(projection_epoch.c.epoch).limit(1))).scalar_one()
    return f"analytics-svc-{epoch[:12]}"


def create_app(settings: AnalyticsSettings | None = None, **runtime_kwargs: Any) -> FastAPI:
    settings = settings or AnalyticsSettings()
    projection = Projection(settings, SPEC.source)
    spec = dataclasses.replace(SPEC, handlers=projection.handlers())
    app = create_service_app(spec, settings, **runtime_kwargs)
    app.mount("/static", StaticFiles(directory=dashboard.STATIC), name="static")
    runtime: ServiceRuntime = app.state.runtime
    app.state.projection = projection
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        if runtime.consumer is not None:
            runtime.consumer.name = settings.consumer_group or await consumer_group(runtime)
            runtime.consumer.settings.max_records = settings.consumer_max_records
            runtime.consumer.settings.concurrent_partitions = settings.consumer_concurrent_partitions
        async with inner(a) as state:
            yield state

    app.router.lifespan_context = lifespan
    return app
