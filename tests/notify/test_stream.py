"""The live inbox stream (SSE) over a real HTTP server: new items are pushed, a reconnect catches up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from notify_svc.app import create_app
from services.embedded import free_port
from services.registry import SERVICES
from shared.auth import Role
from shared.clock import FrozenClock
from shared.events import CaseAssigned
from shared.events.case import Level, Track
from tests.notify.conftest import publish
from tests.support import Stack, eventually, settings_for, token


@contextlib.asynccontextmanager
async def served(s: Stack | FastAPI) -> AsyncIterator[str]:
    """The notify app (already started by the stack) behind a real uvicorn server: SSE needs real streaming."""
    port = free_port()
    app = s if isinstance(s, FastAPI) else s.apps["notify"]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to await
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line.strip():
            if event:
                yield event
            event = {}
            continue
        key, _, value = line.partition(":")
        event[key] = value.strip()


def _assigned(clock: FrozenClock, code: str) -> CaseAssigned:
    now = clock.now()
    return CaseAssigned(case_id=uuid.uuid4(), at=now, assignment_id=uuid.uuid4(), case_code=code, unit_id="G05",
                        unit_path=["D1", "S1", "C2", "G05"], level=Level.GRID, track=Track.GENERAL,
                        accept_due_at=now + timedelta(hours=4), rule_id="default.grid", explanation="测试")


async def _next_inbox(stream: AsyncIterator[dict[str, Any]], case_id: uuid.UUID) -> dict[str, Any]:
    async def find() -> dict[str, Any]:
        async for ev in stream:
            if ev.get("event") == "inbox":
                data: dict[str, Any] = json.loads(ev["data"])
                if data["case_id"] == str(case_id):
                    return {"id": ev["id"], **data}
        raise AssertionError("stream ended")

    return await asyncio.wait_for(find(), 60)


async def test_new_items_are_pushed_and_a_reconnect_catches_up(nstack: Stack, clock: FrozenClock) -> None:
    tok = token(Role.GRID_WORKER, "G05", "U-G05-1")
    async with served(nstack) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        r = await client.get("/api/v1/inbox/stream")
        assert r.status_code == 401 and r.json()["code"] == "missing_token"
        first = _assigned(clock, "FQ-SSE-1")
        async with client.stream("GET", "/api/v1/inbox/stream", params={"access_token": tok}) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
            stream = sse_events(resp)
            ready = await asyncio.wait_for(anext(stream), 30)
            assert ready["event"] == "ready"
            await publish(nstack.bootstrap, first)
            item = await _next_inbox(stream, first.case_id)
            assert item["title"] == "新案件待签收：FQ-SSE-1" and "user_id" not in item
        # while disconnected, another item arrives; the reconnect with Last-Event-ID gets it first
        second = _assigned(clock, "FQ-SSE-2")
        await publish(nstack.bootstrap, second)
        for _ in range(600):
            page = (await client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {tok}"})).json()
            if any(i["case_id"] == str(second.case_id) for i in page["items"]):
                break
            await asyncio.sleep(0.1)
        async with client.stream("GET", "/api/v1/inbox/stream", headers={"Authorization": f"Bearer {tok}",
                                                                          "Last-Event-ID": item["id"]}) as resp:
            missed = await _next_inbox(sse_events(resp), second.case_id)
            assert missed["title"] == "新案件待签收：FQ-SSE-2"


async def test_a_stream_only_carries_the_callers_items(nstack: Stack, clock: FrozenClock) -> None:
    other = token(Role.GRID_WORKER, "G06", "U-G06-1")
    mine = token(Role.GRID_WORKER, "G05", "U-G05-1")
    async with served(nstack) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        async with client.stream("GET", "/api/v1/inbox/stream", params={"access_token": other}) as theirs, \
                client.stream("GET", "/api/v1/inbox/stream", params={"access_token": mine}) as own:
            their_stream, own_stream = sse_events(theirs), sse_events(own)
            await asyncio.wait_for(anext(their_stream), 30)
            await asyncio.wait_for(anext(own_stream), 30)
            event = _assigned(clock, "FQ-SSE-3")
            await publish(nstack.bootstrap, event)
            await _next_inbox(own_stream, event.case_id)
            # G06's stream got nothing for this case: the next thing it carries is its own item
            own_event = event.model_copy(update={"case_id": uuid.uuid4(), "unit_id": "G06",
                                                 "unit_path": ["D1", "S1", "C2", "G06"]})
            await publish(nstack.bootstrap, own_event)
            ev = await asyncio.wait_for(_first_inbox(their_stream), 60)
            assert json.loads(ev["data"])["case_id"] == str(own_event.case_id)


async def _first_inbox(stream: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    async for ev in stream:
        if ev.get("event") == "inbox":
            return ev
    raise AssertionError("stream ended")


async def test_an_item_too_large_for_a_notify_is_read_from_the_table(nstack: Stack, clock: FrozenClock) -> None:
    """NOTIFY payloads stop at 8000 bytes: a larger item reaches the stream by id and is read from the inbox."""
    tok = token(Role.GRID_WORKER, "G05", "U-G05-1")
    big = _assigned(clock, "FQ-SSE-BIG").model_copy(update={"explanation": "规则说明" * 1000})  # 12 000 bytes
    async with served(nstack) as base, httpx.AsyncClient(base_url=base, timeout=60) as client, \
            client.stream("GET", "/api/v1/inbox/stream", params={"access_token": tok}) as resp:
        stream = sse_events(resp)
        assert (await asyncio.wait_for(anext(stream), 30))["event"] == "ready"
        await publish(nstack.bootstrap, big)
        item = await _next_inbox(stream, big.case_id)
    assert item["title"] == "新案件待签收：FQ-SSE-BIG" and item["body"].count("规则说明") == 1000
    assert item["kind"] == "assigned" and "user_id" not in item


async def test_a_stream_on_another_replica_gets_the_item_once(nstack: Stack, clock: FrozenClock,
                                                              notify_db: str) -> None:
    """Two replicas: an item the first replica's consumer writes reaches the streams both serve, once each (the
    writer's own streams from memory after the commit, the other replica's through the NOTIFY its hub sends once
    it knows another hub listens)."""
    svc = next(s for s in SERVICES if s.name == "notify")
    second = create_app(settings_for(svc, notify_db, nstack.bootstrap), clock=clock, run_worker=False,
                        run_consumer=False, run_relay=False)
    first_hub = nstack.apps["notify"].state.deps.hub

    async def peers() -> bool:
        return bool(first_hub.peers)

    tok = token(Role.GRID_WORKER, "G05", "U-G05-1")
    async with LifespanManager(second, startup_timeout=60, shutdown_timeout=60):
        await eventually(peers, timeout=30, what="the first replica's hub sees the second's")
        async with served(nstack) as base1, served(second) as base2, \
                httpx.AsyncClient(base_url=base1, timeout=60) as c1, \
                httpx.AsyncClient(base_url=base2, timeout=60) as c2, \
                c1.stream("GET", "/api/v1/inbox/stream", params={"access_token": tok}) as r1, \
                c2.stream("GET", "/api/v1/inbox/stream", params={"access_token": tok}) as r2:
            here, there = sse_events(r1), sse_events(r2)
            assert (await asyncio.wait_for(anext(here), 30))["event"] == "ready"
            assert (await asyncio.wait_for(anext(there), 30))["event"] == "ready"
            first, then = _assigned(clock, "FQ-SSE-R1"), _assigned(clock, "FQ-SSE-R2")
            await publish(nstack.bootstrap, first)
            assert (await _next_inbox(there, first.case_id))["title"] == "新案件待签收：FQ-SSE-R1"
            assert (await _next_inbox(here, first.case_id))["title"] == "新案件待签收：FQ-SSE-R1"
            await publish(nstack.bootstrap, then)
            for stream in (here, there):  # the next item each stream carries is the next one: nothing twice
                assert json.loads((await asyncio.wait_for(_first_inbox(stream), 60))["data"])["case_id"] == str(
                    then.case_id)
