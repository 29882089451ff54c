"""The analytics lab: its own database and its own broker, real producers with real relays, the real service.

Scripted events are written with ``add_event`` into the outbox of the service that produces them in production
(intake: received/merged; routing: the workflow and org events), in real sessions of those services' schemas; their
real relays publish them and the analytics service consumes them with its real consumer. A broker of its own keeps
the main test stack's routing from reacting to the scripted cases (and its analytics from counting them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from services.embedded import EmbeddedBroker
from services.registry import SERVICES
from shared.bus.outbox import add_event
from shared.events import Event, Topic
from shared.runtime import ServiceRuntime, ServiceSpec
from tests.support import Infra, Stack, eventually, own_broker, settings_for, start_stack


def producer(name: str, url: str, bootstrap: str, produces: list[str]) -> ServiceRuntime:
    svc = next(s for s in SERVICES if s.name == name)
    spec = ServiceSpec(name=name, schema=svc.schema, title=name, description="test producer", produces=produces)
    return ServiceRuntime(spec, settings_for(svc, url, bootstrap), run_consumer=False)


@dataclass
class Lab:
    url: str
    bootstrap: str
    intake: ServiceRuntime
    routing: ServiceRuntime
    stack: Stack

    async def emit(self, runtime: ServiceRuntime, events: list[Event]) -> list[str]:
        """One transaction of the producing service: its outbox rows, published by its relay in order."""
        async with runtime.session() as session, session.begin():
            return [str(await add_event(session, event, source=runtime.source)) for event in events]

    async def published(self, runtime: ServiceRuntime) -> None:
        async def done() -> bool:
            async with runtime.session() as s:
                left = (await s.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one()
            return left == 0

        await eventually(done, timeout=60, what=f"{runtime.spec.name} outbox published")

    async def analytics_sql(self, sql: str, **params: Any) -> Any:
        async with self.stack.apps["analytics"].state.runtime.session() as s:
            return (await s.execute(text(sql), params)).all()

    async def applied(self, ce_ids: list[str], what: str = "events applied by analytics") -> None:
        """Wait until the analytics consumer has applied every one of these events."""

        async def seen() -> bool:
            n = (await self.analytics_sql("SELECT count(*) FROM processed_events WHERE ce_id = ANY(:ids)",
                                          ids=ce_ids))[0][0]
            return bool(n == len(set(ce_ids)))

        await eventually(seen, timeout=90, what=what)


@pytest.fixture(scope="session")
def lab_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    with own_broker(tmp_path_factory.mktemp("analytics-broker")) as broker:
        yield broker


@pytest.fixture(scope="session")
def lab_url(infra: Infra) -> str:
    return infra.database("fq_analytics_lab")


@pytest.fixture(scope="session")
async def lab(lab_url: str, lab_broker: EmbeddedBroker) -> AsyncIterator[Lab]:
    url = lab_url
    intake = producer("intake", url, lab_broker.bootstrap, [Topic.CASE])
    routing = producer("routing", url, lab_broker.bootstrap, [Topic.CASE, Topic.ORG])
    await intake.start()
    await routing.start()
    stack = await start_stack(url, lab_broker.bootstrap, names=("analytics",), import_org=False)
    try:
        yield Lab(url, lab_broker.bootstrap, intake, routing, stack)
    finally:
        await stack.close()
        await routing.stop()
        await intake.stop()
