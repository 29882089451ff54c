"""Org changes over HTTP on a private routing replica and database: CSV import, updates, deactivation, and
the fq.org.* events each change writes to the outbox (the relay is off so no test data leaks to the shared
stack's consumers; publishing the outbox is covered by the bus tests)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from routing_svc.app import create_app
from services.registry import DEMO_ORG, SERVICES
from shared import db
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from tests.support import Infra, auth, settings_for

ADMIN = auth(Role.ADMIN, None, "admin-org")
STREET = auth(Role.STREET_ADMIN, "S1", "street-org")
GRID = auth(Role.GRID_WORKER, "G01")
ROUTING = next(s for s in SERVICES if s.name == "routing")

UNITS_CSV = """id,name,level,parent_id,address_keywords,polygon,active
G90,梧桐里网格,grid,C1,梧桐里|梧桐里8号,120.300 36.090; 120.305 36.090; 120.305 36.095; 120.300 36.095; 120.300 36.090,
B90,梧桐里8号楼,building,G90,梧桐里8号楼,,yes
"""
MEMBERS_CSV = """id,name,unit_id,roles,forces,phone,email,active
M90,赵某,G90,grid_worker|mediator,people_mediation,13900009090,m90@example.org,
M91,钱某,G90,grid_worker,,,,1
"""


@dataclass
class Org:
    client: httpx.AsyncClient
    url: str

    async def outbox(self, key: str) -> list[dict[str, Any]]:
        conn = await asyncpg.connect(db.asyncpg_dsn(self.url))
        try:
            rows = await conn.fetch("SELECT ce_type, payload FROM routing.outbox WHERE key = $1 ORDER BY id", key)
        finally:
            await conn.close()
        return [{"type": r["ce_type"], **json.loads(r["payload"])} for r in rows]


@pytest.fixture(scope="module")
async def org(infra: Infra) -> AsyncIterator[Org]:
    url = await asyncio.to_thread(infra.database, f"fq_org_{uuid.uuid4().hex[:8]}")
    app = create_app(settings_for(ROUTING, url, infra.broker.bootstrap),
                     clock=FrozenClock(datetime(2026, 11, 23, 10, tzinfo=SHANGHAI)), run_relay=False,
                     run_consumer=False)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(LifespanManager(app, startup_timeout=60))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://routing"))
        r = await client.post("/api/v1/org/import", json=json.loads(DEMO_ORG.read_text()), headers=ADMIN)
        assert r.status_code == 200, r.text
        yield Org(client, url)


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    return body


async def where(client: httpx.AsyncClient, address: str) -> dict[str, Any]:
    r = await client.post("/api/v1/rules/evaluate", json={"location": {"address": address}}, headers=GRID)
    assert r.status_code == 200, r.text
    located: dict[str, Any] = r.json()["located"]
    return located



async def patch(c: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    """PATCH as a client does: ``If-Match`` is the ETag of ``GET path`` as the caller reads it (what it cannot
    read gets any version: the 404 of its scope comes before the version check)."""
    read = await c.get(path, headers=headers)
    version = read.headers["ETag"] if read.status_code == 200 else '"1"'
    return await c.patch(path, json=body, headers={**headers, "If-Match": version})

async def test_csv_import_update_and_deactivate(org: Org) -> None:
    c = org.client
    csv_headers = {**STREET, "Content-Type": "text/csv; charset=utf-8"}
    problem(await c.post("/api/v1/org/import", content=UNITS_CSV, headers=csv_headers), 422, "validation_failed")
    problem(await c.post("/api/v1/org/import", params={"kind": "units"}, content=UNITS_CSV,
                         headers={**GRID, "Content-Type": "text/csv"}), 403, "forbidden_role")
    r = await c.post("/api/v1/org/import", params={"kind": "units"}, content=UNITS_CSV, headers=csv_headers)
    assert r.json() == {"units": 2, "members": 0}, r.text
    r = await c.post("/api/v1/org/import", params={"kind": "members"}, content=MEMBERS_CSV, headers=csv_headers)
    assert r.json() == {"units": 0, "members": 2}, r.text

    unit = (await c.get("/api/v1/org/units/G90", headers=STREET)).json()
    assert unit["path"] == ["D1", "S1", "C1", "G90"] and unit["address_keywords"] == ["梧桐里", "梧桐里8号"]
    members = (await c.get("/api/v1/org/units/G90/members", headers=STREET)).json()
    assert [(m["id"], m["phone"], m["roles"]) for m in members] == [
        ("M90", "139****9090", ["grid_worker", "mediator"]), ("M91", None, ["grid_worker"])]
    # the new grid locates cases at once (by keyword, the building resolving to its grid)
    assert (await where(c, "梧桐里8号楼3单元"))["unit_id"] == "G90"
    events = await org.outbox("G90")
    assert events[-1]["type"] == "fq.org.unit_upserted.v1" and events[-1]["path"] == ["D1", "S1", "C1", "G90"]
    member_event = (await org.outbox("M90"))[-1]
    assert member_event["roles"] == ["grid_worker", "mediator"]
    assert "13900009090" not in json.dumps(member_event) and "赵某" not in json.dumps(member_event)

    # deactivating: not while active units sit under it
    body = problem(await patch(c, "/api/v1/org/units/G90", {"active": False}, STREET), 409,
                   "unit_has_active_children")
    assert body["children"] == ["B90"]
    r = await patch(c, "/api/v1/org/units/B90", {"active": False}, STREET)
    assert r.status_code == 200 and r.json()["active"] is False
    r = await patch(c, "/api/v1/org/units/G90", {"active": False}, STREET)
    assert r.status_code == 200 and r.json()["active"] is False
    # … and its members go with it, each with an event
    members = (await c.get("/api/v1/org/units/G90/members", headers=STREET)).json()
    assert [m["active"] for m in members] == [False, False]
    assert (await org.outbox("M91"))[-1]["active"] is False and (await org.outbox("G90"))[-1]["active"] is False
    located = await where(c, "梧桐里8号")
    assert located["method"] == "triage"  # an inactive unit no longer locates anything
    problem(await patch(c, "/api/v1/org/members/M90", {"active": True}, STREET), 409, "unit_inactive")

    # reactivate and rename
    r = await patch(c, "/api/v1/org/units/G90", {"active": True, "name": "梧桐里新网格",
                                                     "address_keywords": ["梧桐里", "梧桐街"]}, STREET)
    assert r.status_code == 200 and r.json()["name"] == "梧桐里新网格"
    assert (await where(c, "梧桐街2号"))["unit_id"] == "G90"
    r = await patch(c, "/api/v1/org/members/M90", {"active": True, "forces": ["labor"], "email": None},
                      STREET)
    assert r.status_code == 200 and r.json()["active"] is True and r.json()["forces"] == ["labor"]
    assert (await org.outbox("M90"))[-1]["forces"] == ["labor"]


async def test_a_moved_unit_takes_its_subtree_along(org: Org) -> None:
    c = org.client
    tree = {"units": [
        {"id": "S95", "name": "新设街道", "level": "street", "parent_id": "D1"},
        {"id": "C95", "name": "迁移社区", "level": "community", "parent_id": "S1"},
        {"id": "G95", "name": "迁移网格", "level": "grid", "parent_id": "C95", "address_keywords": ["迁移路"]},
        {"id": "B95", "name": "迁移路1号楼", "level": "building", "parent_id": "G95"}]}
    assert (await c.post("/api/v1/org/import", json=tree, headers=ADMIN)).status_code == 200
    # the community moves to the new street: its grid and building follow without being re-imported
    moved = {"units": [{"id": "C95", "name": "迁移社区", "level": "community", "parent_id": "S95"}]}
    r = await c.post("/api/v1/org/import", json=moved, headers=ADMIN)
    assert r.status_code == 200, r.text
    for uid, path in (("C95", ["D1", "S95", "C95"]), ("G95", ["D1", "S95", "C95", "G95"]),
                      ("B95", ["D1", "S95", "C95", "G95", "B95"])):
        assert (await c.get(f"/api/v1/org/units/{uid}", headers=ADMIN)).json()["path"] == path
        assert (await org.outbox(uid))[-1]["path"] == path  # notify and analytics learn the new path too
    assert (await where(c, "迁移路8号"))["unit_id"] == "G95"
    # a unit cannot move under its own descendant (the grid is stored, not in the import)
    loop = {"units": [{"id": "C95", "name": "迁移社区", "level": "community", "parent_id": "G95"}]}
    body = problem(await c.post("/api/v1/org/import", json=loop, headers=ADMIN), 422, "invalid_org")
    assert body["errors"][0]["field"] in ("units[C95].parent_id", "units[C95].level")


async def test_bad_org_input_is_a_problem_naming_the_field(org: Org) -> None:
    c = org.client
    bad = UNITS_CSV.replace("B90,梧桐里8号楼,building", "B91,x,tower")
    body = problem(await c.post("/api/v1/org/import", params={"kind": "units"}, content=bad,
                                headers={**ADMIN, "Content-Type": "text/csv"}), 422, "invalid_csv")
    assert body["errors"][0]["field"] == "units[1].level"
    body = problem(await c.post("/api/v1/org/import", params={"kind": "members"}, content="id,name\nx,y\n",
                                headers={**ADMIN, "Content-Type": "text/csv"}), 422, "invalid_csv")
    assert {e["field"] for e in body["errors"]} == {"members.header"}
    body = problem(await c.post("/api/v1/org/import", json={"units": [{"id": "X", "level": "grid"}]},
                                headers=ADMIN), 422, "validation_failed")
    assert "units.0.name" in {e["field"] for e in body["errors"]}
    problem(await c.post("/api/v1/org/import", content="<org/>", headers={**ADMIN, "Content-Type": "text/xml"}),
            415, "unsupported_media_type")
    # a street admin cannot create a root unit
    problem(await c.post("/api/v1/org/import", json={"units": [{"id": "D9", "name": "x", "level": "district"}]},
                         headers=STREET), 403, "out_of_scope")
    problem(await patch(c, "/api/v1/org/units/C1", {"active": False}, STREET), 409,
            "unit_has_active_children")
    problem(await patch(c, "/api/v1/org/units/G01", {"polygon": [[0, 0], [1, 1]]}, STREET), 422,
            "validation_failed")
    problem(await patch(c, "/api/v1/org/units/G01", {"colour": "red"}, STREET), 422,
            "validation_failed")
    problem(await patch(c, "/api/v1/org/units/NOPE", {"name": "x"}, STREET), 404, "unit_not_found")
    problem(await patch(c, "/api/v1/org/members/NOPE", {"forces": []}, STREET), 404, "member_not_found")
    problem(await patch(c, "/api/v1/org/members/U-G01-1", {"unit_id": "NOPE"}, STREET), 404,
            "unit_not_found")


# --- both ends of every org write are in the caller's scope ---------------------------------------------

STREET2 = auth(Role.STREET_ADMIN, "S2", "street2-org")
SECOND_STREET = {
    "units": [{"id": "S2", "name": "东风街道", "level": "street", "parent_id": "D1"},
              {"id": "C21", "name": "东风社区", "level": "community", "parent_id": "S2"},
              {"id": "G21", "name": "东风一网格", "level": "grid", "parent_id": "C21", "address_keywords": ["东风路"]}],
    "members": [{"id": "U-G21-1", "name": "孙某", "role": "grid_worker", "unit_id": "G21", "phone": "13900002101"}]}
TAKEOVER = {"id": "U-G01-1", "name": "冒名者", "phone": "13700000000", "role": "grid_worker", "unit_id": "G21"}


async def _second_street(org: Org) -> None:
    """The demo org has one street; a second one, imported by an admin, with a grid and a worker of its own."""
    r = await org.client.post("/api/v1/org/import", json=SECOND_STREET, headers=ADMIN)
    assert r.status_code == 200, r.text


async def _org_state(org: Org) -> dict[str, Any]:
    """What a takeover would change: the member as its unit lists it, the paths of the units, the events written."""
    c = org.client
    members = (await c.get("/api/v1/org/units/G01/members", headers=ADMIN)).json()
    paths = {u: (await c.get(f"/api/v1/org/units/{u}", headers=ADMIN)).json()["path"]
             for u in ("G01", "C1", "G21", "C21")}
    return {"members": members, "paths": paths, "takeover_members": (await c.get(
        "/api/v1/org/units/G21/members", headers=ADMIN)).json(),
        "events": {k: len(await org.outbox(k)) for k in ("U-G01-1", "G01", "G21", "U-G21-9")}}


def _same_answer(a: httpx.Response, a_id: str, b: httpx.Response, b_id: str) -> None:
    """The two answers are byte for byte the same but for the id the caller sent (echoed in ``instance``/detail)."""
    assert len(a_id) == len(b_id)
    assert (a.status_code, dict(a.headers)) == (b.status_code, dict(b.headers))
    assert a.content.replace(a_id.encode(), b"{id}") == b.content.replace(b_id.encode(), b"{id}"), (a.text, b.text)


async def test_a_street_admin_cannot_take_over_another_streets_member(org: Org) -> None:
    c = org.client
    await _second_street(org)
    before = await _org_state(org)
    assert [m["id"] for m in before["members"]] == ["U-G01-1"] and before["members"][0]["name"] == "张某"

    # JSON: the member of S1 moved into S2's grid, renamed, re-phoned — and together with a harmless new member,
    # so a refused import must leave that one out too
    newcomer = {"id": "U-G21-9", "name": "周某", "role": "grid_worker", "unit_id": "G21"}
    r = await c.post("/api/v1/org/import", json={"members": [TAKEOVER, newcomer]}, headers=STREET2)
    body = problem(r, 404, "member_not_found")
    assert body["detail"] == "no member U-G01-1 in your scope"
    # CSV: the same takeover
    csv_members = ("id,name,unit_id,roles,forces,phone,email,active\n"
                   "U-G01-1,冒名者,G21,grid_worker,,13700000000,,\n")
    r = await c.post("/api/v1/org/import", params={"kind": "members"}, content=csv_members,
                     headers={**STREET2, "Content-Type": "text/csv"})
    assert problem(r, 404, "member_not_found") == body
    assert await _org_state(org) == before  # not moved, renamed or re-phoned; no event; the newcomer not created

    # the S1 admin can still write its member (the rule refuses only what is outside the caller's scope) …
    r = await c.post("/api/v1/org/import", json={"members": [{**TAKEOVER, "name": "张某", "phone": "13900001101",
                                                             "unit_id": "G02"}]}, headers=STREET)
    assert r.status_code == 200, r.text
    # … but not pull S2's worker into its street either (where the member is now is outside S1)
    problem(await c.post("/api/v1/org/import", json={"members": [{"id": "U-G21-1", "name": "孙某", "role":
                                                                 "grid_worker", "unit_id": "G01"}]},
                         headers=STREET), 404, "member_not_found")
    r = await c.post("/api/v1/org/import", json={"members": [{**TAKEOVER, "name": "张某", "phone": "13900001101",
                                                             "unit_id": "G01"}]}, headers=STREET)
    assert r.status_code == 200, r.text
    # S2 writes inside S2
    r = await c.post("/api/v1/org/import", json={"members": [newcomer]}, headers=STREET2)
    assert r.status_code == 200, r.text


async def test_a_unit_cannot_be_reparented_across_streets(org: Org) -> None:
    c = org.client
    await _second_street(org)
    before = await _org_state(org)
    # S2 takes S1's grid (or community) under its own community: where the unit is now is outside S2
    for uid, level in (("G01", "grid"), ("C1", "community")):
        steal = {"units": [{"id": uid, "name": "被移走", "level": level, "parent_id": "C21" if level == "grid"
                            else "S2"}]}
        body = problem(await c.post("/api/v1/org/import", json=steal, headers=STREET2), 404, "unit_not_found")
        assert body["detail"] == f"no unit {uid} in your scope"
    r = await c.post("/api/v1/org/import", params={"kind": "units"},
                     content="id,name,level,parent_id\nG01,被移走,grid,C21\n",
                     headers={**STREET2, "Content-Type": "text/csv"})
    problem(r, 404, "unit_not_found")
    # S1 pulls S2's grid under its own community: where it goes is in S1, where it is is not
    pull = {"units": [{"id": "G21", "name": "东风一网格", "level": "grid", "parent_id": "C1"}]}
    problem(await c.post("/api/v1/org/import", json=pull, headers=STREET), 404, "unit_not_found")
    # a new unit under a foreign parent answers as one under a parent that exists nowhere
    foreign = await c.post("/api/v1/org/import", json={"units": [
        {"id": "G22", "name": "新网格", "level": "grid", "parent_id": "C1"}]}, headers=STREET2)
    unknown = await c.post("/api/v1/org/import", json={"units": [
        {"id": "G22", "name": "新网格", "level": "grid", "parent_id": "CX"}]}, headers=STREET2)
    problem(foreign, 404, "unit_not_found")
    _same_answer(foreign, "C1", unknown, "CX")
    assert await _org_state(org) == before
    # inside its own street S2 still builds (a new grid under its community) and moves units
    r = await c.post("/api/v1/org/import", json={"units": [
        {"id": "C22", "name": "东风二社区", "level": "community", "parent_id": "S2"},
        {"id": "G22", "name": "新网格", "level": "grid", "parent_id": "C22"}]}, headers=STREET2)
    assert r.status_code == 200, r.text
    r = await c.post("/api/v1/org/import", json={"units": [
        {"id": "G22", "name": "新网格", "level": "grid", "parent_id": "C21"}]}, headers=STREET2)
    assert r.status_code == 200, r.text
    assert (await c.get("/api/v1/org/units/G22", headers=STREET2)).json()["path"] == ["D1", "S2", "C21", "G22"]


async def test_patch_answers_the_same_for_a_foreign_and_an_unknown_member(org: Org) -> None:
    c = org.client
    await _second_street(org)
    before = await _org_state(org)
    for body in ({"forces": []}, {"unit_id": "G21"}, {"name": "冒名者", "phone": "13700000000"}):
        foreign = await patch(c, "/api/v1/org/members/U-G01-1", body, STREET2)
        unknown = await patch(c, "/api/v1/org/members/U-X99-9", body, STREET2)
        problem(foreign, 404, "member_not_found")
        _same_answer(foreign, "U-G01-1", unknown, "U-X99-9")
    # S2's own member into S1's grid: where it goes is out of scope, answered as a unit that exists nowhere
    foreign = await patch(c, "/api/v1/org/members/U-G21-1", {"unit_id": "G01"}, STREET2)
    unknown = await patch(c, "/api/v1/org/members/U-G21-1", {"unit_id": "G99"}, STREET2)
    problem(foreign, 404, "unit_not_found")
    _same_answer(foreign, "G01", unknown, "G99")
    # a unit of another street: PATCH answers as for a unit that exists nowhere
    _same_answer(await patch(c, "/api/v1/org/units/G01", {"name": "x"}, STREET2), "G01",
                 await patch(c, "/api/v1/org/units/G99", {"name": "x"}, STREET2), "G99")
    assert await _org_state(org) == before
    r = await patch(c, "/api/v1/org/members/U-G21-1", {"forces": ["labor"]}, STREET2)
    assert r.status_code == 200 and r.json()["forces"] == ["labor"], r.text
