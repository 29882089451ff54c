"""Test support: real embedded PostgreSQL and broker, services started in-process with their lifespans.

Nothing here is a mock: the apps run their real relays and consumers against real servers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from services.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from services.registry import DEMO_ORG, ROOT, SERVICES, ServiceInfo
from shared import db
from shared.auth import Role, mint_token
from shared.settings import ServiceSettings

T = TypeVar("T")
__all__ = ["ROOT"]

_KEYS = {name: base64.b64encode(os.urandom(32)).decode() for name in ("pii", "transport", "routing_pii", "index")}
JWT_SECRET = base64.b64encode(os.urandom(32)).decode()


@dataclass
class Infra:
    pg: EmbeddedPostgres
    broker: EmbeddedBroker

    def database(self, name: str, migrate: bool = True) -> str:
        self.pg.create_database(name)
        url = self.pg.url(name)
        if migrate:
            for svc in SERVICES:
                db.upgrade(svc.migrations, url, svc.schema)
        return url


def settings_for(svc: ServiceInfo, database_url: str, bootstrap: str, **overrides: Any) -> ServiceSettings:
    base: dict[str, Any] = dict(
        env="test", database_url=database_url, kafka_bootstrap_servers=bootstrap, kafka_topic_partitions=3,
        jwt_secret=JWT_SECRET, pii_transport_key=_KEYS["transport"], outbox_poll_seconds=0.5,
        outbox_health_check_seconds=1.0, consumer_backoff_seconds=0.05, consumer_max_attempts=3,
        log_level="WARNING", db_pool_size=5,
    )
    if svc.name == "intake":
        base["pii_keys"] = f"k1:{_KEYS['pii']}"
        base["blind_index_key"] = _KEYS["index"]
        base["storage_dir"] = tempfile.mkdtemp(prefix="fq-intake-files-")  # attachments: never under ./var
    if svc.name == "routing":
        base["pii_key"] = _KEYS["routing_pii"]
    base.update(overrides)
    return svc.settings_cls(**base)


def token(role: str, unit_id: str | None, sub: str | None = None) -> str:
    settings = ServiceSettings(env="test", jwt_secret=JWT_SECRET, pii_transport_key=_KEYS["transport"])
    return mint_token(settings, sub=sub or f"t-{role}-{unit_id}", roles=[role], unit_id=unit_id)


def auth(role: str, unit_id: str | None, sub: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, unit_id, sub)}"}


ADMIN = {"role": Role.ADMIN, "unit_id": None}


@dataclass
class Stack:
    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient]
    database_url: str
    bootstrap: str
    _exit: AsyncExitStack = field(default_factory=AsyncExitStack)

    def __getattr__(self, name: str) -> httpx.AsyncClient:
        try:
            return self.__dict__["clients"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    async def close(self) -> None:
        await self._exit.aclose()


async def start_stack(database_url: str, bootstrap: str, names: tuple[str, ...] = ("intake", "routing", "notify",
                      "analytics"), import_org: bool = True, **app_kwargs: Any) -> Stack:
    stack = Stack(apps={}, clients={}, database_url=database_url, bootstrap=bootstrap)
    for svc in SERVICES:
        if svc.name not in names:
            continue
        module = __import__(f"{svc.package}.app", fromlist=["create_app"])
        app = module.create_app(settings_for(svc, database_url, bootstrap), **app_kwargs.get(svc.name, {}))
        await stack._exit.enter_async_context(LifespanManager(app, startup_timeout=60, shutdown_timeout=60))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{svc.name}")
        await stack._exit.enter_async_context(client)
        stack.apps[svc.name] = app
        stack.clients[svc.name] = client
    if import_org and "routing" in stack.clients:
        r = await stack.clients["routing"].post("/api/v1/org/import", json=json.loads(DEMO_ORG.read_text()),
                                                headers=auth(Role.SERVICE, None))
        assert r.status_code == 200, r.text
        if "notify" in stack.apps:
            await notify_knows_org(stack)
    return stack


@asynccontextmanager
async def own_stack(infra: Infra, tmp_path_factory: Any, name: str, **kwargs: Any) -> AsyncIterator[Stack]:
    """A stack on a broker and a database of its own (``fq_<name>``), for a module whose clock or broker restarts
    must not disturb other tests; ``kwargs`` go to ``start_stack``."""
    broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp(name) / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, f"fq_{name}")
        s = await start_stack(url, broker.bootstrap, **kwargs)
        try:
            yield s
        finally:
            await s.close()
    finally:
        broker.stop()


async def notify_knows_org(stack: Stack) -> None:
    """Wait until notify applied the demo org's units and members. They travel on the org topic, the cases on the
    case topic, with no order between the two: a case event notify applies before it knows the member it names
    (a 包案领导, a 协办 member) reaches nobody — in production the org is imported long before the cases."""
    from sqlalchemy import func, select

    from notify_svc.tables import Recipient, Unit

    org = json.loads(DEMO_ORG.read_text())

    async def org_known() -> bool:
        async with stack.apps["notify"].state.runtime.session() as session:
            units = (await session.execute(select(func.count()).select_from(Unit))).scalar_one()
            members = (await session.execute(select(func.count()).select_from(Recipient))).scalar_one()
        return bool(units >= len(org["units"]) and members >= len(org["members"]))

    await eventually(org_known, timeout=60, what="notify learns the demo org from routing's events")


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 30.0,
                     interval: float = 0.1, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def with_etag(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus ``If-Match``: the ``ETag`` of ``GET path`` as the same caller reads it now (every update
    of a versioned resource needs it: 428 without, 412 when stale)."""
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, f"GET {path} for its ETag: {r.status_code} {r.text}"
    return {**headers, "If-Match": r.headers["ETag"]}


async def act(client: httpx.AsyncClient, assignment_id: Any, action: str, headers: dict[str, str],
              body: Any = None) -> httpx.Response:
    """A workflow action as a client makes it: read the assignment for its ETag, then POST the action with it as
    ``If-Match``. A caller who cannot read it gets that answer (404) instead."""
    path = f"/api/v1/assignments/{assignment_id}"
    read = await client.get(path, headers=headers)
    if read.status_code != 200:
        return read
    return await client.post(f"{path}/{action}", headers={**headers, "If-Match": read.headers["ETag"]}, json=body)


def unique_phone() -> str:
    return f"138{uuid.uuid4().int % 10**8:08d}"


def id_number(serial: int) -> str:
    """A valid 18-digit resident ID number (GB 11643 check digit), one per ``serial`` (mod 1000)."""
    body = f"11010219800101{serial % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "walk_in",
        "request_type": "dispute",
        "title": "楼上漏水",
        "description": "楼上卫生间漏水到我家天花板，协商无果，请求调解。",
        # a fresh address too: the same applicant or address with the same story is one matter (一件事只立一案)
        "location": {"grid_id": "G01",
                     "address": f"松涛花园{uuid.uuid4().int % 90 + 10}号楼{uuid.uuid4().int % 9000 + 100}室"},
        # a fresh applicant each time, so cases do not count as one person's repeat visits (重复来访)
        "parties": [{"role": "applicant", "kind": "person", "name": "王小明", "phone": unique_phone()}],
    }
    body.update(overrides)
    return body


@contextmanager
def own_broker(tmp: Path) -> Iterator[EmbeddedBroker]:
    """A broker of its own, for tests whose topics must hold only what they publish."""
    from services.embedded import free_port

    broker = EmbeddedBroker(free_port(), log_file=tmp / "broker.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def start_infra(tmp: Path) -> Infra:
    from services.embedded import free_port

    pg = EmbeddedPostgres(tmp / "pgdata", free_port(), durable=False, log_file=tmp / "postgres.log")
    pg.start()
    broker = EmbeddedBroker(free_port(), log_file=tmp / "broker.log")
    broker.start()
    return Infra(pg=pg, broker=broker)
