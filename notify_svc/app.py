"""Notify bootstrap: ``uvicorn --factory notify_svc.app:create_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from notify_svc.adapters.channels import SmsProvider
from notify_svc.adapters.contacts import Contacts
from notify_svc.api import ROUTERS
from notify_svc.consumers import CONSUMERS
from notify_svc.deps import NotifyDeps
from notify_svc.domain.reminders import WorkPoints
from notify_svc.examples import EXAMPLES, OPERATIONS
from notify_svc.settings import NotifySettings
from notify_svc.tables import SCHEMA
from notify_svc.workers.deliveries import DeliveryWorker
from shared.clock import Clock
from shared.events import Topic
from shared.loops import BackgroundLoop
from shared.runtime import ServiceRuntime, ServiceSpec, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
NAME = "notify"


def create_app(settings: NotifySettings | None = None, *, clock: Clock | None = None,
               calendar: WorkPoints | None = None, contacts: Contacts | None = None, sms: SmsProvider | None = None,
               run_worker: bool = True, **runtime_kwargs: Any) -> FastAPI:
    """``contacts``/``sms``: injectable clients (tests point them at the real in-process services and a local
    vendor); ``run_worker=False`` leaves sending to explicit ``deps.worker.tick()`` calls."""
    settings = settings or NotifySettings()
    deps = NotifyDeps(clock=clock or Clock(), settings=settings, source=ServiceSpec.source_for(NAME),
                      calendar=calendar, contacts=contacts, sms=sms)

    def loops(runtime: ServiceRuntime) -> list[BackgroundLoop]:
        deps.worker = DeliveryWorker(deps, runtime.session, enabled=run_worker)
        return [deps.hub, deps.worker]

    return create_service_app(ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        title="Fengqiao notify",
        description="Recipients, inbox and live stream, reminders, supervision, surveys.",
        produces=[Topic.NOTIFICATION, Topic.CASE],
        consumes=[Topic.CASE, Topic.ORG, Topic.ALERT],
        consumers=CONSUMERS,
        deps=deps,
        routers=ROUTERS,
        examples=EXAMPLES,
        operation_examples=OPERATIONS,
        loops=loops,
    ), settings, clock=deps.clock, **runtime_kwargs)
