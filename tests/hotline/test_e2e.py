"""Acceptance, end to end with the platform simulator (a separate process pushing over real HTTP and receiving our
callbacks): the 25 sample orders, 签收/办结 exactly once through platform failures, 退单 of the orders outside the
street, 重办, 回访, 催办, and a failing callback parked and retried by an admin.

Parts that need routing's workflow actions (return, reopen) skip with the missing action named until routing has it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared.auth import Role
from shared.db import asyncpg_dsn
from tests.hotline.conftest import ORDERS, HotlineEnv, wait_for
from tests.shared.test_api_rules import assert_problem
from tests.support import act, auth

STREET = auth(Role.STREET_ADMIN, "S1", "U-S1-1")
ADMIN = auth(Role.ADMIN, None, "admin-1")
OUTSIDE = {"12345-2026-318608": "青澜区金沙街道", "12345-2026-319055": "临澄区"}  # no unit of the org matches
REPEAT = ("12345-2026-318730", "12345-2026-318313")  # the same caller about the same lift, three days later
# two callers about the refuse station at the south gate of 滨河小区, twelve hours apart, in their own words
SAME_PLACE = ("12345-2026-318677", "12345-2026-318576")


@pytest.fixture(scope="module")
async def pushed(hotline: HotlineEnv) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """All 25 sample orders pushed by the simulator, each case routed (or linked as a duplicate)."""
    answers = await hotline.push(*[o["order_no"] for o in ORDERS])
    assert [a["status"] for a in answers] == [201] * len(ORDERS), answers
    by_no = {a["order_no"]: a["body"] for a in answers}

    async def all_routed() -> bool:
        for answer in by_no.values():
            if answer["duplicate_of"] is None and (await hotline.case(answer["case_id"]))["status"] == "received":
                return False
        return True

    await wait_for(all_routed, "every sample case assigned by routing")
    yield by_no


async def _accept(env: HotlineEnv, case_id: str) -> dict[str, Any]:
    async def assigned() -> dict[str, Any] | None:
        a = await env.current_assignment(case_id)
        return a if a and a["status"] == "assigned" else None

    a = await wait_for(assigned, f"an assignment to accept for {case_id}")
    r = await act(env.routing, a["id"], "accept", STREET)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _resolve(env: HotlineEnv, assignment_id: str, note: str = "已协调处理") -> None:
    r = await act(env.routing, assignment_id, "resolve", STREET, {"outcome": "resolved", "note": note})
    assert r.status_code == 200, r.text


async def _callback(env: HotlineEnv, order_no: str, action: str, count: int = 1,
                    status: str = "delivered") -> dict[str, Any]:
    """Wait until the order's ``count``-th callback of ``action`` has ``status``; return it."""
    async def found() -> dict[str, Any] | None:
        rec = await env.reconcile(order_no)
        matching = [c for c in rec["callbacks"] if c["action"] == action]
        return matching[count - 1] if len(matching) >= count and matching[count - 1]["status"] == status else None

    return dict(await wait_for(found, f"{action} #{count} of {order_no} {status}"))


async def _attempts(env: HotlineEnv, order_no: str, action: str) -> int:
    rec = await env.reconcile(order_no)
    return max((c["attempts"] for c in rec["callbacks"] if c["action"] == action), default=0)


async def _applied(env: HotlineEnv, order_no: str) -> list[tuple[str, str | None]]:
    """What the platform applied for the order, in order: (action, content)."""
    return [(a["action"], a["body"].get("content")) for a in (await env.sim_callbacks(order_no))["applied"]]


async def test_the_sample_orders_become_cases_once(env: HotlineEnv, pushed: dict[str, dict[str, Any]]) -> None:
    assert len({a["case_id"] for a in pushed.values()}) == len(ORDERS)
    again = await env.push(*[o["order_no"] for o in ORDERS])
    assert {a["status"] for a in again} == {200}
    assert {a["order_no"]: a["body"]["case_id"] for a in again} == {n: a["case_id"] for n, a in pushed.items()}
    for order in ORDERS:
        case = await env.case(pushed[order["order_no"]]["case_id"])
        assert case["channel"] == "hotline_12345" and case["external_ref"] == order["order_no"]
        assert case["request_type"] == {"投诉": "complaint", "咨询": "consult", "求助": "help", "举报": "report",
                                        "建议": "suggestion"}[order["request_type"]]


async def test_the_repeat_report_is_linked_to_the_first(env: HotlineEnv, pushed: dict[str, dict[str, Any]]) -> None:
    # 一件事只立一案: the repeated report of the broken lift (same caller, same address) joins the first order's case
    repeat, first = REPEAT
    assert pushed[repeat]["duplicate_of"] == pushed[first]["case_id"]
    assert (await env.case(pushed[repeat]["case_id"]))["status"] == "merged"


async def test_two_callers_about_one_place_are_one_case(env: HotlineEnv, pushed: dict[str, dict[str, Any]]) -> None:
    # different callers and addresses ("…南门垃圾站", "…南门口"): one shared place, one category, alike enough
    second, first = SAME_PLACE
    assert pushed[second]["duplicate_of"] == pushed[first]["case_id"]
    assert (await env.case(pushed[second]["case_id"]))["status"] == "merged"
    # and nothing else was linked: every other order is a case of its own
    linked = {no for no, answer in pushed.items() if answer["duplicate_of"] is not None}
    assert linked == {REPEAT[0], SAME_PLACE[0]}


async def test_orders_outside_the_street_go_to_triage_and_are_returned_with_the_reason(
    env: HotlineEnv, pushed: dict[str, dict[str, Any]],
) -> None:
    triaged = {}
    for order in ORDERS:
        answer = pushed[order["order_no"]]
        if answer["duplicate_of"] is not None:
            continue
        a = await env.current_assignment(answer["case_id"])
        assert a is not None
        if a["unit_id"] == "S1":
            triaged[order["order_no"]] = a
    # no unit's address keywords match these addresses: routing's locate falls back to the street centre's queue
    assert set(triaged) == set(OUTSIDE)
    for order_no, area in OUTSIDE.items():
        reason = f"工单地址位于{area}，不属于鹭鸣街道辖区，请平台改派"
        r = await act(env.routing, triaged[order_no]["id"], "return", STREET, {"reason": reason})
        assert r.status_code == 200, r.text
        callback = await _callback(env, order_no, "returned")
        assert callback["payload"]["text"] == reason
        assert await _applied(env, order_no) == [("退单", reason)]


async def test_accept_and_resolve_reach_the_platform_exactly_once_through_500s_and_an_outage(
    env: HotlineEnv, pushed: dict[str, dict[str, Any]],
) -> None:
    order_no = "12345-2026-318204"
    case_id = pushed[order_no]["case_id"]
    # the platform answers 500 twice: once before applying, once after applying (the answer is lost)
    await env.sim.post("/sim/fail", json={"count": 1, "status": 500, "apply": False})
    await env.sim.post("/sim/fail", json={"count": 1, "status": 500, "apply": True})
    assignment = await _accept(env, case_id)
    await wait_for(lambda: _attempts(env, order_no, "accepted"), "the first 签收 attempt")
    for expected in (2, 3):  # back-off by the clock: 2 s, then 4 s
        env.clock.advance(timedelta(seconds=2 ** (expected - 1)))

        async def attempted(n: int = expected) -> bool:
            return await _attempts(env, order_no, "accepted") >= n

        await wait_for(attempted, f"签收 attempt {expected}")
    accepted = await _callback(env, order_no, "accepted")
    assert [a["status_code"] for a in accepted["answers"]] == [500, 500, 200]
    assert accepted["answers"][-1]["response"] and json.loads(accepted["answers"][-1]["response"])["duplicate"]

    # the platform is unreachable for a minute while the case is resolved
    await env.sim.post("/sim/unreachable", json={"on": True})
    reply = "经网格员上门协调，楼上住户已承诺晚十点后不再进行敲击、挪动重物等活动，来电人表示认可。"
    r = await env.intake.put(f"/api/v1/hotline/orders/{order_no}/result", headers=STREET, json={"text": reply})
    assert r.status_code == 200, r.text
    await _resolve(env, assignment["id"])
    await wait_for(lambda: _attempts(env, order_no, "resolved"), "the first 办结 attempt")
    for n in range(2, 6):  # 2 + 4 + 8 + 16 + 16 s > a minute of refused connections
        env.clock.advance(timedelta(seconds=16))

        async def attempted(n: int = n) -> bool:
            return await _attempts(env, order_no, "resolved") >= n

        await wait_for(attempted, f"办结 attempt {n}")
    rec = await env.reconcile(order_no)
    resolved = next(c for c in rec["callbacks"] if c["action"] == "resolved")
    assert resolved["status"] == "pending" and all(a["error"] for a in resolved["answers"])
    await env.sim.post("/sim/unreachable", json={"on": False})
    env.clock.advance(timedelta(seconds=16))
    resolved = await _callback(env, order_no, "resolved")
    assert resolved["attempts"] == 6 and resolved["payload"]["text"] == reply

    applied = await _applied(env, order_no)
    assert [a for a, _ in applied] == ["签收", "办结"] and applied[1][1] == reply
    deliveries = (await env.sim_callbacks(order_no))["deliveries"]
    assert not any(d.get("out_of_order") for d in deliveries)
    rec = await env.reconcile(order_no)
    assert rec["phase"] == "resolved" and rec["case"]["status"] == "resolved"
    assert rec["deadline_days"] == 13 and rec["urgent"] is False and rec["callback_ok"] is True
    timeline = (await env.intake.get(f"/api/v1/cases/{case_id}/timeline", headers=ADMIN)).json()
    assert [t["summary"] for t in timeline if t["kind"] == "hotline_callback"] == ["向12345平台报送签收",
                                                                                   "向12345平台报送办结"]
    assert len({c["idempotency_key"] for c in rec["callbacks"]}) == len(rec["callbacks"])


async def test_a_linked_duplicate_order_is_signed_for_and_resolved_with_its_primary(
    env: HotlineEnv, pushed: dict[str, dict[str, Any]],
) -> None:
    from tests.hotline.test_orders_api import make_order

    first = make_order(content="松涛花园3号楼楼道里堆满了旧家具和纸箱，占用消防通道，物业不清理。")
    again = {**make_order(caller=first["caller"], address=first["address"]), "content": first["content"] + "再次反映。"}
    [a] = await env.push(orders=[first])
    case_id = a["body"]["case_id"]
    assignment = await _accept(env, case_id)
    await _callback(env, first["order_no"], "accepted")
    [b] = await env.push(orders=[again])  # linked to a case already signed for: signed for at once
    assert b["body"]["duplicate_of"] == case_id, b
    await _callback(env, again["order_no"], "accepted")
    await _resolve(env, assignment["id"])
    for order_no in (first["order_no"], again["order_no"]):
        await _callback(env, order_no, "resolved")
        assert [a for a, _ in await _applied(env, order_no)] == ["签收", "办结"]


async def _resolved(env: HotlineEnv, order_no: str, case_id: str) -> dict[str, Any]:
    assignment = await _accept(env, case_id)
    await _resolve(env, assignment["id"])
    await _callback(env, order_no, "resolved")
    return assignment


async def _second_round(env: HotlineEnv, order_no: str, case_id: str, first: dict[str, Any]) -> None:
    async def reassigned() -> dict[str, Any] | None:
        a = await env.current_assignment(case_id)
        return a if a and a["id"] != first["id"] and a["status"] == "assigned" else None

    await wait_for(reassigned, "the case reopened and assigned again")
    second = await _accept(env, case_id)
    await _resolve(env, second["id"], note="重新上门核实并答复")
    await _callback(env, order_no, "resolved", count=2)
    assert [a for a, _ in await _applied(env, order_no)] == ["签收", "办结", "签收", "办结"]


async def test_a_redo_order_reopens_the_case_and_a_second_resolution_follows(
    env: HotlineEnv, pushed: dict[str, dict[str, Any]],
) -> None:
    order_no = "12345-2026-318221"
    case_id = pushed[order_no]["case_id"]
    first = await _resolved(env, order_no, case_id)
    answer = await env.message(order_no, "redo", content="来电人反映问题仍未解决，请重新办理")
    assert answer["status"] == 200 and answer["body"]["outcome"] == "reopen_requested", answer
    timeline = (await env.intake.get(f"/api/v1/cases/{case_id}/timeline", headers=ADMIN)).json()
    assert "12345平台要求重办" in [t["summary"] for t in timeline]
    await _second_round(env, order_no, case_id, first)


async def test_an_unsatisfied_platform_follow_up_reopens_the_case(
    env: HotlineEnv, pushed: dict[str, dict[str, Any]],
) -> None:
    order_no = "12345-2026-318767"
    case_id = pushed[order_no]["case_id"]
    first = await _resolved(env, order_no, case_id)
    answer = await env.message(order_no, "feedback", result="不满意", content="来电人对答复不满意")
    assert answer["status"] == 200 and answer["body"]["outcome"] == "feedback_unsatisfied", answer
    timeline = (await env.intake.get(f"/api/v1/cases/{case_id}/timeline", headers=ADMIN)).json()
    assert "12345回访结果：不满意" in [t["summary"] for t in timeline]
    await _second_round(env, order_no, case_id, first)
    # the platform's 重办 for the same round finds the case reopened already: nothing more happens
    answer = await env.message(order_no, "redo", content="请重新办理")
    assert answer["body"]["outcome"] in ("already_reopened", "reopen_requested"), answer


async def test_platform_feedback_urging_and_their_repeats(env: HotlineEnv, pushed: dict[str, dict[str, Any]]) -> None:
    order_no = "12345-2026-318275"
    case_id = pushed[order_no]["case_id"]
    # 催办 while the case is handled: on the timeline and an event for notifying the assignee
    urged = await env.message(order_no, "urge", content="市民再次来电催促")
    assert urged["status"] == 200 and urged["body"]["outcome"] == "urged", urged
    # 回访 before resolution is refused
    early = await env.message(order_no, "feedback", result="满意")
    assert early["status"] == 409 and early["body"]["code"] == "case_not_resolved"
    assignment = await _accept(env, case_id)
    await _resolve(env, assignment["id"])
    await _callback(env, order_no, "resolved")
    r = await env.sim.post("/sim/message", json={"order_no": order_no, "kind": "feedback",
                                                 "body": {"message_id": "HF-318275-1", "result": "满意"}})
    assert r.json()["status"] == 200 and r.json()["body"]["outcome"] == "feedback_satisfied"
    again = await env.sim.post("/sim/message", json={"order_no": order_no, "kind": "feedback",
                                                     "body": {"message_id": "HF-318275-1", "result": "满意"}})
    assert again.json()["body"]["repeated"] is True  # applied once per message id
    bad = await env.message(order_no, "feedback", result="非常好")
    assert bad["status"] == 422 and bad["body"]["errors"][0]["field"] == "result"

    timeline = [t["summary"] for t in (await env.intake.get(f"/api/v1/cases/{case_id}/timeline",
                                                            headers=ADMIN)).json()]
    assert "12345平台催办（第1次）" in timeline and timeline.count("12345回访结果：满意") == 1
    conn = await asyncpg.connect(asyncpg_dsn(env.database_url))
    try:
        rows = await conn.fetch("SELECT ce_type, payload FROM intake.outbox WHERE key = $1 ORDER BY id", case_id)
    finally:
        await conn.close()
    events = [(r["ce_type"], json.loads(r["payload"])) for r in rows]
    urge = next(p for t, p in events if t == "fq.case.urged.v1")
    assert urge["urge_count"] == 1 and urge["source"] == "hotline" and urge["unit_id"]
    feedback = [p for t, p in events if t == "fq.case.feedback_received.v1"]
    assert [(f["result"], f["source"]) for f in feedback] == [("satisfied", "hotline")]
    rec = await env.reconcile(order_no)
    assert [m["kind"] for m in rec["messages"]] == ["urge", "feedback"]


async def test_a_failing_callback_is_parked_visible_and_retried_by_an_admin_in_order(
    env: HotlineEnv, pushed: dict[str, dict[str, Any]],
) -> None:
    order_no = "12345-2026-318394"
    await env.sim.post("/sim/fail", json={"count": 10, "status": 503})
    too_early = await env.intake.post(f"/api/v1/hotline/orders/{order_no}/progress", headers=STREET,
                                      json={"text": "正在处理"})
    assert_problem(too_early, 409, "order_not_accepted")  # 阶段回复 comes after 签收
    await _accept(env, pushed[order_no]["case_id"])
    await _callback(env, order_no, "accepted", status="pending")
    progress = await env.intake.post(f"/api/v1/hotline/orders/{order_no}/progress", headers=STREET,
                                     json={"text": "已联系企业负责人，正在核实欠薪人数和金额"})
    assert progress.status_code == 201, progress.text
    for n in range(1, 11):
        async def attempted(n: int = n) -> bool:
            return await _attempts(env, order_no, "accepted") >= n

        await wait_for(attempted, f"签收 attempt {n}")
        env.clock.advance(timedelta(seconds=16))
    failed = await _callback(env, order_no, "accepted", status="failed")
    assert failed["attempts"] == 10 and failed["last_status_code"] == 503
    listed = (await env.intake.get("/api/v1/hotline/callbacks", params={"status": "failed"}, headers=ADMIN)).json()
    assert failed["id"] in [c["id"] for c in listed["items"]]
    metrics = (await env.intake.get("/metrics")).text
    assert 'fq_hotline_callbacks_undelivered{status="failed"}' in metrics
    rec = await env.reconcile(order_no)
    assert [c["status"] for c in rec["callbacks"]] == ["failed", "pending"]  # the 阶段回复 waits its turn
    assert (await env.sim_callbacks(order_no))["applied"] == []

    assert_problem(await env.intake.post(f"/api/v1/hotline/orders/{order_no}/callbacks/{failed['id']}/retry",
                                         headers=STREET), 403, "forbidden_role")
    r = await env.intake.post(f"/api/v1/hotline/orders/{order_no}/callbacks/{failed['id']}/retry", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    await _callback(env, order_no, "progress")
    assert [a for a, _ in await _applied(env, order_no)] == ["签收", "阶段回复"]
    r = await env.intake.post(f"/api/v1/hotline/orders/{order_no}/callbacks/{failed['id']}/retry", headers=ADMIN)
    assert_problem(r, 409, "callback_delivered")


async def test_reconciliation_for_the_platform_itself_and_scope(
    env: HotlineEnv, pushed: dict[str, dict[str, Any]],
) -> None:
    from services.hotline_sim import sign_headers
    from tests.hotline.conftest import CLIENT_ID, SECRET

    order_no = "12345-2026-319231"
    path = f"/api/v1/hotline/orders/{order_no}"
    r = await env.intake.get(path, headers=sign_headers(CLIENT_ID, SECRET, "GET", path, b""))
    assert r.status_code == 200, r.text
    assert r.json()["case"]["id"] == pushed[order_no]["case_id"]
    assert_problem(await env.intake.get(path, headers=auth(Role.STREET_ADMIN, "S9")), 404, "order_not_found")
    assert_problem(await env.intake.get(path, headers=auth(Role.GRID_WORKER, "G07")), 403, "forbidden_role")
    assert_problem(await env.intake.get("/api/v1/hotline/orders/12345-NOPE", headers=ADMIN), 404, "order_not_found")
