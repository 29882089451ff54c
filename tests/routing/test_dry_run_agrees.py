"""The dry run (``POST /api/v1/rules/evaluate``) answers where real routing sends a case: for every grid of the demo
org and every level the rules can decide, and for a grid with no community above it — on a private routing replica
and database (no consumer, no relay): the real routing handler runs in a transaction of the replica's own sessions,
as the consumer runs it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from routing_svc.app import create_app
from routing_svc.domain.rules import DEFAULT_RULES_FILE
from routing_svc.handlers.routing import on_case_received
from routing_svc.tables import Assignment
from services.registry import DEMO_ORG, SERVICES
from shared.auth import Role
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.clock import SHANGHAI, FrozenClock
from shared.events import CaseReceived, envelope_for
from shared.events.case import Channel, LocationRef, RequestType
from tests.support import Infra, auth, settings_for

ADMIN = auth(Role.ADMIN, None, "admin-dry-run")
ROUTING = next(s for s in SERVICES if s.name == "routing")
LEVELS = ("grid", "community", "street", "district")
DEMO_GRIDS = sorted(u["id"] for u in json.loads(DEMO_ORG.read_text())["units"] if u["level"] == "grid")
# A street imported without a district, its community inactive and its grid active: in routing's view (active units)
# the grid has no community above it. (The import refuses a grid directly under a street, so this is how a grid
# without a community above it arises.)
LONE = {"units": [
    {"id": "S9", "name": "孤街道", "level": "street", "parent_id": None},
    {"id": "C9", "name": "撤并社区", "level": "community", "parent_id": "S9", "active": False},
    {"id": "G90", "name": "孤网格", "level": "grid", "parent_id": "C9"},
], "members": []}


@dataclass
class Lab:
    app: FastAPI
    client: httpx.AsyncClient


@pytest.fixture(scope="module")
async def lab(infra: Infra) -> AsyncIterator[Lab]:
    url = await asyncio.to_thread(infra.database, f"fq_dry_{uuid.uuid4().hex[:8]}")
    app = create_app(settings_for(ROUTING, url, infra.broker.bootstrap, rules_check_seconds=0),
                     clock=FrozenClock(datetime(2026, 11, 23, 10, tzinfo=SHANGHAI)), run_relay=False,
                     run_consumer=False)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(LifespanManager(app, startup_timeout=60))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://routing"))
        for org in (json.loads(DEMO_ORG.read_text()), LONE):
            r = await client.post("/api/v1/org/import", json=org, headers=ADMIN)
            assert r.status_code == 200, r.text
        # one rule per level, picked by the case's category, before the shipped rules
        doc: dict[str, Any] = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
        doc["rules"][:0] = [{"id": f"probe.{level}", "when": {"category": f"probe.{level}"},
                             "then": {"level": level}} for level in LEVELS]
        etag = (await client.get("/api/v1/rules", headers=ADMIN)).headers["ETag"]
        r = await client.put("/api/v1/rules", json=doc, headers={**ADMIN, "If-Match": etag})
        assert r.status_code == 200, r.text
        yield Lab(app, client)


async def dry_run(lab: Lab, grid: str, level: str) -> str:
    r = await lab.client.post("/api/v1/rules/evaluate", headers=ADMIN,
                              json={"category": f"probe.{level}", "location": {"grid_id": grid}})
    assert r.status_code == 200, r.text
    assert r.json()["decision"]["rule_id"] == f"probe.{level}"
    target: str = r.json()["decision"]["target_unit_id"]
    return target


async def routed(lab: Lab, grid: str, level: str) -> str:
    """Real routing: the consumer's handler for fq.case.received.v1, in a transaction as the consumer runs it."""
    event = CaseReceived(case_id=uuid.uuid4(), at=datetime(2026, 11, 23, 10, tzinfo=SHANGHAI),
                         code=f"FQ-DRY-{uuid.uuid4().hex[:6]}", channel=Channel.WALK_IN,
                         request_type=RequestType.DISPUTE, category=f"probe.{level}",
                         location=LocationRef(grid_id=grid))
    runtime = lab.app.state.runtime
    async with runtime.session() as session, pending.transaction(session):
        await on_case_received(EventContext(session, envelope_for(event, "/test"), lab.app.state.deps), event)
    async with runtime.session() as session:
        unit: str = (await session.execute(
            select(Assignment.unit_id).where(Assignment.case_id == event.case_id))).scalar_one()
    return unit


@pytest.mark.parametrize("level", LEVELS)
async def test_the_dry_run_answers_where_every_demo_grid_is_routed(lab: Lab, level: str) -> None:
    for grid in DEMO_GRIDS:
        assert await dry_run(lab, grid, level) == await routed(lab, grid, level), (grid, level)


async def test_a_grid_without_a_community_above_goes_to_its_street_in_both(lab: Lab) -> None:
    answers = {level: (await dry_run(lab, "G90", level), await routed(lab, "G90", level)) for level in LEVELS}
    # nearest unit at or above the level; none above the street here (no district): the case stays where it is
    assert answers == {"grid": ("G90", "G90"), "community": ("S9", "S9"), "street": ("S9", "S9"),
                       "district": ("G90", "G90")}
