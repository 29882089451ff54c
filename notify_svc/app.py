"""Notify bootstrap: ``uvicorn --factory notify_svc.app:create_app``."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from notify_svc import handlers
from notify_svc.api import router
from notify_svc.handlers import NotifyDeps
from notify_svc.settings import NotifySettings
from notify_svc.tables import SCHEMA
from shared.clock import Clock
from shared.events import CaseAssigned, MemberUpserted, Topic
from shared.runtime import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotifySettings | None = None, *, clock: Clock | None = None,
               **runtime_kwargs: Any) -> FastAPI:
    settings = settings or NotifySettings()
    deps = NotifyDeps(clock=clock or Clock())
    spec = ServiceSpec(
        name="notify",
        schema=SCHEMA,
        title="Fengqiao notify",
        description="Recipients, inbox and live stream, reminders, supervision, surveys.",
        produces=[Topic.NOTIFICATION],
        consumes=[Topic.CASE, Topic.ORG],
        handlers={
            MemberUpserted.ce_type: handlers.on_member_upserted,  # type: ignore[dict-item]
            CaseAssigned.ce_type: partial(handlers.on_case_assigned, deps),  # type: ignore[dict-item]
        },
        routers=[router],
    )
    app = create_service_app(spec, settings, clock=deps.clock, **runtime_kwargs)
    app.state.deps = deps
    return app
