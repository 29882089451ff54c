"""The hotline environment: intake + routing on their own broker and database, intake served on a real port,
and the 12345 platform simulator (services/hotline_sim.py) running as its own process. Both services trace (each its
own provider, one in-memory exporter: ``spans``), so a callback's ``traceparent`` can be followed back.

Intake runs on an adjustable clock (real time plus an offset the tests move), so callback back-off is
exercised without waiting: the simulator signs with real time, so tests keep the offset within the ±5 min skew.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.embedded import EmbeddedBroker, free_port
from services.registry import DEMO_ORG, ROOT, SERVICES
from shared import tracing
from shared.auth import Role
from shared.clock import Clock
from tests.support import Infra, auth, eventually, settings_for

CLIENT_ID = "qinglan-12345"
SECRET = "platform-secret-0123456789abcdef"
CALLBACK_SECRET = "callback-secret-fedcba9876543210"
ORDERS = [json.loads(line) for line in (ROOT / "services/data/hotline_orders_dev.jsonl").read_text().splitlines()
          if line.strip()]


class MovableClock(Clock):
    """Real time plus an offset the test moves forward (and resets): the sender's back-off without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return super().now() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@dataclass
class HotlineEnv:
    intake: httpx.AsyncClient  # in-process client of the same app the simulator reaches over HTTP
    routing: httpx.AsyncClient
    sim: httpx.AsyncClient  # the simulator's control port
    intake_url: str
    clock: MovableClock
    database_url: str
    apps: dict[str, Any]
    spans: InMemorySpanExporter  # intake's and routing's finished spans

    async def push(self, *order_nos: str, orders: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        doc: dict[str, Any] = {"orders": orders} if orders is not None else {"order_nos": list(order_nos)}
        r = await self.sim.post("/sim/push", json=doc, timeout=120)
        assert r.status_code == 200, r.text
        return list(r.json())

    async def message(self, order_no: str, kind: str, **body: Any) -> dict[str, Any]:
        r = await self.sim.post("/sim/message", json={"order_no": order_no, "kind": kind, "body": body}, timeout=60)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def sim_callbacks(self, order_no: str) -> dict[str, Any]:
        r = await self.sim.get("/sim/callbacks", params={"order_no": order_no})
        return dict(r.json())

    async def reconcile(self, order_no: str) -> dict[str, Any]:
        r = await self.intake.get(f"/api/v1/hotline/orders/{order_no}", headers=auth(Role.ADMIN, None))
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def case(self, case_id: str) -> dict[str, Any]:
        return dict((await self.intake.get(f"/api/v1/cases/{case_id}", headers=auth(Role.ADMIN, None))).json())

    async def current_assignment(self, case_id: str) -> dict[str, Any] | None:
        r = await self.routing.get(f"/api/v1/cases/{case_id}/routing", headers=auth(Role.ADMIN, None))
        return r.json()["current"] if r.status_code == 200 else None


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


def _sim_process(log: Path, port: int, control: int, intake_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "services.hotline_sim", "--port", str(port), "--control-port", str(control),
         "--intake-url", intake_url, "--client-id", CLIENT_ID, "--secret", SECRET,
         "--callback-secret", CALLBACK_SECRET],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="session")
async def hotline(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[HotlineEnv]:
    tmp = tmp_path_factory.mktemp("hotline")
    broker = EmbeddedBroker(free_port(), log_file=tmp / "broker.log")
    broker.start()
    sim_port, control_port, intake_port = free_port(), free_port(), free_port()
    clock = MovableClock()
    spans = InMemorySpanExporter()
    providers = {name: tracing.make_provider(name, SimpleSpanProcessor(spans), env={})
                 for name in ("intake", "routing")}
    proc: subprocess.Popen[bytes] | None = None
    try:
        url = await asyncio.to_thread(infra.database, "fq_hotline")
        services = {s.name: s for s in SERVICES}
        clients = {CLIENT_ID: {"secret": SECRET, "callback_url": f"http://127.0.0.1:{sim_port}/callbacks",
                               "callback_secret": CALLBACK_SECRET, "mapping": "qinglan", "unit_id": "S1"}}
        from intake_svc.app import create_app as create_intake
        from routing_svc.app import create_app as create_routing

        intake_app = create_intake(settings_for(
            services["intake"], url, broker.bootstrap, hotline_clients=clients, hotline_sender_poll_seconds=0.1,
            hotline_callback_backoff_seconds=2.0, hotline_callback_backoff_max_seconds=16.0,
            hotline_callback_max_attempts=10, hotline_callback_timeout_seconds=5.0), clock=clock,
            tracer_provider=providers["intake"])
        routing_app = create_routing(settings_for(services["routing"], url, broker.bootstrap),
                                     tracer_provider=providers["routing"])
        async with LifespanManager(intake_app, startup_timeout=60, shutdown_timeout=60), \
                LifespanManager(routing_app, startup_timeout=60, shutdown_timeout=60):
            server = uvicorn.Server(uvicorn.Config(intake_app, host="127.0.0.1", port=intake_port, lifespan="off",
                                                   log_level="warning"))
            serving = asyncio.create_task(server.serve())
            await eventually(lambda: _started(server), what="intake serving on its port")
            intake_url = f"http://127.0.0.1:{intake_port}"
            proc = _sim_process(tmp / "sim.log", sim_port, control_port, intake_url)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=intake_app), base_url="http://intake") \
                    as intake, httpx.AsyncClient(transport=httpx.ASGITransport(app=routing_app),
                                                 base_url="http://routing") as routing, \
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{control_port}", timeout=30) as sim:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if (await sim.get("/sim/state")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        if proc.poll() is not None or time.monotonic() > deadline:
                            raise RuntimeError((tmp / "sim.log").read_text()) from None
                        await asyncio.sleep(0.1)
                r = await routing.post("/api/v1/org/import", json=json.loads(DEMO_ORG.read_text()),
                                       headers=auth(Role.SERVICE, None))
                assert r.status_code == 200, r.text
                yield HotlineEnv(intake=intake, routing=routing, sim=sim, intake_url=intake_url, clock=clock,
                                 database_url=url, apps={"intake": intake_app, "routing": routing_app},
                                 spans=spans)
            server.should_exit = True
            await serving
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()


@pytest.fixture
async def env(hotline: HotlineEnv) -> AsyncIterator[HotlineEnv]:
    """The shared environment, with the clock offset reset after each test and the simulator healthy again."""
    yield hotline
    hotline.clock.offset = timedelta()
    await hotline.sim.post("/sim/unreachable", json={"on": False})


async def wait_for(check: Any, what: str, timeout: float = 60) -> Any:
    return await eventually(check, timeout=timeout, what=what)
