"""Degrade, don't fall over: with the broker down, intake's front door stays ready and registers cases (issue 15).

The outbox buffers what is written; /readyz answers 200 with the broker ``degraded`` (no service's HTTP API needs
the broker: ``ServiceSpec.needs_broker_to_serve`` is false for all four), and once the broker is back the case is
routed. Runs on a broker of its own, so stopping it does not disturb other tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.embedded import EmbeddedBroker, free_port
from shared.auth import Role
from tests.support import Infra, Stack, auth, case_body, eventually, start_stack

OPERATOR = auth(Role.OPERATOR, "S1", "op-broker-down")
ADMIN = auth(Role.ADMIN, None)


@pytest.fixture
async def stack_and_broker(infra: Infra, tmp_path: Path) -> AsyncIterator[tuple[Stack, EmbeddedBroker]]:
    broker = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, "fq_broker_down")
        stack = await start_stack(url, broker.bootstrap, names=("intake", "routing"))
        try:
            yield stack, broker
        finally:
            await stack.close()
    finally:
        broker.stop()


async def test_intake_stays_ready_and_registers_cases_while_the_broker_is_down(
        stack_and_broker: tuple[Stack, EmbeddedBroker]) -> None:
    stack, broker = stack_and_broker
    await eventually(lambda: _ready(stack), timeout=60, interval=0.5, what="intake ready (its consumer joined)")

    broker.stop()
    r = await stack.intake.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "degraded" and body["checks"]["broker"].startswith("degraded: "), body
    assert body["checks"]["database"] == "ok"

    created = await stack.intake.post("/api/v1/cases", json=case_body(title="断网时登记"), headers=OPERATOR)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    assert (await stack.intake.get("/metrics")).status_code == 200

    # the relay and the consumers notice: still ready, each check degraded rather than failing
    async def relay_degraded() -> dict[str, Any] | None:
        r = await stack.intake.get("/readyz")
        assert r.status_code == 200, r.text
        checks = r.json()["checks"]
        return checks if checks.get("outbox_relay", "").startswith("degraded: ") else None

    checks = await eventually(relay_degraded, timeout=30, interval=0.5, what="the relay failing while degraded")
    assert all(v == "ok" or v.startswith("degraded: ") for v in checks.values()), checks
    assert (await stack.routing.get("/readyz")).status_code == 200

    broker.start()  # from this thread, as in the fixture; a memory broker: no topics, no offsets

    async def routed() -> dict[str, Any] | None:
        case = (await stack.intake.get(f"/api/v1/cases/{case_id}", headers=ADMIN)).json()
        return case if case["status"] == "assigned" else None

    await eventually(routed, timeout=90, interval=0.5, what="the case registered during the outage routed")
    await eventually(lambda: _ready(stack), timeout=60, interval=0.5, what="intake ready (not degraded) again")


async def _ready(stack: Stack) -> bool:
    return (await stack.intake.get("/readyz")).json()["status"] == "ready"
