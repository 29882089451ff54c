"""The 12345 callback continues the trace of what it answers (issue 19): the traceparent stored with the callback
row when it was owed is sent, as the sender's client span's, to the platform (the simulator records it)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from tests.hotline.conftest import HotlineEnv
from tests.hotline.test_e2e import STREET, _accept, _callback
from tests.hotline.test_orders_api import make_order


def _service(span: ReadableSpan) -> Any:
    return span.resource.attributes.get("service.name")


def _chain(env: HotlineEnv, traceparent: str) -> list[ReadableSpan]:
    """The span that sent ``traceparent`` and its ancestors up to the trace's root."""
    _, trace_id, span_id, _ = traceparent.split("-")
    spans = list(env.spans.get_finished_spans())
    sent = [s for s in spans if f"{s.context.trace_id:032x}" == trace_id and f"{s.context.span_id:016x}" == span_id]
    assert sent, f"no exported span sent {traceparent}"
    chain = sent
    while chain[-1].parent is not None:
        parent = [s for s in spans if s.context.span_id == chain[-1].parent.span_id]
        assert parent, f"the parent of {chain[-1].name} was not exported"
        chain.append(parent[0])
    return chain


async def _received(env: HotlineEnv, order_no: str, action: str) -> dict[str, Any]:
    await _callback(env, order_no, action)
    deliveries = (await env.sim_callbacks(order_no))["deliveries"]
    return dict(deliveries[-1])


async def test_the_callback_carries_the_trace_of_the_acceptance_through_routing_and_intakes_consumer(
        env: HotlineEnv) -> None:
    order = make_order()
    [pushed] = await env.push(orders=[order])
    await _accept(env, pushed["body"]["case_id"])
    delivery = await _received(env, order["order_no"], "accepted")
    assert delivery["status"] == 200 and delivery["traceparent"], delivery
    chain = _chain(env, delivery["traceparent"])
    # the platform's callback ← intake's consumer of the acceptance ← routing's relay ← routing's POST …/accept
    assert [(_service(s), s.name, s.kind) for s in chain] == [
        ("intake", "POST 12345 callback accepted", SpanKind.CLIENT),
        ("intake", "process fq.case.accepted.v1", SpanKind.CONSUMER),
        ("routing", "publish fq.case.accepted.v1", SpanKind.PRODUCER),
        ("routing", "POST /api/v1/assignments/{assignment_id}/accept", SpanKind.SERVER),
    ]
    assert len({s.context.trace_id for s in chain}) == 1
    assert chain[0].attributes.get("http.response.status_code") == 200


async def test_a_progress_reply_is_sent_in_the_trace_of_the_staffs_post(env: HotlineEnv) -> None:
    order = make_order()
    [pushed] = await env.push(orders=[order])
    await _accept(env, pushed["body"]["case_id"])
    await _received(env, order["order_no"], "accepted")
    r = await env.intake.post(f"/api/v1/hotline/orders/{order['order_no']}/progress", headers=STREET,
                              json={"text": "已安排维修人员上门疏通"})
    assert r.status_code == 201, r.text
    delivery = await _received(env, order["order_no"], "progress")
    chain = _chain(env, delivery["traceparent"])
    assert [(_service(s), s.name, s.kind) for s in chain] == [
        ("intake", "POST 12345 callback progress", SpanKind.CLIENT),
        ("intake", "POST /api/v1/hotline/orders/{order_no}/progress", SpanKind.SERVER),
    ]
