"""Notify bootstrap: ``uvicorn --factory notify_svc.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import handlers
from notify_svc.api import admin_router, page_router, public_router, router
from notify_svc.channels import Contacts, SmsProvider
from notify_svc.handlers import NotifyDeps, WorkPoints
from notify_svc.hub import InboxHub
from notify_svc.settings import NotifySettings
from notify_svc.tables import SCHEMA
from notify_svc.worker import DeliveryWorker
from shared.clock import Clock
from shared.db import asyncpg_dsn
from shared.events import (
    CalendarChanged,
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseExtensionRejected,
    CaseOverdue,
    CaseReceived,
    CaseResolved,
    CaseResumed,
    CaseSuspended,
    CaseUrged,
    HotspotAlert,
    MemberUpserted,
    RiskChanged,
    Topic,
    UnitUpserted,
)
from shared.ratelimit import RateLimiter
from shared.runtime import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
NAME = "notify"


def build_spec(deps: NotifyDeps) -> ServiceSpec:
    def immediate(fn: Any) -> Any:
        """Handlers that read or change what earlier events of the batch wrote: the batch is written first."""
        async def run(session: AsyncSession, event: Any, env: Any) -> None:
            await handlers.flush(session)
            await fn(session, event, env)
            await handlers.flush(session)
        return run

    def bound(fn: Any) -> Any:
        return immediate(partial(fn, deps))

    async def assigned(session: AsyncSession, event: CaseAssigned, env: Any) -> None:
        session.info[handlers.DEFER] = True  # written with the rest of the batch, by before_commit
        await handlers.on_case_assigned(deps, session, event, env)

    return ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        title="Fengqiao notify",
        description="Recipients, inbox and live stream, reminders, supervision, surveys.",
        produces=[Topic.NOTIFICATION, Topic.CASE],
        consumes=[Topic.CASE, Topic.ORG, Topic.ALERT],
        handlers={
            MemberUpserted.ce_type: bound(handlers.on_member_upserted),
            UnitUpserted.ce_type: immediate(handlers.on_unit_upserted),
            CalendarChanged.ce_type: bound(handlers.on_calendar_changed),
            CaseReceived.ce_type: bound(handlers.on_case_received),
            CaseAssigned.ce_type: assigned,
            CaseAccepted.ce_type: bound(handlers.on_case_accepted),
            CaseExtended.ce_type: bound(handlers.on_case_extended),
            CaseExtensionRejected.ce_type: bound(handlers.on_case_extension_rejected),
            CaseSuspended.ce_type: bound(handlers.on_case_suspended),
            CaseResumed.ce_type: bound(handlers.on_case_resumed),
            CaseEscalated.ce_type: bound(handlers.on_case_escalated),
            CaseOverdue.ce_type: bound(handlers.on_case_overdue),
            CaseResolved.ce_type: bound(handlers.on_case_resolved),
            CaseClosed.ce_type: bound(handlers.on_case_closed),
            CaseUrged.ce_type: bound(handlers.on_case_urged),
            RiskChanged.ce_type: bound(handlers.on_risk_changed),
            HotspotAlert.ce_type: bound(handlers.on_hotspot),
        },
        routers=[router, admin_router, public_router, page_router],
        before_commit=handlers.flush,
    )


def create_app(settings: NotifySettings | None = None, *, clock: Clock | None = None,
               calendar: WorkPoints | None = None, contacts: Contacts | None = None, sms: SmsProvider | None = None,
               run_worker: bool = True, **runtime_kwargs: Any) -> FastAPI:
    """``contacts``/``sms``: injectable clients (tests point them at the real in-process services and a local
    vendor); ``run_worker=False`` leaves sending to explicit ``app.state.worker.tick()`` calls."""
    settings = settings or NotifySettings()
    deps = NotifyDeps(clock=clock or Clock(), settings=settings, source=ServiceSpec.source_for(NAME),
                      calendar=calendar, contacts=contacts, sms=sms)
    app = create_service_app(build_spec(deps), settings, clock=deps.clock, **runtime_kwargs)
    runtime = app.state.runtime
    dsn = asyncpg_dsn(settings.database_url)
    hub = InboxHub(dsn)
    worker = DeliveryWorker(deps, runtime.session, dsn)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            await hub.start()
            if run_worker:
                await worker.start()
            try:
                yield
            finally:
                await worker.stop()
                await hub.stop()

    app.router.lifespan_context = lifespan
    app.state.deps, app.state.hub, app.state.worker = deps, hub, worker
    app.state.public_limiter = RateLimiter(30, 60)
    return app
