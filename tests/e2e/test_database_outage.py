"""PostgreSQL stopped for 15 s while events flow: every effect exists exactly once afterwards, nothing is
dead-lettered, and meanwhile intake answers 503 with ``Retry-After`` and every consumer says it is degraded.

Runs on a PostgreSQL and a broker of its own, so stopping the database does not disturb other tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from services.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from shared.auth import Role
from shared.bus.dlq import pending_dead_letters, read_dead_letters
from shared.events import Topic
from tests.support import Infra, Stack, auth, case_body, eventually, start_stack

OPERATOR = auth(Role.OPERATOR, "S1", "op-outage")
ADMIN = auth(Role.ADMIN, None)
G01_WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")  # the demo org's G01 grid worker
OUTAGE_SECONDS = 15
CASES = 12


@pytest.fixture
async def outage_stack(tmp_path: Path) -> AsyncIterator[tuple[Stack, Infra]]:
    pg = EmbeddedPostgres(tmp_path / "pgdata", free_port(), durable=False, log_file=tmp_path / "postgres.log")
    pg.start()  # from this thread: the server is told to die with the thread that started it
    broker = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log")
    broker.start()
    own = Infra(pg=pg, broker=broker)
    try:
        url = await asyncio.to_thread(own.database, "fq_outage")
        stack = await start_stack(url, broker.bootstrap)
        try:
            yield stack, own
        finally:
            await stack.close()
    finally:
        broker.stop()
        pg.stop()


async def _raw_case_events(bootstrap: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(Topic.CASE, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=1000):
            for msgs in batch.values():
                got.extend(msgs)
    finally:
        await consumer.stop()
    return got


async def _redeliver(bootstrap: str, records: list[ConsumerRecord[bytes, bytes]]) -> None:
    """Copies of events already applied, as a rebalance or a relay retry delivers them: each consumer needs the
    database to see that it is a duplicate, so every consumer meets the outage for sure."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for m in records:
            await producer.send_and_wait(m.topic, value=m.value, key=m.key, headers=list(m.headers or ()))
    finally:
        await producer.stop()


async def test_a_database_outage_loses_and_doubles_nothing(outage_stack: tuple[Stack, Infra]) -> None:
    stack, own = outage_stack
    window = {"unit_id": "G01", "from": datetime.now(UTC).isoformat()}

    async def analytics_ready() -> bool:  # 404 until analytics has seen the org events
        return (await stack.analytics.get("/api/v1/kpis", params=window, headers=G01_WORKER)).status_code == 200

    await eventually(analytics_ready, timeout=60, what="analytics knows the org")
    warmup = await stack.intake.post("/api/v1/cases", json=case_body(title="停电前"), headers=OPERATOR)
    assert warmup.status_code == 201, warmup.text
    earlier = [warmup.json()["id"]]
    await eventually(lambda: _all_assigned(stack, earlier), timeout=60, what="the first case assigned")
    copies = await _raw_case_events(own.broker.bootstrap)
    assert copies, "the first case's events are on the topic"

    # a burst of cases, and the database stops while their events are on their way through the services
    ids = [*earlier]
    for i in range(CASES):
        r = await stack.intake.post("/api/v1/cases", json=case_body(title=f"漏水 {i}"), headers=OPERATOR)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    await asyncio.to_thread(own.pg.stop)
    stopped = time.monotonic()
    await _redeliver(own.broker.bootstrap, copies)

    r = await stack.intake.post("/api/v1/cases", json=case_body(title="停电中"), headers=OPERATOR)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "database_unavailable" and int(r.headers["Retry-After"]) > 0
    r = await stack.intake.get(f"/api/v1/cases/{ids[0]}", headers=ADMIN)
    assert r.status_code == 503 and r.json()["code"] == "database_unavailable"

    async def all_degraded() -> dict[str, Any] | None:
        states = {}
        for name in ("intake", "routing", "notify", "analytics"):
            ready = (await stack.clients[name].get("/readyz")).json()
            states[name] = ready["checks"]["consumer"]
        return states if all(s.startswith("degraded: ") for s in states.values()) else None

    states = await eventually(all_degraded, timeout=OUTAGE_SECONDS - 3, interval=0.3,
                              what="every consumer degraded while the database is down")
    for name in ("intake", "routing", "notify", "analytics"):
        metrics = await stack.clients[name].get("/metrics")
        assert metrics.status_code == 200, f"{name} /metrics answers while the database is down"
        group = _consumer(stack, name)
        assert f'fq_consumer_degraded{{consumer="{group}"}} 1.0' in metrics.text
        assert f'fq_consumer_infra_retries_total{{consumer="{group}"}}' in metrics.text
    assert "unreachable" in (await stack.intake.get("/readyz")).json()["checks"]["database"]

    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    own.pg.start()  # from this thread, as in the fixture

    try:
        await eventually(lambda: _all_assigned(stack, ids), timeout=90, interval=0.5,
                         what="every case assigned in intake after the outage")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; state: {await _diagnose(stack, own)}") from exc

    async def inbox_complete() -> list[str] | None:
        r = await stack.notify.get("/api/v1/inbox", params={"limit": 200}, headers=G01_WORKER)
        if r.status_code != 200:
            return None
        cases = [i["case_id"] for i in r.json()["items"] if i["case_id"] in ids]
        return cases if set(cases) == set(ids) else None

    inbox = await eventually(inbox_complete, timeout=60, interval=0.5, what="an inbox item for every case")

    async def counted() -> dict[str, Any] | None:
        r = await stack.analytics.get("/api/v1/kpis", params=window, headers=G01_WORKER)
        return r.json() if r.status_code == 200 and r.json()["received"] >= len(ids) else None

    kpis = await eventually(counted, timeout=60, interval=0.5, what="analytics counts every case")

    async def recovered() -> bool:
        for name in ("intake", "routing", "notify", "analytics"):
            if (await stack.clients[name].get("/readyz")).json()["status"] != "ready":
                return False
        return True

    await eventually(recovered, timeout=30, interval=0.5, what="every service ready again")
    await asyncio.sleep(2)  # a second copy of anything would be applied by now
    # exactly once: one assignment per case in routing, one inbox item, one count
    for case_id in ids:
        routing = (await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)).json()
        assert len(routing["history"]) == 1, f"{case_id} assigned once"
    r = await stack.notify.get("/api/v1/inbox", params={"limit": 200}, headers=G01_WORKER)
    inbox = [i["case_id"] for i in r.json()["items"] if i["case_id"] in ids]
    assert sorted(inbox) == sorted(ids), "one inbox item per case"
    kpis = (await stack.analytics.get("/api/v1/kpis", params=window, headers=G01_WORKER)).json()
    assert kpis["received"] == len(ids), "analytics counted each case once"
    # nothing dead-lettered, and the DLQ says so everywhere
    for topic in (Topic.CASE, Topic.ORG, Topic.ALERT):
        assert await read_dead_letters(own.broker.bootstrap, topic, idle_ms=500) == []
    assert await pending_dead_letters(own.broker.bootstrap, [Topic.CASE]) == {Topic.dlq(Topic.CASE): 0}
    for name in ("intake", "routing", "notify", "analytics"):
        ready = (await stack.clients[name].get("/readyz")).json()
        assert ready["details"]["dead_letters"] == "ok", (name, ready)
        retries = stack.apps[name].state.runtime.metrics.registry.get_sample_value(
            "fq_consumer_infra_retries_total", {"consumer": _consumer(stack, name)})
        assert retries and retries > 0, f"{name} retried through the outage ({states[name]})"


async def _diagnose(stack: Stack, own: Infra) -> dict[str, Any]:
    """What a failure report needs: readiness, the consumers' pauses and assignments, dead letters, statuses."""
    out: dict[str, Any] = {}
    for name in ("intake", "routing", "notify", "analytics"):
        runtime = stack.apps[name].state.runtime
        c = runtime.consumer
        out[name] = {"readyz": (await stack.clients[name].get("/readyz")).json(),
                     "relay_error": runtime.relay.last_error if runtime.relay else None,
                     "paused": sorted(map(str, c._consumer.paused())) if c._consumer else None,
                     "assigned": sorted(map(str, c._consumer.assignment())) if c._consumer else None,
                     "paused_until": {str(k): v for k, v in c._pauses.until.items()}}
    out["dlq"] = [(d.consumer, d.ce_type, d.error_type, d.error[:200])
                  for d in await read_dead_letters(own.broker.bootstrap, Topic.CASE, idle_ms=500)]
    return out


def _consumer(stack: Stack, name: str) -> str:
    return str(stack.apps[name].state.runtime.consumer.name)  # analytics: analytics-svc-<epoch>


async def _all_assigned(stack: Stack, ids: list[str]) -> bool:
    for case_id in ids:
        r = await stack.intake.get(f"/api/v1/cases/{case_id}", headers=ADMIN)
        if r.status_code != 200 or r.json()["status"] != "assigned":
            return False
    return True
