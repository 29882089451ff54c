"""Intake bootstrap: ``uvicorn --factory intake_svc.app:create_app``."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from intake_svc.adapters.storage import BlobStorage, LocalStorage, S3Storage, opened
from intake_svc.api import ROUTERS
from intake_svc.consumers import CONSUMERS
from intake_svc.deps import IntakeDeps, RecordLimits
from intake_svc.domain.classifier import Classifier
from intake_svc.domain.dedup import DuplicateThresholds
from intake_svc.domain.records import normalize_type
from intake_svc.domain.risk import RiskRules
from intake_svc.examples import EXAMPLES
from intake_svc.hotline.api import router as hotline_router
from intake_svc.hotline.deps import HotlineDeps, load_mappings
from intake_svc.hotline.sender import CallbackSender, SenderMetrics, SenderSettings
from intake_svc.settings import IntakeSettings
from intake_svc.store.registration import registration_pool
from intake_svc.tables import SCHEMA
from shared.clock import Clock
from shared.crypto import Sealer
from shared.events import Topic
from shared.loops import BackgroundLoop
from shared.ratelimit import RateLimiter
from shared.runtime import ServiceRuntime, ServiceSpec, create_service_app
from shared.settings import Environment
from shared.tracing import INSTRUMENTATION

MIGRATIONS = Path(__file__).parent / "migrations"

NAME = "intake"


def build_spec(deps: IntakeDeps, settings: IntakeSettings) -> ServiceSpec:
    def workers(runtime: ServiceRuntime) -> Sequence[BackgroundLoop]:
        if not deps.hotline.clients:
            return []
        sender = CallbackSender(deps.hotline, runtime.session, SenderSettings(
            poll_seconds=settings.hotline_sender_poll_seconds,
            timeout_seconds=settings.hotline_callback_timeout_seconds,
            backoff_seconds=settings.hotline_callback_backoff_seconds,
            backoff_max_seconds=settings.hotline_callback_backoff_max_seconds,
            max_attempts=settings.hotline_callback_max_attempts,
        ), SenderMetrics(runtime.metrics.registry), tracer=runtime.tracer_provider.get_tracer(INSTRUMENTATION)
            if runtime.tracer_provider is not None else None)
        deps.hotline.wake_sender = sender.wake  # a route that owed the platform a callback sends it at once
        return [sender]

    return ServiceSpec(
        name=NAME,
        schema=SCHEMA,
        title="Fengqiao intake",
        description="The case file: every channel, parties (protected), classification, risk, status.",
        produces=[Topic.CASE],
        consumes=[Topic.CASE],
        consumers=CONSUMERS,
        deps=deps,
        routers=[*ROUTERS, hotline_router],
        examples=EXAMPLES,
        loops=workers,
        # POST /cases' own pool, then what the start built frozen out of the garbage collector's way
        resources=[registration_pool, lambda runtime: opened(deps.storage), _freeze_start],
    )


def create_app(settings: IntakeSettings | None = None, *, clock: Clock | None = None,
               **runtime_kwargs: Any) -> FastAPI:
    settings = settings or IntakeSettings()
    clock = clock or Clock()
    source = ServiceSpec.source_for(NAME)
    deps = IntakeDeps(
        clock=clock,
        pii=Sealer(dict(settings.pii_keyring()), settings.pii_current_key),
        transport=Sealer.single(settings.pii_transport_key, "t1"),
        source=source,
        classifier=Classifier.default(),
        risk_rules=RiskRules.load(),
        index_key=settings.blind_index_key,
        hotline=HotlineDeps(clock=clock, clients=dict(settings.hotline_clients),
                            mappings=load_mappings(settings.hotline_clients), source=source,
                            skew_seconds=settings.hotline_skew_seconds),
        public_limiter=RateLimiter(settings.public_rate_limit, settings.public_rate_window_seconds),
        dedup_window=timedelta(days=settings.dedup_window_days),
        dedup=DuplicateThresholds(link=settings.dedup_link_similarity, suggest=settings.dedup_suggest_similarity,
                                  same_matter_link=settings.dedup_same_matter_similarity),
        records=RecordLimits(note_edit_window=timedelta(minutes=settings.note_edit_window_minutes),
                             attachment_max_bytes=settings.attachment_max_bytes,
                             attachment_types=frozenset(normalize_type(t) for t in settings.attachment_types),
                             pdf_font=Path(settings.pdf_font)),
        storage=_storage(settings),
    )
    return create_service_app(build_spec(deps, settings), settings, clock=clock, **runtime_kwargs)


def _storage(settings: IntakeSettings) -> BlobStorage:
    if settings.storage_backend == "s3":
        return S3Storage(bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                         access_key_id=settings.s3_access_key_id, secret_access_key=settings.s3_secret_access_key,
                         create_bucket=settings.env != Environment.PROD)
    return LocalStorage(Path(settings.storage_dir))


@asynccontextmanager
async def _freeze_start(runtime: ServiceRuntime) -> AsyncIterator[None]:
    """Everything built at start (app, models, taxonomy, clients: ~140,000 objects) out of the cyclic collector's
    sight: a full collection otherwise walks them all (~0.1 s on this 2-core machine), rare but a pause for every
    request in flight."""
    gc.collect()
    gc.freeze()
    yield
