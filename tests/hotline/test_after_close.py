"""12345 after our close (销号): the platform's late 不满意 or 重办 reopens the closed case (counted as 重办) instead of
409, and a re-delivered message is applied once."""

from __future__ import annotations

from typing import Any

from tests.hotline.conftest import HotlineEnv, wait_for
from tests.hotline.test_e2e import _resolved, _second_round
from tests.hotline.test_orders_api import make_order


async def _closed(env: HotlineEnv) -> tuple[str, str, dict[str, Any]]:
    order = make_order()
    [answer] = await env.push(orders=[order])
    order_no, case_id = order["order_no"], answer["body"]["case_id"]
    first = await _resolved(env, order_no, case_id)
    ok = await env.message(order_no, "feedback", result="满意")
    assert ok["body"]["outcome"] == "feedback_satisfied", ok

    async def closed() -> bool:
        a = await env.current_assignment(case_id)
        return bool(a and a["status"] == "closed")

    await wait_for(closed, "routing closes the case after the 满意")
    return order_no, case_id, first


async def test_a_late_unsatisfied_follow_up_reopens_the_closed_case_once(env: HotlineEnv) -> None:
    order_no, case_id, first = await _closed(env)
    body = {"order_no": order_no, "kind": "feedback", "body": {"message_id": f"HF-{order_no}-late", "result": "不满意"}}
    late = (await env.sim.post("/sim/message", json=body)).json()
    assert late["status"] == 200 and late["body"]["outcome"] == "feedback_unsatisfied", late
    again = (await env.sim.post("/sim/message", json=body)).json()
    assert again["body"]["repeated"] is True
    await _second_round(env, order_no, case_id, first)


async def test_a_redo_order_after_our_close_reopens_instead_of_409(env: HotlineEnv) -> None:
    order_no, case_id, first = await _closed(env)
    redo = await env.message(order_no, "redo", content="来电人反映问题复发，请重新办理")
    assert redo["status"] == 200 and redo["body"]["outcome"] == "reopen_requested", redo  # was 409 case_not_resolved
    await _second_round(env, order_no, case_id, first)
