"""The lifecycle table (design section 9): for every event type of the catalog and every service, either the
handler that acts on it (the service's event map, as its app wires it) or an explicit reason to ignore it
(``IGNORED`` beside ``CONSUMERS`` in ``<service>/consumers.py``; intake's in ``intake_svc/lifecycle.py``).

Adding an event type without a decision in every service fails here, and so does a service that subscribes to a
topic whose event types it neither handles nor ignores, or a handler for a topic the service does not consume."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pytest

from services.registry import SERVICES, ServiceInfo
from shared.events import CATALOG, TOPICS, Event
from shared.runtime import ServiceSpec
from tests.support import settings_for

NOWHERE = "postgresql+asyncpg://fq@127.0.0.1:9/nowhere"  # the apps are built, never started: nothing connects


@dataclass(frozen=True)
class Decisions:
    spec: ServiceSpec
    handled: frozenset[str]  # ce types
    ignored: dict[str, str]  # ce type → reason


def decisions(svc: ServiceInfo) -> Decisions:
    app = importlib.import_module(f"{svc.package}.app").create_app(settings_for(svc, NOWHERE, "127.0.0.1:9"))
    spec: ServiceSpec = app.state.runtime.spec
    handled = frozenset({*spec.handlers, *(cls.ce_type for cls in spec.consumers)})
    ignored: dict[type[Event], str] | None = None
    for module in ("consumers", "lifecycle"):
        try:
            ignored = getattr(importlib.import_module(f"{svc.package}.{module}"), "IGNORED", None)
        except ModuleNotFoundError:
            continue
        if ignored is not None:
            break
    assert ignored is not None, f"{svc.name}: no IGNORED table in {svc.package}.consumers or .lifecycle"
    return Decisions(spec, handled, {cls.ce_type: why for cls, why in ignored.items()})


@pytest.fixture(scope="module", params=SERVICES, ids=lambda s: s.name)
def table(request: pytest.FixtureRequest) -> tuple[str, Decisions]:
    return request.param.name, decisions(request.param)


def test_every_event_type_has_one_decision_in_every_service(table: tuple[str, Decisions]) -> None:
    name, d = table
    undecided = sorted(set(CATALOG) - d.handled - set(d.ignored))
    assert not undecided, f"{name} has no decision (a handler, or IGNORED with a reason) for {undecided}"
    both = sorted(d.handled & set(d.ignored))
    assert not both, f"{name} both handles and ignores {both}"
    unknown = sorted(set(d.ignored) - set(CATALOG))
    assert not unknown, f"{name} ignores event types that are not in the catalog: {unknown}"
    vague = sorted(t for t, why in d.ignored.items() if not isinstance(why, str) or len(why.strip()) < 10)
    assert not vague, f"{name} ignores {vague} without saying why"


def test_every_subscribed_topic_is_decided_and_every_handler_can_run(table: tuple[str, Decisions]) -> None:
    name, d = table
    consumed = set(d.spec.consumes)
    assert consumed <= set(TOPICS), f"{name} subscribes to unknown topics {sorted(consumed - set(TOPICS))}"
    for topic in sorted(consumed):
        on_topic = {t for t, cls in CATALOG.items() if cls.topic == topic}
        undecided = sorted(on_topic - d.handled - set(d.ignored))
        assert not undecided, f"{name} subscribes to {topic} but neither handles nor ignores {undecided}"
    unreachable = sorted(t for t in d.handled if CATALOG[t].topic not in consumed)
    assert not unreachable, f"{name} has handlers for {unreachable}, on topics it does not subscribe to"
    assert d.handled or not consumed, f"{name} subscribes to {sorted(consumed)} and handles nothing"
