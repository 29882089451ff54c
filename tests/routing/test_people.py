"""Who does the work, over the real stack (intake + routing + notify on real PostgreSQL and broker): the 承办人
(take, dispatch to a member, re-dispatch), the work lists, the district rung and the same-day (当天) deadline.

Routing runs on a FrozenClock; nothing sleeps for a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from services.embedded import EmbeddedBroker, free_port
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from shared.worktime import WorkCalendar
from tests.support import Infra, Stack, act, auth, case_body, eventually, start_stack

OPERATOR = auth(Role.OPERATOR, "S1", "op-people")
ADMIN = auth(Role.ADMIN, None)
G01 = auth(Role.GRID_WORKER, "G01", "U-G01-1")
G01B = auth(Role.GRID_WORKER, "G01", "U-G01-2")  # a second worker of the same grid (imported by the fixture)
G02 = auth(Role.GRID_WORKER, "G02", "U-G02-1")
C1 = auth(Role.COMMUNITY_ADMIN, "C1", "U-C1-1")
C2 = auth(Role.COMMUNITY_ADMIN, "C2", "U-C2-1")
S1 = auth(Role.STREET_ADMIN, "S1", "U-S1-1")
D1 = auth(Role.DISTRICT_ADMIN, "D1", "U-D1-2")
CAL = WorkCalendar()


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))  # a Monday morning


@pytest.fixture(scope="module")
async def people(infra: Infra, tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock
                 ) -> AsyncIterator[Stack]:
    broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp("people") / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, "fq_people")
        stack = await start_stack(url, broker.bootstrap, names=("intake", "routing", "notify"),
                                  routing={"clock": clock})
        try:
            r = await stack.routing.post("/api/v1/org/import", headers=ADMIN, json={"units": [], "members": [
                {"id": "U-G01-2", "name": "测试员", "role": "grid_worker", "unit_id": "G01"}]})
            assert r.status_code == 200, r.text
            yield stack
        finally:
            await stack.close()
    finally:
        broker.stop()


def morning(clock: FrozenClock, hh: int = 9, mm: int = 0) -> datetime:
    """The next workday (followed by another) at hh:mm local."""
    d = clock.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    while not (CAL.is_workday(d) and CAL.is_workday(d + timedelta(days=1))):
        d += timedelta(days=1)
    clock.set(datetime.combine(d, time(hh, mm), SHANGHAI))
    return clock.now()


async def new_assignment(stack: Stack, **overrides: Any) -> dict[str, Any]:
    r = await stack.intake.post("/api/v1/cases", json=case_body(**overrides), headers=OPERATOR)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    async def routed() -> dict[str, Any] | None:
        got = await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)
        return got.json()["current"] if got.status_code == 200 else None

    return await eventually(routed, timeout=60, what=f"routing of {case_id}")  # type: ignore[no-any-return]


async def post(stack: Stack, path: str, headers: dict[str, str], body: Any = None, expect: int = 200,
               version: int | None = None) -> dict[str, Any]:
    """POST an action: with ``If-Match`` ``version`` (or the one in ``headers``), else the ETag read just before."""
    h = {**headers, **({"If-Match": f'"{version}"'} if version is not None else {})}
    if "If-Match" in h:
        r = await stack.routing.post(f"/api/v1/assignments/{path}", headers=h, json=body)
    else:
        assignment_id, action = path.split("/")
        r = await act(stack.routing, assignment_id, action, h, body)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


async def work(stack: Stack, headers: dict[str, str], expect: int = 200, **params: Any) -> dict[str, Any]:
    r = await stack.routing.get("/api/v1/my/work", headers=headers, params=params)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_taken_case_is_first_in_its_takers_list_and_in_no_other_workers(people: Stack,
                                                                                 clock: FrozenClock) -> None:
    morning(clock)
    later = await new_assignment(people)
    clock.set(clock.now() - timedelta(hours=1))  # received an hour earlier: its accept clock runs out first
    sooner = await new_assignment(people)
    clock.set(clock.now() + timedelta(hours=1))
    assert sooner["accept_due_at"] < later["accept_due_at"]

    await post(people, f"{later['id']}/take", G01B, version=1)
    taken = await post(people, f"{sooner['id']}/take", G01B, version=1)
    assert taken["assignee_id"] == "U-G01-2" and taken["version"] == 2
    assert [h["action"] for h in taken["history"]][-1] == "take"

    mine = await work(people, G01B)
    ids = [i["assignment_id"] for i in mine["items"]]
    assert ids[:2] == [sooner["id"], later["id"]]  # due soonest first
    first = mine["items"][0]
    assert (first["case_code"], first["status"], first["clock"], first["risk_level"]) == (
        sooner["case_code"], "assigned", "accept", "blue")
    assert first["title"] is None  # routing does not hold titles
    assert first["working_seconds_left"] == CAL.working_seconds(clock.now(), datetime.fromisoformat(
        first["due_at"]))
    assert mine["counts"]["assigned"] >= 2 and mine["counts"]["accepted"] == 0
    assert [i["assignment_id"] for i in (await work(people, G01B, sort="-due"))["items"]][-2:] == [later["id"],
                                                                                               sooner["id"]]
    async def ids_for(**params: Any) -> list[str]:
        return [i["assignment_id"] for i in (await work(people, G01B, **params))["items"]]

    assert sooner["id"] in await ids_for(risk="blue", track="general", status="assigned", overdue="false")
    for miss in ({"risk": "red"}, {"track": "special"}, {"status": "accepted"}, {"overdue": "true"},
                 {"pending_approval": "true"}):
        assert sooner["id"] not in await ids_for(**miss), miss
    for other in (G01, G02):
        assert sooner["id"] not in [i["assignment_id"] for i in (await work(people, other))["items"]]
    # nothing is hidden from the unit: its leader sees both, with the taker
    unit = await work(people, C1, scope="unit")
    seen = {i["assignment_id"]: i["assignee_id"] for i in unit["items"]}
    assert seen[sooner["id"]] == "U-G01-2" and seen[later["id"]] == "U-G01-2"
    await work(people, G01, scope="unit", expect=403)  # a worker is no leader

    # a second taker: 409; the same taker again: unchanged
    r = await act(people.routing, sooner["id"], "take", G01)
    assert r.status_code == 409 and r.json()["code"] == "already_taken"
    again = await post(people, f"{sooner['id']}/take", G01B)
    assert again["version"] == 2


async def test_dispatch_to_a_member_redispatch_needs_a_reason_and_the_member_hears_of_it(
        people: Stack, clock: FrozenClock) -> None:
    morning(clock)
    a = await new_assignment(people)
    await post(people, f"{a['id']}/assign-member", G01, {"member_id": "U-G01-1"}, expect=403)  # not a leader
    r = await act(people.routing, a["id"], "assign-member", C1, {"member_id": "U-G02-1"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "member_id"
    r = await act(people.routing, a["id"], "assign-member", C1, {"member_id": "bad id!"})
    assert r.status_code == 422 and "member_id" in r.text
    await post(people, f"{a['id']}/assign-member", {**C1, "If-Match": '"9"'}, {"member_id": "U-G01-1"},
               expect=412)
    given = await post(people, f"{a['id']}/assign-member", C1, {"member_id": "U-G01-1"}, version=1)
    assert given["assignee_id"] == "U-G01-1"
    r = await act(people.routing, a["id"], "assign-member", C1, {"member_id": "U-G01-2"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    moved = await post(people, f"{a['id']}/assign-member", C1, {"member_id": "U-G01-2", "reason": "原承办人休假"},
                       version=2)
    assert moved["assignee_id"] == "U-G01-2"
    assert a["id"] not in [i["assignment_id"] for i in (await work(people, G01))["items"]]
    assert a["id"] in [i["assignment_id"] for i in (await work(people, G01B))["items"]]
    # accepting keeps the 承办人; the list shows the resolve clock now
    await post(people, f"{a['id']}/accept", G01B, version=3)
    item = next(i for i in (await work(people, G01B, status="accepted"))["items"] if i["assignment_id"] == a["id"])
    assert item["clock"] == "resolve" and item["assignee_id"] == "U-G01-2"

    async def inbox(headers: dict[str, str]) -> list[dict[str, Any]]:
        got = await people.clients["notify"].get("/api/v1/inbox", headers=headers)
        return [i for i in got.json()["items"] if i["case_code"] == a["case_code"] and i["kind"] == "assignee_set"]

    items = await eventually(lambda: _nonempty(inbox(G01B)), timeout=60, what="the re-dispatched member's inbox")
    assert "改派" in items[0]["body"] and "原承办人休假" in items[0]["body"]
    assert any("指派" in i["body"] for i in await inbox(G01))
    assert await inbox(G02) == []


async def _nonempty(items: Any) -> list[dict[str, Any]] | None:
    got = await items
    return got or None


async def test_another_units_member_gets_404_on_every_new_endpoint(people: Stack, clock: FrozenClock) -> None:
    morning(clock)
    a = await new_assignment(people)
    for path, body in (("take", None), ("assign-member", {"member_id": "U-G01-1"})):
        r = await act(people.routing, a["id"], path, C2, body)
        assert r.status_code == 404, (path, r.text)
        r = await act(people.routing, a["id"], path, G02, body)
        assert r.status_code in (403, 404) and r.status_code != 200, (path, r.text)
    r = await act(people.routing, a["id"], "take", G02)
    assert r.status_code == 404
    await work(people, C2, scope="unit", unit_id="C1", expect=404)
    await work(people, C1, scope="unit", unit_id="G01")  # its own subtree: fine
    r = await people.routing.get("/api/v1/my/work", headers=G01, params={"sort": "soon"})
    assert r.status_code == 422 and "sort" in r.text
    r = await people.routing.get("/api/v1/my/work", headers=G01, params={"risk": "purple"})
    assert r.status_code == 422 and "risk" in r.text


async def test_a_street_escalates_to_the_district_which_approves_its_extension(people: Stack,
                                                                              clock: FrozenClock) -> None:
    morning(clock)
    a = await new_assignment(people, people_involved=6)  # a group dispute: the street's specialist track
    assert a["unit_id"] == "S1"
    up = await post(people, f"{a['id']}/escalate", S1, {"reason": "涉及跨街道，需区级协调"}, version=1)
    assert (up["unit_id"], up["level"], up["cause"]) == ("D1", "district", "escalated")
    district = await post(people, f"{up['id']}/accept", D1, version=1)
    assert district["status"] == "accepted"

    # a street's own 延期 is decided at the district
    b = await new_assignment(people, people_involved=7)
    b = await post(people, f"{b['id']}/accept", S1, version=1)
    wanted = (datetime.fromisoformat(b["resolve_due_at"]) + timedelta(days=10)).isoformat()
    await post(people, f"{b['id']}/extend", S1, {"reason": "需等待劳动仲裁结论", "due_at": wanted}, version=2)
    await post(people, f"{b['id']}/approve-extension", S1, {}, expect=403)  # not the street's own call
    needs = await work(people, D1, pending_approval="true")
    assert b["id"] in [i["assignment_id"] for i in needs["items"]]
    assert b["id"] not in [i["assignment_id"] for i in (await work(people, S1, pending_approval="true"))["items"]]
    approved = await post(people, f"{b['id']}/approve-extension", D1, {"note": "同意"}, version=3)
    assert datetime.fromisoformat(approved["resolve_due_at"]) == datetime.fromisoformat(wanted)
    assert approved["pending_extension"] is None


async def test_a_grid_general_case_received_at_ten_is_due_at_todays_close(people: Stack,
                                                                          clock: FrozenClock) -> None:
    ten = morning(clock, 10, 0)
    a = await new_assignment(people)
    accepted = await post(people, f"{a['id']}/accept", G01, version=1)
    assert datetime.fromisoformat(accepted["resolve_due_at"]) == datetime.combine(ten.date(), time(17, 30),
                                                                                  SHANGHAI)
    # after the 16:00 cut-off, the next working day's close
    clock.set(datetime.combine(ten.date(), time(16, 30), SHANGHAI))
    late = await new_assignment(people)
    late = await post(people, f"{late['id']}/accept", G01, version=1)
    nxt = ten.date() + timedelta(days=1)  # morning() picked a workday followed by another
    assert datetime.fromisoformat(late["resolve_due_at"]) == datetime.combine(nxt, time(17, 30), SHANGHAI)
