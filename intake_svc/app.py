"""Intake bootstrap: ``uvicorn --factory intake_svc.app:create_app``."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import FastAPI

from intake_svc import handlers, workflow_events
from intake_svc.api import public_router, router
from intake_svc.classifier import Classifier
from intake_svc.handlers import IntakeDeps
from intake_svc.hotline import wiring as hotline
from intake_svc.hotline.api import router as hotline_router
from intake_svc.internal_api import internal_router
from intake_svc.risk import RiskRules
from intake_svc.settings import IntakeSettings
from intake_svc.tables import SCHEMA
from shared.clock import Clock
from shared.crypto import Sealer
from shared.db import asyncpg_dsn
from shared.events import CaseAccepted, CaseAssigned, CaseResolved, Topic
from shared.ratelimit import RateLimiter
from shared.runtime import ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"

SPEC = ServiceSpec(
    name="intake",
    schema=SCHEMA,
    title="Fengqiao intake",
    description="The case file: every channel, parties (protected), classification, risk, status.",
    produces=[Topic.CASE],
    consumes=[Topic.CASE],
    handlers={
        CaseAssigned.ce_type: handlers.on_case_assigned,  # type: ignore[dict-item]
        CaseAccepted.ce_type: handlers.on_case_accepted,  # type: ignore[dict-item]
        CaseResolved.ce_type: handlers.on_case_resolved,  # type: ignore[dict-item]
        **workflow_events.HANDLERS,  # type: ignore[dict-item]
    },
    routers=[router, public_router, hotline_router, internal_router],
)


def create_app(settings: IntakeSettings | None = None, **runtime_kwargs: Any) -> FastAPI:
    settings = settings or IntakeSettings()
    clock: Clock = runtime_kwargs.pop("clock", None) or Clock()
    hotline_deps = hotline.build_deps(settings, clock, SPEC.source)
    # the 12345 adapter's handlers run after intake's own for the same event types, in the same transaction
    spec = dataclasses.replace(SPEC, handlers=hotline.compose(SPEC.handlers, hotline.event_handlers(hotline_deps)))
    app = create_service_app(spec, settings, clock=clock, **runtime_kwargs)
    app.state.public_limiter = RateLimiter(settings.public_rate_limit, settings.public_rate_window_seconds)
    app.state.deps = IntakeDeps(
        clock=app.state.runtime.clock,
        pii=Sealer({k: v for k, v in settings.pii_keyring().items()}, settings.pii_current_key),
        transport=Sealer.single(settings.pii_transport_key, "t1"),
        source=SPEC.source,
        classifier=Classifier.default(),
        risk_rules=RiskRules.load(),
        index_key=settings.blind_index_key,
        dedup_window=timedelta(days=settings.dedup_window_days),
        dedup_link=settings.dedup_link_similarity,
        dedup_suggest=settings.dedup_suggest_similarity,
        dedup_same_matter_link=settings.dedup_same_matter_similarity,
    )
    app.state.outbox_waker = app.state.runtime.waker  # registrations commit on their own pool, then wake the relay
    hotline.attach(app, hotline_deps, settings)
    _with_registration_pool(app, settings)
    return app


async def _reset(conn: asyncpg.Connection) -> None:
    """What a registration leaves to undo: at most an open transaction (it sets nothing, listens to nothing).
    asyncpg's default reset costs a round trip per request (advisory unlocks, CLOSE ALL, UNLISTEN, RESET ALL)."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _with_registration_pool(app: FastAPI, settings: IntakeSettings) -> None:
    """A plain asyncpg pool for POST /cases, the hot path, next to the ORM's engine (used by everything else):
    its two statements need no session, and a session costs as much CPU as they do. Also freezes what the start
    built out of the garbage collector's way."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            pool = await asyncpg.create_pool(
                asyncpg_dsn(settings.database_url), min_size=1, max_size=settings.db_pool_size, reset=_reset,
                # every registration statement has an index path; without sequential scans a plan the connection
                # caches while the table is small and has no statistics stays right as it grows (handlers._READ)
                server_settings={"search_path": f"{SCHEMA},public", "application_name": SCHEMA,
                                 "enable_seqscan": "off"})
            app.state.registration_pool = pool
            # everything built at start (app, models, taxonomy, clients: ~140,000 objects) out of the cyclic
            # collector's sight: a full collection otherwise walks them all (~0.1 s on this 2-core machine), rare
            # but a pause for every request in flight
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                await pool.close()

    app.router.lifespan_context = lifespan
