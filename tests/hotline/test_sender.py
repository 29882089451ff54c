"""The callback sender with several replicas: each callback is delivered once, whoever sends it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from intake_svc.hotline.sender import CallbackSender, SenderSettings
from tests.hotline.conftest import HotlineEnv
from tests.hotline.test_e2e import _accept, _attempts, _callback
from tests.hotline.test_orders_api import make_order
from tests.support import eventually


async def test_replicas_racing_for_due_callbacks_deliver_each_once(env: HotlineEnv) -> None:
    app = env.apps["intake"]
    replicas = [CallbackSender(app.state.deps.hotline, app.state.runtime.session, SenderSettings(max_attempts=10))
                for _ in range(3)]
    orders = [make_order() for _ in range(4)]
    await env.sim.post("/sim/unreachable", json={"on": True})
    answers = await env.push(orders=orders)
    for answer in answers:
        await _accept(env, answer["body"]["case_id"])
    for order in orders:
        async def tried(no: str = order["order_no"]) -> bool:
            return await _attempts(env, no, "accepted") >= 1

        await eventually(tried, timeout=60, what="a first attempt while the platform is unreachable")
    await env.sim.post("/sim/unreachable", json={"on": False})
    env.clock.advance(timedelta(seconds=5))  # every callback is due again: the app's sender and three replicas race
    try:
        await asyncio.gather(*(r.run_once() for r in replicas for _ in range(3)))
        for order in orders:
            delivered = await _callback(env, order["order_no"], "accepted")
            assert [a["status_code"] for a in delivered["answers"]][-1] == 200
            assert [a["status_code"] for a in delivered["answers"]].count(200) == 1
            sim = await env.sim_callbacks(order["order_no"])
            assert len(sim["deliveries"]) == 1 and not sim["deliveries"][0]["duplicate"]
    finally:
        for r in replicas:
            await r.stop()
