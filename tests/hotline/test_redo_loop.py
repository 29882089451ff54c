"""The 12345 重办 loop told as one story: a 回访 that answers our 办结 callback is accepted whatever order routing's
events reach intake in, and requests racing intake's consumer on the same case never deadlock into an error."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from shared.events import CaseAssigned, CaseEscalated
from shared.events.case import AssignCause, EscalationReason, Level, Track
from tests.hotline.conftest import HotlineEnv, wait_for
from tests.hotline.test_e2e import ADMIN, _resolved, _second_round
from tests.hotline.test_event_callbacks import _accepted_order, _routing_fact
from tests.hotline.test_orders_api import make_order


async def _unsatisfied_then_resolved_again(env: HotlineEnv) -> tuple[str, str]:
    """不满意 → 重办 → a second 办结 (its callback delivered): the order and its case."""
    order = make_order()
    [answer] = await env.push(orders=[order])
    order_no, case_id = order["order_no"], answer["body"]["case_id"]
    first = await _resolved(env, order_no, case_id)
    unsatisfied = await env.message(order_no, "feedback", result="不满意", content="来电人对答复不满意")
    assert unsatisfied["body"]["outcome"] == "feedback_unsatisfied", unsatisfied
    redo = await env.message(order_no, "redo", content="请重新办理")
    assert redo["status"] == 200, redo
    await _second_round(env, order_no, case_id, first)
    return order_no, case_id


async def _status(env: HotlineEnv, case_id: str) -> str:
    return str((await env.case(case_id))["status"])


async def test_a_satisfied_follow_up_after_the_second_resolution_is_accepted(env: HotlineEnv) -> None:
    """The 满意 arrives after intake applied routing's resolved event (the case says resolved)."""
    order_no, case_id = await _unsatisfied_then_resolved_again(env)
    await wait_for(lambda: _is(env, case_id, "resolved"), "the case resolved in intake")
    answer = await env.message(order_no, "feedback", result="满意")
    assert answer["status"] == 200 and answer["body"]["outcome"] == "feedback_satisfied", answer


async def test_a_follow_up_answering_our_resolution_is_accepted_while_routing_events_trail(env: HotlineEnv) -> None:
    """Our 办结 callback was delivered, then routing's events that reach intake later move the case again (an
    assignment arriving after the resolution): the platform's 满意 answers the 办结 it was sent, and is accepted.
    Before, the case's lagging status decided: 409 case_not_resolved, "the case is assigned"."""
    order_no, case_id = await _unsatisfied_then_resolved_again(env)
    now = datetime.now(UTC)
    case = await env.case(case_id)
    await _routing_fact(env, CaseAssigned(
        case_id=uuid.UUID(case_id), at=now, assignment_id=uuid.uuid4(), case_code=case["code"],
        unit_id=case["current_unit_id"], unit_path=["S1", case["current_unit_id"]], level=Level.GRID,
        track=Track.GENERAL, accept_due_at=now, rule_id="default", explanation="trailing", cause=AssignCause.REOPENED))
    await wait_for(lambda: _is(env, case_id, "assigned"), "the trailing assignment applied in intake")
    answer = await env.message(order_no, "feedback", result="满意")
    assert answer["status"] == 200 and answer["body"]["outcome"] == "feedback_satisfied", answer
    timeline = [t["summary"] for t in (await env.intake.get(f"/api/v1/cases/{case_id}/timeline",
                                                            headers=ADMIN)).json()]
    assert timeline.count("12345回访结果：满意") == 1


async def test_platform_messages_racing_the_consumer_on_one_case_never_fail(env: HotlineEnv) -> None:
    """催办 requests (order → case before: the opposite of the consumer's case → orders) sent while intake's consumer
    applies escalations of the same case (its case, then its orders): every request answered 200, many times."""
    order_no, case_id, a = await _accepted_order(env)
    cid, aid = uuid.UUID(case_id), uuid.UUID(a["id"])
    rounds = 40

    async def facts() -> None:
        for _ in range(rounds):
            await _routing_fact(env, CaseEscalated(
                case_id=cid, at=datetime.now(UTC), assignment_id=aid, from_unit_id=a["unit_id"],
                from_level=Level.GRID, to_unit_id="S1", to_level=Level.STREET, reason=EscalationReason.REQUEST,
                escalated_by="U-G04-1"))
            await asyncio.sleep(0.01)

    async def urges() -> list[dict[str, object]]:
        answers = []
        for batch in range(rounds // 4):
            answers += await asyncio.gather(*(env.message(order_no, "urge", content=f"催办{batch}-{i}")
                                              for i in range(4)))
        return answers

    _, answers = await asyncio.gather(facts(), urges())
    statuses = sorted({int(str(x["status"])) for x in answers})
    assert statuses == [200], [x for x in answers if x["status"] != 200][:3]
    assert all(x["body"]["outcome"] == "urged" for x in answers)  # type: ignore[index]

    async def all_progress() -> bool:
        rec = await env.reconcile(order_no)
        return sum(c["action"] == "progress" for c in rec["callbacks"]) == rounds

    await wait_for(all_progress, "every escalation applied by the consumer")
    rec = await env.reconcile(order_no)
    assert [c["seq"] for c in rec["callbacks"]] == list(range(1, rounds + 2))  # 签收 + one per escalation


async def _is(env: HotlineEnv, case_id: str, status: str) -> bool:
    return await _status(env, case_id) == status

