"""Wiring of the hotline adapter into intake's app: consumer handlers, deps and the callback sender."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.hotline import handlers
from intake_svc.hotline.handlers import HotlineDeps
from intake_svc.hotline.sender import CallbackSender, SenderMetrics, SenderSettings
from intake_svc.settings import IntakeSettings
from shared.bus.consumer import Handler
from shared.clock import Clock
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseEscalated,
    CaseExtensionRequested,
    CaseReopened,
    CaseResolved,
    CaseReturned,
    Envelope,
    Event,
)


def chain(*steps: Handler) -> Handler:
    """One consumer handler running ``steps`` in order in the same transaction (the inbox holds one per type)."""
    if len(steps) == 1:
        return steps[0]

    async def run(session: AsyncSession, event: Event, env: Envelope) -> None:
        for step in steps:
            await step(session, event, env)

    return run


def compose(*maps: Mapping[str, Handler]) -> dict[str, Handler]:
    """Handlers of several parts of the service merged per event type, earlier maps' handlers first."""
    types = list(dict.fromkeys(t for m in maps for t in m))
    return {t: chain(*(m[t] for m in maps if t in m)) for t in types}


def build_deps(settings: IntakeSettings, clock: Clock, source: str) -> HotlineDeps:
    return HotlineDeps(clock=clock, clients=dict(settings.hotline_clients),
                       mappings=handlers.load_mappings(settings.hotline_clients), source=source,
                       skew_seconds=settings.hotline_skew_seconds)


def event_handlers(deps: HotlineDeps) -> dict[str, Handler]:
    """The case events that owe the platform a callback (or change what it will be owed)."""
    bound: dict[str, Any] = {
        CaseAssigned.ce_type: handlers.on_case_assigned,
        CaseAccepted.ce_type: handlers.on_case_accepted,
        CaseReturned.ce_type: handlers.on_case_returned,
        CaseExtensionRequested.ce_type: handlers.on_extension_requested,
        CaseEscalated.ce_type: handlers.on_case_escalated,
        CaseResolved.ce_type: handlers.on_case_resolved,
        CaseReopened.ce_type: handlers.on_case_reopened,
    }
    return {t: partial(h, deps) for t, h in bound.items()}


def attach(app: FastAPI, deps: HotlineDeps, settings: IntakeSettings) -> None:
    """Expose the deps to the routes and run the callback sender for the app's lifetime (when clients exist)."""
    app.state.hotline = deps
    app.state.hotline_sender = None
    if not deps.clients:
        return
    runtime = app.state.runtime
    sender = CallbackSender(deps, runtime.session, SenderSettings(
        poll_seconds=settings.hotline_sender_poll_seconds, timeout_seconds=settings.hotline_callback_timeout_seconds,
        backoff_seconds=settings.hotline_callback_backoff_seconds,
        backoff_max_seconds=settings.hotline_callback_backoff_max_seconds,
        max_attempts=settings.hotline_callback_max_attempts,
    ), SenderMetrics(runtime.metrics.registry))
    app.state.hotline_sender = sender
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        async with inner(a) as state:
            await sender.start()
            try:
                yield state
            finally:
                await sender.stop()

    app.router.lifespan_context = lifespan
