"""Analytics bootstrap: ``uvicorn --factory analytics_svc.app:create_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from analytics_svc import handlers
from analytics_svc.api import router
from analytics_svc.settings import AnalyticsSettings
from analytics_svc.tables import SCHEMA
from shared.events import CaseAccepted, CaseAssigned, CaseReceived, CaseResolved, Topic, UnitUpserted
from shared.runtime import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"

SPEC = ServiceSpec(
    name="analytics",
    schema=SCHEMA,
    title="Fengqiao analytics",
    description="Read models built only from events: KPIs, breakdowns, trends, hotspots, dashboard.",
    produces=[Topic.ALERT],
    consumes=[Topic.CASE, Topic.ORG],
    handlers={
        UnitUpserted.ce_type: handlers.on_unit_upserted,  # type: ignore[dict-item]
        CaseReceived.ce_type: handlers.on_case_received,  # type: ignore[dict-item]
        CaseAssigned.ce_type: handlers.on_case_assigned,  # type: ignore[dict-item]
        CaseAccepted.ce_type: handlers.on_case_accepted,  # type: ignore[dict-item]
        CaseResolved.ce_type: handlers.on_case_resolved,  # type: ignore[dict-item]
    },
    routers=[router],
)


def create_app(settings: AnalyticsSettings | None = None, **runtime_kwargs: Any) -> FastAPI:
    return create_service_app(SPEC, settings or AnalyticsSettings(), **runtime_kwargs)
