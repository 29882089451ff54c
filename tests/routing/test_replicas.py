"""Two routing replicas in one consumer group, on the same database and broker, both running the scheduler:
every case is assigned exactly once and every missed deadline escalates exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from routing_svc.app import create_app
from services.embedded import EmbeddedBroker, free_port
from services.registry import SERVICES
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from shared.events import CaseReceived, Topic, encode, envelope_for
from shared.events.case import LocationRef
from tests.support import Infra, Stack, auth, case_body, eventually, settings_for, start_stack

OPERATOR = auth(Role.OPERATOR, "S1", "op-replicas")
ADMIN = auth(Role.ADMIN, None)
CASES = 24


@pytest.fixture(scope="module")
async def replicas(infra: Infra, tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[tuple[Stack, FastAPI, FrozenClock]]:
    clock = FrozenClock(datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))  # a Tuesday morning
    broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp("replicas") / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, "fq_replicas")
        stack = await start_stack(url, broker.bootstrap, names=("intake", "routing"), routing={"clock": clock})
        try:
            routing = next(s for s in SERVICES if s.name == "routing")
            second = create_app(settings_for(routing, url, broker.bootstrap), clock=clock)
            async with LifespanManager(second, startup_timeout=60, shutdown_timeout=60):
                yield stack, second, clock
        finally:
            await stack.close()
    finally:
        broker.stop()


async def _count(app: FastAPI, sql: str) -> list[tuple[object, ...]]:
    async with app.state.runtime.session() as s:
        return [tuple(r) for r in (await s.execute(text(sql))).all()]


async def test_two_replicas_assign_once_and_escalate_once(replicas: tuple[Stack, FastAPI, FrozenClock]) -> None:
    stack, second, clock = replicas
    first = stack.apps["routing"]
    await asyncio.gather(first.state.runtime.consumer.wait_started(), second.state.runtime.consumer.wait_started())
    ids = []
    for i in range(CASES):
        r = await stack.intake.post("/api/v1/cases", json=case_body(title=f"漏水 {i}"), headers=OPERATOR)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    async def all_assigned() -> bool:
        rows = await _count(first, "SELECT count(DISTINCT case_id) FROM routing.assignments")
        return rows[0][0] == CASES

    await eventually(all_assigned, timeout=90, what="every case assigned")
    per_case = await _count(first, "SELECT case_id, count(*) FROM routing.assignments GROUP BY case_id")
    assert len(per_case) == CASES and all(n == 1 for _, n in per_case)
    assigned_events = await _count(first, "SELECT key, count(*) FROM routing.outbox "
                                          "WHERE ce_type = 'fq.case.assigned.v1' GROUP BY key")
    assert len(assigned_events) == CASES and all(n == 1 for _, n in assigned_events)

    # every grid misses its accept deadline; both schedulers (their loops and explicit ticks) race for the rows
    clock.advance(timedelta(days=1))
    client2 = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://routing-2")
    async with client2:
        await asyncio.gather(*(app.state.scheduler.tick() for app in (first, second, first, second)))

        async def all_escalated() -> bool:
            rows = await _count(first, "SELECT count(*) FROM routing.assignments WHERE status = 'escalated'")
            return rows[0][0] == CASES

        await eventually(all_escalated, timeout=60, what="every grid assignment escalated")
        await asyncio.gather(*(app.state.scheduler.tick() for app in (first, second)))
        per_case = await _count(first, "SELECT case_id, count(*) FROM routing.assignments GROUP BY case_id")
        assert all(n == 2 for _, n in per_case), "one escalation per case, never two"
        for ce_type in ("fq.case.escalated.v1", "fq.case.overdue.v1"):
            rows = await _count(first, f"SELECT key, count(*) FROM routing.outbox WHERE ce_type = '{ce_type}' "
                                       "GROUP BY key")
            assert len(rows) == CASES and all(n == 1 for _, n in rows), ce_type
        # either replica answers for every case (one database)
        for case_id in ids[:3]:
            r = await client2.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)
            assert r.status_code == 200 and r.json()["current"]["unit_id"] == "C1"
    assert first.state.scheduler.acted + second.state.scheduler.acted == CASES


async def test_a_received_event_delivered_again_under_another_id_is_not_assigned_again(
        replicas: tuple[Stack, FastAPI, FrozenClock]) -> None:
    stack, _, _ = replicas
    first = stack.apps["routing"]
    r = await stack.intake.post("/api/v1/cases", json=case_body(title="重复投递"), headers=OPERATOR)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    async def assigned() -> int:
        return int((await _count(first, f"SELECT count(*) FROM routing.assignments WHERE case_id = '{case_id}'"
                                 ))[0][0])

    await eventually(assigned, timeout=60, what="the case assigned")
    async with first.state.runtime.session() as s:
        payload = (await s.execute(text(  # what intake published, as the broker delivered it
            "SELECT payload::text FROM intake.outbox WHERE key = :k AND ce_type = 'fq.case.received.v1'"),
            {"k": case_id})).scalar_one()
    received = CaseReceived.model_validate_json(payload)
    # the same fact twice more under new event ids (e.g. re-published after broker amnesia), in one batch, then a
    # new case on the same partition: once that one is routed, the copies before it were handled
    marker = received.model_copy(update={"case_id": uuid.uuid4(), "code": "FQ-MARKER-000001",
                                         "location": LocationRef(grid_id="G02")})  # the address is sealed per case
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        for ev in (received, received, marker):
            env = envelope_for(ev, "/fengqiao/intake")
            await producer.send_and_wait(Topic.CASE, value=encode(ev), key=case_id.encode(), headers=env.headers())
    finally:
        await producer.stop()

    async def marker_routed() -> bool:
        rows = await _count(first, f"SELECT count(*) FROM routing.assignments WHERE case_id = '{marker.case_id}'")
        return rows[0][0] == 1

    await eventually(marker_routed, timeout=60, what="the marker case routed")
    assert await assigned() == 1
    events = await _count(first, "SELECT count(*) FROM routing.outbox WHERE ce_type = 'fq.case.assigned.v1' "
                                 f"AND key = '{case_id}'")
    assert events[0][0] == 1
