"""Notify's own stack: intake, routing and notify in-process on a broker and database of their own, all on one
frozen clock (reminders, quiet hours and survey expiry are driven by moving it; nothing sleeps for a deadline).

The delivery worker does not loop here: tests call ``worker.tick()``. Contact data is read from the real
routing and intake apps through their internal APIs (httpx over ASGI: the real services, not mocks).
"""

from __future__ import annotations

import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from notify_svc.adapters.channels import HttpSmsProvider
from notify_svc.adapters.contacts import Contacts
from notify_svc.deps import NotifyDeps
from notify_svc.workers.deliveries import DeliveryWorker
from services.embedded import EmbeddedBroker, free_port
from shared.clock import SHANGHAI, FrozenClock
from shared.events import Event, encode, envelope_for
from tests.support import Infra, Stack, own_broker, start_stack

START = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)  # a Monday, working time


@pytest.fixture(scope="session")
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture(scope="session")
def notify_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    with own_broker(tmp_path_factory.mktemp("nbroker")) as broker:
        yield broker


@pytest.fixture(scope="session")
def notify_db(infra: Infra) -> str:
    return infra.database("fq_notify")


@pytest.fixture(scope="session")
async def nstack(notify_db: str, notify_broker: EmbeddedBroker, clock: FrozenClock) -> AsyncIterator[Stack]:
    url = notify_db
    s = await start_stack(url, notify_broker.bootstrap, names=("intake", "routing", "notify"),
                          intake={"clock": clock}, routing={"clock": clock},
                          notify={"clock": clock, "run_worker": False})
    deps: NotifyDeps = s.apps["notify"].state.deps
    deps.contacts = Contacts(deps.settings, routing=s.clients["routing"], intake=s.clients["intake"])
    try:
        yield s
    finally:
        await s.close()


def notify_deps(s: Stack) -> NotifyDeps:
    deps: NotifyDeps = s.apps["notify"].state.deps
    return deps


def worker(s: Stack) -> DeliveryWorker:
    w = notify_deps(s).worker
    assert isinstance(w, DeliveryWorker)
    return w


def next_local(clock: FrozenClock, at: time, days: int = 1) -> datetime:
    """``at`` (Asia/Shanghai) ``days`` days after the clock's current local date: always in the future."""
    local = clock.now().astimezone(SHANGHAI)
    return datetime.combine(local.date() + timedelta(days=days), at, tzinfo=SHANGHAI)


async def publish(bootstrap: str, event: Event, *, ce_id: str | None = None, times: int = 1,
                  source: str = "/fengqiao/test") -> str:
    """Publish ``event`` with the real envelope (``times`` > 1: the very same message again, a redelivery)."""
    env = envelope_for(event, source)
    if ce_id:
        env.id = ce_id
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(event.topic, encode(event), key=event.key().encode(), headers=env.headers())
    finally:
        await producer.stop()
    return env.id


async def read_events(bootstrap: str, topic: str, ce_type: str, match: dict[str, Any],
                      timeout_ms: int = 3000) -> list[dict[str, Any]]:
    """Every event of ``ce_type`` on ``topic`` whose body has the ``match`` items (read from the start)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"t-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            if not batch:
                break
            for msgs in batch.values():
                for m in msgs:
                    headers = {k: v.decode() for k, v in m.headers or ()}
                    body = json.loads(m.value or b"{}")
                    if headers.get("ce_type") == ce_type and all(body.get(k) == v for k, v in match.items()):
                        out.append(body)
    finally:
        await consumer.stop()
    return out


# --- stand-ins for third parties we cannot run: real local servers ------------------------------------


@dataclass
class Vendor:
    """A local HTTP server standing in for the SMS vendor: per phone, answers the scripted statuses, then 200
    (messages to other phones — other tests' reminders — are simply accepted)."""

    url: str
    script: dict[str, list[int]]
    requests: list[dict[str, Any]]
    accepted: list[dict[str, Any]]

    def to(self, phone: str, *, accepted: bool = True) -> list[dict[str, Any]]:
        return [m for m in (self.accepted if accepted else self.requests) if m["to"] == phone]


@contextlib.asynccontextmanager
async def sms_vendor(script: dict[str, list[int]] | None = None) -> AsyncIterator[Vendor]:
    vendor = Vendor(url="", script={k: list(v) for k, v in (script or {}).items()}, requests=[], accepted=[])

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        vendor.requests.append(body)
        mine = vendor.script.get(body["to"])
        status = mine.pop(0) if mine else 200
        if status == 200:
            if not any(a["client_ref"] == body["client_ref"] for a in vendor.accepted):
                vendor.accepted.append(body)
            return web.json_response({"code": 0, "message_id": uuid.uuid4().hex})
        return web.json_response({"code": status}, status=status)

    app = web.Application()
    app.router.add_post("/sms", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    vendor.url = f"http://127.0.0.1:{port}/sms"
    try:
        yield vendor
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def use_sms(s: Stack, vendor: Vendor) -> Iterator[None]:
    deps = notify_deps(s)
    before = deps.sms
    deps.sms = HttpSmsProvider(vendor.url, "test-key", "枫桥", 5.0)
    try:
        yield
    finally:
        deps.sms = before


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


__all__ = ["START", "UTC"]
