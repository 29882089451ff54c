"""The walking skeleton end to end: intake → routing → notify → analytics over the real bus."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.auth import Role
from tests.support import Stack, act, auth, case_body, eventually

OPERATOR = auth(Role.OPERATOR, "S1", "op-1")
G01_WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")  # the demo org's G01 grid worker


async def test_case_for_g01_is_assigned_notified_accepted_resolved_and_counted(stack: Stack) -> None:
    # the cohort: cases received in G01 from now on (other tests' cases were received earlier)
    window = {"unit_id": "G01", "from": datetime.now(UTC).isoformat()}

    async def kpis_g01() -> dict[str, Any] | None:
        r = await stack.analytics.get("/api/v1/kpis", params=window, headers=G01_WORKER)
        return r.json() if r.status_code == 200 else None  # 404 until analytics has seen the org events

    r = await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "received" and case["code"].startswith("FQ-")

    async def assigned() -> dict[str, Any] | None:
        got = (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=G01_WORKER)).json()
        return got if got.get("status") == "assigned" else None

    got = await eventually(assigned, what="case assigned")
    assert got["current_unit_id"] == "G01"

    async def inbox_item() -> dict[str, Any] | None:
        items = (await stack.notify.get("/api/v1/inbox", headers=G01_WORKER)).json()["items"]
        return next((i for i in items if i["case_id"] == case["id"]), None)

    item = await eventually(inbox_item, what="inbox item for the G01 grid worker")
    assert item["title"] == f"新案件待签收：{case['code']}"

    routing = (await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=G01_WORKER)).json()
    assignment = routing["current"]
    assert assignment["unit_id"] == "G01" and assignment["status"] == "assigned"
    assert len(routing["history"]) == 1

    r = await act(stack.routing, assignment["id"], "accept", G01_WORKER)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.headers["etag"] == '"2"'
    r = await act(stack.routing, assignment["id"], "resolve", G01_WORKER,
                  {"outcome": "resolved", "mediation_agreement": True})
    assert r.status_code == 200, r.text

    async def resolved_in_intake() -> bool:
        got = (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=G01_WORKER)).json()
        return got["status"] == "resolved" and got["outcome"] == "resolved"

    await eventually(resolved_in_intake, what="intake shows the case resolved")

    async def counted() -> dict[str, Any] | None:
        k = await kpis_g01()
        return k if k and k["resolved"] == 1 else None

    kpis = await eventually(counted, what="analytics counts the resolution")
    assert (kpis["received"], kpis["with_outcome"], kpis["resolution_rate"]) == (1, 1, 1.0)


async def test_a_case_located_by_address_keyword_goes_to_that_grid(stack: Stack) -> None:
    window = {"unit_id": "G02", "from": datetime.now(UTC).isoformat()}
    body = case_body(location={"address": "青澜区鹭鸣街道听松苑5号楼"})
    case = (await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)).json()

    async def routed() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=auth(Role.ADMIN, None))
        return r.json() if r.status_code == 200 else None

    routing = await eventually(routed, what="routing of the case")
    assert routing["current"]["unit_id"] == "G02"
    assert "听松苑" in routing["current"]["explanation"]

    # the building the keyword named is counted in 分析研判's top buildings (by id and name, never the address)
    async def buildings() -> list[dict[str, Any]] | None:
        r = await stack.analytics.get("/api/v1/hotspots", params=window, headers=auth(Role.ADMIN, None))
        found: list[dict[str, Any]] = r.json()["buildings"] if r.status_code == 200 else []
        return found or None

    assert await eventually(buildings, what="the building in the hotspots") == [
        {"unit_id": "B-G02-1", "label": "听松苑5号楼", "count": 1}]


async def test_a_case_with_no_location_goes_to_the_street_triage_queue(stack: Stack) -> None:
    body = case_body(location={})
    case = (await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)).json()

    async def routed() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=auth(Role.ADMIN, None))
        return r.json() if r.status_code == 200 else None

    routing = await eventually(routed, what="routing of the case")
    assert routing["current"]["unit_id"] == "S1"
    assert "街道中心分拨" in routing["current"]["explanation"]


async def test_a_grid_imported_later_is_used_for_locating_at_once(stack: Stack) -> None:
    admin = auth(Role.ADMIN, None)
    first = (await stack.intake.post("/api/v1/cases", json=case_body(location={"address": "翠湖新苑8栋"}),
                                     headers=OPERATOR)).json()

    async def routed(case_id: str) -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=admin)
        return r.json()["current"] if r.status_code == 200 else None

    assert (await eventually(lambda: routed(first["id"]), what="first routing"))["unit_id"] == "S1"  # triage
    doc = {"units": [{"id": "G90", "name": "翠湖网格", "level": "grid", "parent_id": "C1",
                      "address_keywords": ["翠湖新苑"]}]}
    assert (await stack.routing.post("/api/v1/org/import", json=doc, headers=admin)).status_code == 200
    second = (await stack.intake.post("/api/v1/cases", json=case_body(location={"address": "翠湖新苑9栋"}),
                                      headers=OPERATOR)).json()
    assert (await eventually(lambda: routed(second["id"]), what="second routing"))["unit_id"] == "G90"
