"""The embedded broker restarted mid-flow with all its topics gone: every case still gets assigned.

Runs on its own broker and database, so restarting the broker does not disturb other tests.
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

OPERATOR = auth(Role.OPERATOR, "S1", "op-amnesia")
ADMIN = auth(Role.ADMIN, None)


@pytest.fixture
async def lonely_stack(infra: Infra, tmp_path: Path) -> AsyncIterator[tuple[Stack, EmbeddedBroker]]:
    broker = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, "fq_amnesia")
        stack = await start_stack(url, broker.bootstrap, names=("intake", "routing"))
        try:
            yield stack, broker
        finally:
            await stack.close()
    finally:
        broker.stop()


async def _post_cases(stack: Stack, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = await stack.intake.post("/api/v1/cases", json=case_body(title=f"漏水 {i}"), headers=OPERATOR)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def _all_assigned(stack: Stack, ids: list[str]) -> list[dict[str, Any]] | None:
    cases = [(await stack.intake.get(f"/api/v1/cases/{i}", headers=ADMIN)).json() for i in ids]
    return cases if all(c["status"] == "assigned" for c in cases) else None


async def test_broker_restart_loses_topics_and_every_case_is_still_assigned_once(
    lonely_stack: tuple[Stack, EmbeddedBroker],
) -> None:
    stack, broker = lonely_stack
    before = await _post_cases(stack, 5)
    await eventually(lambda: _all_assigned(stack, before), timeout=60, what="first cases assigned")

    # cases accepted while the broker is down are kept in the outbox
    broker.stop()
    during = await _post_cases(stack, 3)
    # started from this thread on purpose: the broker is told to die with the thread that started it
    broker.start()  # a memory broker: no topics, no offsets, a new cluster id
    after = await _post_cases(stack, 5)

    await eventually(lambda: _all_assigned(stack, before + during + after), timeout=90,
                     what="every case assigned after the broker restart")
    for case_id in before + during + after:
        routing = (await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)).json()
        assert len(routing["history"]) == 1, "re-published events were deduped, not assigned twice"
    relay = stack.apps["intake"].state.runtime.relay
    assert relay.republish_count >= 1
