"""Which routing facts owe the platform which callback, over the real broker.

Routing's workflow actions for these facts (return, extension, escalation, reopen) are being built elsewhere, so
the facts are written to routing's own outbox here, exactly as routing writes them, and travel through its relay,
the broker and intake's consumer like any other event. The end-to-end tests cover the same with routing's actions.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.bus.outbox import add_event
from shared.events import (
    CaseAccepted,
    CaseEscalated,
    CaseExtensionRequested,
    CaseReopened,
    CaseResolved,
    CaseReturned,
    Event,
)
from shared.events.case import DeadlineClock, EscalationReason, Level, Outcome, ReopenReason
from tests.hotline.conftest import HotlineEnv
from tests.hotline.test_e2e import STREET, _accept, _applied, _callback
from tests.hotline.test_orders_api import make_order
from tests.support import act


async def _routing_fact(env: HotlineEnv, event: Event) -> None:
    runtime = env.apps["routing"].state.runtime
    async with runtime.session() as session, session.begin():
        await add_event(session, event, source=runtime.source)


async def _accepted_order(env: HotlineEnv) -> tuple[str, str, dict[str, Any]]:
    order = make_order()
    [answer] = await env.push(orders=[order])
    case_id = answer["body"]["case_id"]
    assignment = await _accept(env, case_id)
    await _callback(env, order["order_no"], "accepted")
    return order["order_no"], case_id, assignment


async def test_extension_escalation_and_a_street_return_reach_the_platform_in_order(env: HotlineEnv) -> None:
    order_no, case_id, a = await _accepted_order(env)
    cid, aid, now = uuid.UUID(case_id), uuid.UUID(a["id"]), datetime.now(UTC)
    due = now + timedelta(days=5)
    await _routing_fact(env, CaseExtensionRequested(
        case_id=cid, at=now, assignment_id=aid, unit_id=a["unit_id"], clock=DeadlineClock.RESOLVE,
        reason="需等待物业维修配件到货", requested_by="U-G04-1", requested_due_at=due))
    await _routing_fact(env, CaseEscalated(
        case_id=cid, at=now, assignment_id=aid, from_unit_id=a["unit_id"], from_level=Level.GRID, to_unit_id="S1",
        to_level=Level.STREET, reason=EscalationReason.REQUEST, escalated_by="U-G04-1"))
    # a grid returning the case is routing's business (re-routed inside the street): nothing for the platform
    await _routing_fact(env, CaseReturned(
        case_id=cid, at=now, assignment_id=aid, unit_id=a["unit_id"], level=Level.GRID, reason="不属于本网格",
        returned_by="U-G04-1", return_count=1))
    await _routing_fact(env, CaseReturned(
        case_id=cid, at=now, assignment_id=uuid.uuid4(), unit_id="S1", level=Level.STREET,
        reason="经核实该事项属于区住建局职责，请平台改派", returned_by="U-S1-1", return_count=2))
    returned = await _callback(env, order_no, "returned")
    assert returned["payload"]["text"] == "经核实该事项属于区住建局职责，请平台改派"
    assert await _applied(env, order_no) == [
        ("签收", None), ("延期申请", "需等待物业维修配件到货"), ("阶段回复", "已提级至街道层面办理"),
        ("退单", "经核实该事项属于区住建局职责，请平台改派")]
    extension = (await env.sim_callbacks(order_no))["applied"][1]["body"]
    assert datetime.fromisoformat(extension["requested_deadline"]) == due
    rec = await env.reconcile(order_no)
    assert rec["phase"] == "returned" and [c["seq"] for c in rec["callbacks"]] == [1, 2, 3, 4]
    # after 退单 the staff has nothing more to send
    r = await env.intake.post(f"/api/v1/hotline/orders/{order_no}/progress", headers=STREET, json={"text": "补充说明"})
    assert r.status_code == 409 and r.json()["code"] == "order_not_accepted"


async def test_after_a_reopen_the_order_is_signed_for_and_resolved_again(env: HotlineEnv) -> None:
    order_no, case_id, a = await _accepted_order(env)
    cid, aid = uuid.UUID(case_id), uuid.UUID(a["id"])
    r = await act(env.routing, a["id"], "resolve", STREET, {"outcome": "resolved"})
    assert r.status_code == 200, r.text
    first = await _callback(env, order_no, "resolved")
    assert first["payload"]["text"] == "调解成功，已办结"  # no staff reply recorded: the outcome's wording
    answer = await env.message(order_no, "redo", content="来电人反映问题仍未解决")
    assert answer["body"]["outcome"] == "reopen_requested", answer
    # routing's answer to the request, as routing-flow publishes it
    now, second = datetime.now(UTC), uuid.uuid4()
    await _routing_fact(env, CaseReopened(case_id=cid, at=now, previous_assignment_id=aid,
                                          reason=ReopenReason.HOTLINE_REDO, reopen_count=1, reopened_by="routing"))
    await _routing_fact(env, CaseAccepted(case_id=cid, at=now, assignment_id=second, unit_id=a["unit_id"],
                                          accepted_by="U-G04-1", resolve_due_at=now + timedelta(days=3),
                                          accepted_on_time=True))
    await _routing_fact(env, CaseAccepted(case_id=cid, at=now, assignment_id=uuid.uuid4(), unit_id="S1",
                                          accepted_by="U-S1-1", resolve_due_at=now + timedelta(days=3),
                                          accepted_on_time=True))  # re-routed inside the street: not signed again
    await _routing_fact(env, CaseResolved(case_id=cid, at=now, assignment_id=second, unit_id=a["unit_id"],
                                          level=Level.GRID, outcome=Outcome.RESOLVED, resolved_by="U-G04-1",
                                          resolved_on_time=True))
    await _callback(env, order_no, "resolved", count=2)
    assert [action for action, _ in await _applied(env, order_no)] == ["签收", "办结", "签收", "办结"]
