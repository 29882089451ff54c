"""Traces through Kafka: one case is one trace from POST /cases in intake, through the outbox relay and routing's
consumer, to notify's inbox item (the SDK's in-memory exporter, real services, broker and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import func, select

from notify_svc.tables import Recipient, Unit
from services.registry import DEMO_ORG
from shared import tracing
from shared.auth import Role
from shared.bus.outbox import outbox_row
from shared.events import CaseReopenRequested
from shared.events.case import ReopenReason
from tests.support import Infra, Stack, auth, case_body, eventually, own_broker, start_stack

OPERATOR = auth(Role.OPERATOR, "S1", "op-trace")
G01_WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")


@pytest.fixture(scope="module")
async def traced(infra: Infra, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[tuple[Stack, InMemorySpanExporter]]:
    """intake, routing and notify with tracing on, each with its own provider (its own service.name), all into one
    in-memory exporter; on a broker and database of their own (the session stack does not trace)."""
    exporter = InMemorySpanExporter()
    providers = {name: tracing.make_provider(name, SimpleSpanProcessor(exporter), env={})
                 for name in ("intake", "routing", "notify")}
    with own_broker(tmp_path_factory.mktemp("trace")) as broker:
        url = await asyncio.to_thread(infra.database, "fq_trace")
        stack = await start_stack(url, broker.bootstrap, names=("intake", "routing", "notify"),
                                  **{n: {"tracer_provider": p} for n, p in providers.items()})
        org = json.loads(DEMO_ORG.read_text())

        async def org_known() -> bool:  # notify's recipients come from routing's org events
            async with stack.apps["notify"].state.runtime.session() as session:
                units = (await session.execute(select(func.count()).select_from(Unit))).scalar_one()
                members = (await session.execute(select(func.count()).select_from(Recipient))).scalar_one()
            return bool(units >= len(org["units"]) and members >= len(org["members"]))

        try:
            await eventually(org_known, timeout=60, what="notify learns the demo org from routing's events")
            yield stack, exporter
        finally:
            await stack.close()


def _service(span: ReadableSpan) -> Any:
    return span.resource.attributes.get("service.name")


def _parent(spans: list[ReadableSpan], span: ReadableSpan) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    found = [s for s in spans if s.context.span_id == span.parent.span_id]
    assert found, f"the parent of {span.name} ({_service(span)}) was not exported"
    return found[0]


async def test_one_case_is_one_trace_from_post_cases_to_the_inbox_item(
        traced: tuple[Stack, InMemorySpanExporter]) -> None:
    stack, exporter = traced
    r = await stack.intake.post("/api/v1/cases?q=%E7%8E%8B%E5%B0%8F%E6%98%8E", json=case_body(), headers=OPERATOR)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    def notified() -> ReadableSpan | None:
        return next((s for s in exporter.get_finished_spans()
                     if _service(s) == "notify" and s.name == "process fq.case.assigned.v1"
                     and s.attributes.get("fq.case_id") == case_id), None)

    async def notified_async() -> ReadableSpan | None:
        return notified()

    notify_span = await eventually(notified_async, what="notify's span of the case's assigned event")

    async def inbox_item() -> bool:
        items = (await stack.notify.get("/api/v1/inbox", headers=G01_WORKER)).json()["items"]
        return any(i["case_id"] == case_id for i in items)

    await eventually(inbox_item, what="the inbox item")  # the span ends before its transaction commits

    spans = list(exporter.get_finished_spans())
    # notify ← routing's relay ← routing's consumer ← intake's relay ← intake's request: one trace, each a child
    chain = [notify_span]
    while chain[-1].parent is not None:
        chain.append(_parent(spans, chain[-1]))
    assert [(_service(s), s.name, s.kind) for s in chain] == [
        ("notify", "process fq.case.assigned.v1", SpanKind.CONSUMER),
        ("routing", "publish fq.case.assigned.v1", SpanKind.PRODUCER),
        ("routing", "process fq.case.received.v1", SpanKind.CONSUMER),
        ("intake", "publish fq.case.received.v1", SpanKind.PRODUCER),
        ("intake", "POST /api/v1/cases", SpanKind.SERVER),
    ]
    assert len({s.context.trace_id for s in chain}) == 1
    request = chain[-1]
    assert request.attributes.get("http.status_code") == 201
    # the request span keeps the path, never the query string (it may carry personal data or a token)
    assert not any("?" in str(v) or "%E7" in str(v) for v in request.attributes.values()), request.attributes
    # intake's own consumer (the case's status, the 12345 adapter's callbacks) continues the same trace
    intake_assigned = [s for s in spans if _service(s) == "intake" and s.name == "process fq.case.assigned.v1"
                       and s.attributes.get("fq.case_id") == case_id]
    assert intake_assigned and intake_assigned[0].context.trace_id == request.context.trace_id


async def test_probes_are_not_traced(traced: tuple[Stack, InMemorySpanExporter]) -> None:
    stack, exporter = traced
    exporter.clear()
    assert (await stack.intake.get("/healthz")).status_code == 200
    assert (await stack.intake.get("/metrics")).status_code == 200
    assert (await stack.intake.get("/api/v1/cases", headers=OPERATOR)).status_code == 200
    names = [s.name for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert names == ["GET /api/v1/cases"]


def test_tracing_is_off_unless_the_otel_settings_name_an_exporter() -> None:
    assert not tracing.tracing_enabled({})
    assert not tracing.tracing_enabled({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"})
    assert not tracing.tracing_enabled({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})
    assert tracing.tracing_enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing.tracing_enabled({"OTEL_TRACES_EXPORTER": "console"})


def _row_traceparent(row: dict[str, object]) -> str | None:
    import json

    return dict(json.loads(str(row["headers"]))).get("traceparent")


def test_an_event_written_outside_a_span_has_no_traceparent_and_one_written_while_consuming_keeps_the_parents(
) -> None:
    import uuid
    from datetime import UTC, datetime

    event = CaseReopenRequested(case_id=uuid.uuid4(), at=datetime.now(UTC), assignment_id=uuid.uuid4(),
                                reason=ReopenReason.STAFF, requested_by="staff-1", source="staff")
    assert _row_traceparent(outbox_row(event, source="/t")) is None
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    # a service with tracing off (no tracer) passes a message's traceparent on to what its handler writes
    with tracing.consumer_span(None, parent, "process", {}):
        assert _row_traceparent(outbox_row(event, source="/t")) == parent
    assert _row_traceparent(outbox_row(event, source="/t")) is None
    with tracing.consumer_span(None, "garbage", "process", {}):
        assert _row_traceparent(outbox_row(event, source="/t")) is None


def test_an_outgoing_call_with_tracing_off_passes_the_stored_traceparent_on() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracing.client_span(None, parent, "POST callback", {}) as (span, sent):
        assert span is None and sent == parent
    for stored in (None, "garbage"):
        with tracing.client_span(None, stored, "POST callback", {}) as (span, sent):
            assert span is None and sent is None
    exporter = InMemorySpanExporter()
    tracer = tracing.make_provider("t", SimpleSpanProcessor(exporter), env={}).get_tracer("t")
    with tracing.client_span(tracer, parent, "POST callback", {}) as (span, sent):
        assert span is not None and sent is not None
        assert sent.split("-")[1] == parent.split("-")[1] and sent.split("-")[2] != parent.split("-")[2]
    [finished] = exporter.get_finished_spans()
    assert finished.kind == SpanKind.CLIENT and finished.parent is not None
    assert f"{finished.parent.span_id:016x}" == parent.split("-")[2]
