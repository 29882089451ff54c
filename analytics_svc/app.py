"""Analytics bootstrap: ``uvicorn --factory analytics_svc.app:create_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from analytics_svc.api import ROUTERS
from analytics_svc.api.dashboard import STATIC
from analytics_svc.consumers import CONSUMERS
from analytics_svc.deps import AnalyticsDeps
from analytics_svc.examples import EXAMPLES, OPERATIONS
from analytics_svc.handlers.facts import fact_batch
from analytics_svc.settings import AnalyticsSettings
from analytics_svc.store.facts import projection_epoch_of
from analytics_svc.tables import SCHEMA
from shared.clock import Clock
from shared.events import Topic
from shared.runtime import ConsumerOptions, ServiceRuntime, ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
NAME = "analytics"


async def consumer_group(runtime: ServiceRuntime) -> str:
    """``analytics-svc-<epoch>``: a freshly migrated schema has a new epoch, so it replays from the start."""
    async with runtime.session() as session:
        epoch = await projection_epoch_of(session)
    return f"analytics-svc-{epoch[:12]}"


def create_app(settings: AnalyticsSettings | None = None, *, clock: Clock | None = None,
               **runtime_kwargs: Any) -> FastAPI:
    settings = settings or AnalyticsSettings()
    clock = clock or Clock()
    source = ServiceSpec.source_for(NAME)
    deps = AnalyticsDeps(settings=settings, source=source, clock=clock, facts=fact_batch(settings, source))
    spec = ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        title="Fengqiao analytics",
        description="Read models built only from events: KPIs, breakdowns, trends, hotspots, exports, dashboard.",
        produces=[Topic.ALERT],
        consumes=[Topic.CASE, Topic.ORG],
        consumers=CONSUMERS,
        deps=deps,
        routers=ROUTERS,
        examples=EXAMPLES,
        operation_examples=OPERATIONS,
        consumer=ConsumerOptions(group=settings.consumer_group or consumer_group,
                                 max_records=settings.consumer_max_records,
                                 concurrent_partitions=settings.consumer_concurrent_partitions),
    )
    app = create_service_app(spec, settings, clock=clock, **runtime_kwargs)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
