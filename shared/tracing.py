"""Traces (OpenTelemetry): a span per request and per consumed event, one trace across services through Kafka.

Off unless the standard ``OTEL_*`` settings ask for an exporter (``tracing_enabled``): then each service has a
``TracerProvider`` (sampler from ``OTEL_TRACES_SAMPLER``, resource from ``OTEL_RESOURCE_ATTRIBUTES`` /
``OTEL_SERVICE_NAME``, default ``service.name`` the service's name) exporting in batches to OTLP (endpoint,
headers, timeout from ``OTEL_EXPORTER_OTLP_*``; ``OTEL_EXPORTER_OTLP_PROTOCOL`` ``http/protobuf`` (default) or
``grpc``) or to the console. Off, nothing is instrumented: no middleware, no span, no exporter thread.

How the context travels: a request's span is current while its handler runs, so ``outbox_row`` stores its W3C
``traceparent`` in the row's CloudEvents headers (``current_traceparent``, one context lookup when tracing is off);
the relay publishes the row under a producer span that is a child of it and sends that span's ``traceparent``; the
consumer runs each event's handler in a consumer span that is a child of the message's ``traceparent``, so what the
handler writes to its outbox continues the same trace. A service with tracing off still passes a message's
``traceparent`` on to the events its handler writes (no span of its own, the trace does not break).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

INSTRUMENTATION = "fengqiao"
TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()
_OFF = ("", "none")


def tracing_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` settings ask for traces: an ``OTEL_TRACES_EXPORTER`` other than ``none``, or an OTLP
    endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); never with
    ``OTEL_SDK_DISABLED=true``."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER")
    if exporter is not None:
        return exporter.strip().lower() not in _OFF
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _exporters(env: Mapping[str, str]) -> list[SpanExporter]:
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    out: list[SpanExporter] = []
    for name in names:
        if name in _OFF:
            continue
        if name == "console":
            out.append(ConsoleSpanExporter())
        elif name == "otlp":
            protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                        or "http/protobuf").strip().lower()
            if protocol == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

                out.append(Grpc())
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

                out.append(Http())
        else:
            raise ValueError(f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} (otlp, console or none)")
    return out


def make_provider(service: str, *processors: SpanProcessor, env: Mapping[str, str] | None = None) -> TracerProvider:
    """A provider for ``service`` with ``processors`` (a test's in-memory exporter) or, given none, the exporters
    the environment names, each behind a ``BatchSpanProcessor``."""
    env = os.environ if env is None else env
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    # shut down (flushed) by the runtime when the service stops
    provider = TracerProvider(resource=Resource.create(attributes), shutdown_on_exit=False)
    for processor in processors or tuple(BatchSpanProcessor(e) for e in _exporters(env)):
        provider.add_span_processor(processor)
    return provider


def provider_from_env(service: str) -> TracerProvider | None:
    """The service's provider when the environment enables tracing, else None (tracing off)."""
    return make_provider(service) if tracing_enabled() else None


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None (no span: tracing off, outside a request or event)."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def context_of(traceparent: str | None) -> otel_context.Context | None:
    """The context a stored or received ``traceparent`` names (None when absent or malformed)."""
    if not traceparent:
        return None
    ctx = _PROPAGATOR.extract({TRACEPARENT: traceparent})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


@contextmanager
def consumer_span(tracer: Tracer | None, traceparent: str | None, name: str,
                  attributes: Mapping[str, Any]) -> Iterator[None]:
    """Run a consumed event's handler in a consumer span, child of the message's ``traceparent``. Without a tracer
    (tracing off) the message's context is made current without a span, so the events the handler writes carry the
    same ``traceparent`` on; without either, nothing happens."""
    parent = context_of(traceparent)
    if tracer is None:
        if parent is None:
            yield
            return
        token = otel_context.attach(parent)
        try:
            yield
        finally:
            otel_context.detach(token)
        return
    with tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=dict(attributes)):
        yield


def producer_span(tracer: Tracer, traceparent: str, name: str, attributes: Mapping[str, Any]
                  ) -> tuple[trace.Span, str] | None:
    """A started producer span, child of a stored ``traceparent``, and the ``traceparent`` to send in its place
    (the caller ends the span when the broker answered); None when the stored one is malformed."""
    parent = context_of(traceparent)
    if parent is None:
        return None
    span = tracer.start_span(name, context=parent, kind=SpanKind.PRODUCER, attributes=dict(attributes))
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return span, carrier.get(TRACEPARENT, traceparent)


@contextmanager
def client_span(tracer: Tracer | None, traceparent: str | None, name: str,
                attributes: Mapping[str, Any]) -> Iterator[tuple[trace.Span | None, str | None]]:
    """An outgoing request made for a stored ``traceparent`` (a row written while a request or event was traced)
    and the ``traceparent`` to send with it: with a tracer, a client span (child of the stored one, a trace of its
    own without one) and that span's ``traceparent``; without one (tracing off), no span and the stored
    ``traceparent`` passed on as it is (None when malformed), so the trace does not break."""
    parent = context_of(traceparent)
    if tracer is None:
        yield None, traceparent if parent is not None else None
        return
    with tracer.start_as_current_span(name, context=parent, kind=SpanKind.CLIENT,
                                      attributes=dict(attributes)) as span:
        yield span, current_traceparent()


# request attributes that may carry a query string (personal data, tokens): replaced by the URL without it
_URL_KEYS = ("http.url", "url.full")


def scrub_request_span(span: trace.Span, scope: dict[str, Any]) -> None:
    """``server_request_hook`` of the FastAPI instrumentation: the span keeps the path, never the query string."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    for key in _URL_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(key, value.split("?", 1)[0])
    if "url.query" in attributes:
        span.set_attribute("url.query", "")
    if "http.target" in attributes:
        span.set_attribute("http.target", scope.get("path", ""))


def instrument_app(app: Any, provider: TracerProvider) -> None:
    """A server span per request (route template as its name), the probes and /metrics left out, no query string
    kept; the span is current while the handler runs (``current_traceparent``)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls="/healthz$,/readyz$,/metrics$",
        exclude_spans=["receive", "send"], server_request_hook=scrub_request_span,
        meter_provider=NoOpMeterProvider(),  # request metrics stay Prometheus' (shared.observability)
    )
