"""Duplicates decided by staff (一件事只立一案): merging a suggested candidate, undoing an automatic link."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.auth import Role
from shared.events import Topic
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, act, auth, case_body, eventually, unique_phone

OPERATOR = auth(Role.OPERATOR, "S1", "op-dup")
ADMIN = auth(Role.ADMIN, None)
# a street-level operator elsewhere: the demo org has one street, so a grid worker of another grid stands in
OTHER_GRID = auth(Role.GRID_WORKER, "G12", "U-G12-1")


async def _events_of(bootstrap: str, case_id: str, ce_type: str) -> list[dict[str, Any]]:
    """The payloads of ``ce_type`` events keyed by ``case_id`` on the case topic (waits for at least one)."""
    consumer = AIOKafkaConsumer(Topic.CASE, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async def seen() -> bool:
            for msgs in (await consumer.getmany(timeout_ms=300)).values():
                found.extend(json.loads(m.value) for m in msgs
                             if m.key == case_id.encode() and dict(m.headers)["ce_type"] == ce_type.encode())
            return bool(found)

        await eventually(seen, what=f"{ce_type} for {case_id}", timeout=60, interval=0)
    finally:
        await consumer.stop()
    return found


async def _kinds(stack: Stack, case_id: str) -> list[str]:
    return [t["kind"] for t in (await stack.intake.get(f"/api/v1/cases/{case_id}/timeline", headers=ADMIN)).json()]


async def test_staff_merge_a_suggested_candidate(stack: Stack) -> None:
    addr = {"grid_id": "G02", "address": f"桂园新村{unique_phone()[-4:]}号楼302室"}
    first_text, other_text = "楼道里堆满杂物，影响通行。", "楼道灯坏了，晚上影响通行，请物业维修。"  # similarity 0.4
    a = (await stack.intake.post("/api/v1/cases", json=case_body(location=addr, description=first_text),
                                 headers=OPERATOR)).json()
    b = (await stack.intake.post("/api/v1/cases", json=case_body(location=addr, description=other_text),
                                 headers=OPERATOR)).json()
    assert b["status"] == "received" and [c["case_id"] for c in b["duplicate_candidates"]] == [a["id"]]

    [error] = assert_problem(await stack.intake.post(f"/api/v1/cases/{b['id']}/merge", headers=OPERATOR,
                                                     json={"primary_case_id": b["id"]}), 422,
                             "validation_failed")["errors"]
    assert error["field"] == "primary_case_id" and error["code"] == "same_case"
    r = await stack.intake.post(f"/api/v1/cases/{b['id']}/merge", headers=OPERATOR, json={"primary": a["id"]})
    assert {e["field"] for e in assert_problem(r, 422, "validation_failed")["errors"]} >= {"primary_case_id"}
    # outside the caller's scope: the case itself, or the primary
    assert_problem(await stack.intake.post(f"/api/v1/cases/{b['id']}/merge", headers=OTHER_GRID,
                                           json={"primary_case_id": a["id"]}), 404, "case_not_found")
    elsewhere = (await stack.intake.post("/api/v1/cases", json=case_body(location={"grid_id": "G12"}),
                                         headers=OTHER_GRID)).json()
    assert_problem(await stack.intake.post(f"/api/v1/cases/{elsewhere['id']}/merge", headers=OTHER_GRID,
                                           json={"primary_case_id": a["id"]}), 404, "primary_case_not_found")

    r = await stack.intake.post(f"/api/v1/cases/{b['id']}/merge", headers=OPERATOR,
                                json={"primary_case_id": a["id"], "reason": "同一楼道，回访核实为同一事项"})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["status"] == "merged" and merged["duplicate_of"] == a["id"]
    assert merged["version"] == b["version"] + 1 and r.headers["etag"] == f'"{merged["version"]}"'
    assert "merged" in await _kinds(stack, b["id"])
    assert (await _kinds(stack, a["id"]))[-1] == "duplicate_linked"
    [event] = await _events_of(stack.bootstrap, b["id"], "fq.case.merged.v1")
    assert event["primary_case_id"] == a["id"] and event["linked_by"] == "op-dup"
    assert event["similarity"] == b["duplicate_candidates"][0]["similarity"]

    # b had been routed: routing ends its assignment as merged (issue 15), so its unit can no longer act on it
    worker = auth(Role.GRID_WORKER, "G02", "U-G02-1")

    async def b_assignment_merged() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{b['id']}/routing", headers=worker)
        current = r.json()["current"] if r.status_code == 200 else None
        return current if current and current["status"] == "merged" else None

    assignment = await eventually(b_assignment_merged, what="b's assignment ended as merged", timeout=60)
    r = await act(stack.routing, assignment["id"], "accept", worker)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition", r.text
    assert (await stack.intake.get(f"/api/v1/cases/{b['id']}", headers=ADMIN)).json()["status"] == "merged"

    # merged is not open: neither side of another merge; a staff merge is final here
    assert_problem(await stack.intake.post(f"/api/v1/cases/{b['id']}/merge", headers=OPERATOR,
                                           json={"primary_case_id": a["id"]}), 409, "case_not_open")
    c = (await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()
    r = await stack.intake.post(f"/api/v1/cases/{c['id']}/merge", headers=OPERATOR, json={"primary_case_id": b["id"]})
    assert a["id"] in assert_problem(r, 409, "primary_not_open")["detail"]
    assert_problem(await stack.intake.post(f"/api/v1/cases/{b['id']}/unmerge", headers=OPERATOR,
                                           json={"reason": "误操作"}), 409, "merge_not_automatic")


async def test_undo_an_automatic_link_routes_the_report_on_its_own(stack: Stack) -> None:
    applicant = [{"role": "applicant", "name": "孙七", "phone": unique_phone()}]
    first = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        channel="phone", parties=applicant, location={"grid_id": "G05"},
        description="楼上卫生间漏水到我家天花板，协商无果，请求调解。"))).json()
    second = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        channel="walk_in", parties=applicant, location={"grid_id": "G05"},
        description="来访反映：楼上卫生间一直漏水，渗到我家天花板，跟楼上协商没有结果，希望社区帮忙调解。"))).json()
    assert second["status"] == "merged" and second["duplicate_of"] == first["id"]

    r = await stack.intake.post(f"/api/v1/cases/{second['id']}/unmerge", headers=OPERATOR, json={})
    assert assert_problem(r, 422, "validation_failed")["errors"][0]["field"] == "reason"
    assert_problem(await stack.intake.post(f"/api/v1/cases/{second['id']}/unmerge", headers=OTHER_GRID,
                                           json={"reason": "不是同一事项"}), 404, "case_not_found")
    r = await stack.intake.post(f"/api/v1/cases/{second['id']}/unmerge", headers=OPERATOR,
                                json={"reason": "核实后：两处漏水不是同一事项"})
    assert r.status_code == 200, r.text
    own = r.json()
    assert own["status"] == "received" and own["duplicate_of"] is None and own["version"] == second["version"] + 1
    assert (await _kinds(stack, second["id"]))[-1] == "unmerged"
    assert (await _kinds(stack, first["id"]))[-1] == "duplicate_unlinked"
    [received] = await _events_of(stack.bootstrap, second["id"], "fq.case.received.v1")
    assert received["code"] == second["code"] and received["channel"] == "walk_in"
    assert received["location"]["grid_id"] == "G05" and received["received_unit_id"] == "S1"

    # now it is routed like any new case (it was not while linked)
    async def routed() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{second['id']}/routing", headers=ADMIN)
        return r.json() if r.status_code == 200 else None

    await eventually(routed, what="the unlinked report routed", timeout=60)

    async def assigned() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{second['id']}", headers=ADMIN)).json()["status"] == "assigned"

    await eventually(assigned, what="assigned in intake", timeout=60)
    assert_problem(await stack.intake.post(f"/api/v1/cases/{second['id']}/unmerge", headers=OPERATOR,
                                           json={"reason": "再次撤销"}), 409, "case_not_merged")
