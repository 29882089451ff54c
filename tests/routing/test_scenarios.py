"""Scenarios of the assignment workflow over the real stack (intake + routing on real PostgreSQL and broker).

Routing runs on a FrozenClock: a test moves it and calls the scheduler's ``tick()`` (its loop runs too, so
whichever acts first, the effect is the same). Nothing sleeps for a deadline.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.embedded import EmbeddedBroker, free_port
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from shared.events import Topic, encode, envelope_for
from shared.events.case import CaseReceived, CaseReopenRequested, LocationRef, ReopenReason
from shared.worktime import WorkCalendar, WorkSpan
from tests.support import Infra, Stack, auth, case_body, eventually, start_stack
from tests.support import act as act_on

OPERATOR = auth(Role.OPERATOR, "S1", "op-flow")
ADMIN = auth(Role.ADMIN, None)
G01 = auth(Role.GRID_WORKER, "G01", "U-G01-1")
G02 = auth(Role.GRID_WORKER, "G02", "U-G02-1")
G04 = auth(Role.GRID_WORKER, "G04", "U-G04-1")
C1 = auth(Role.COMMUNITY_ADMIN, "C1", "U-C1-1")
S1 = auth(Role.STREET_ADMIN, "S1", "U-S1-1")
CAL = WorkCalendar()


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))  # a Monday morning


@pytest.fixture(scope="module")
async def flow(infra: Infra, tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock) -> AsyncIterator[Stack]:
    """Intake and routing on their own broker and database (routing's consumer group is theirs alone)."""
    broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp("flow") / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, "fq_flow")
        stack = await start_stack(url, broker.bootstrap, names=("intake", "routing"), routing={"clock": clock})
        try:
            yield stack
        finally:
            await stack.close()
    finally:
        broker.stop()


def next_working_morning(clock: FrozenClock) -> None:
    """Move the clock to 09:00 of the next day that starts two working days in a row (a clean slate per test)."""
    d = clock.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    while not (CAL.is_workday(d) and CAL.is_workday(d + timedelta(days=1))):
        d += timedelta(days=1)
    clock.set(datetime.combine(d, time(9, 0), SHANGHAI))


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), SHANGHAI)


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


async def new_case(stack: Stack, **overrides: Any) -> dict[str, Any]:
    r = await stack.intake.post("/api/v1/cases", json=case_body(**overrides), headers=OPERATOR)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def routing_of(stack: Stack, case_id: str) -> dict[str, Any] | None:
    r = await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)
    return r.json() if r.status_code == 200 else None


async def current(stack: Stack, case_id: str, *, history: int = 1) -> dict[str, Any]:
    """The current assignment once the case has ``history`` assignments."""
    async def check() -> dict[str, Any] | None:
        got = await routing_of(stack, case_id)
        return got["current"] if got and len(got["history"]) >= history else None

    return await eventually(check, timeout=60, what=f"{history} assignment(s) of case {case_id}")


async def detail(stack: Stack, assignment_id: str, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    r = await stack.routing.get(f"/api/v1/assignments/{assignment_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def act(stack: Stack, assignment_id: str, action: str, headers: dict[str, str], body: Any = None,
              expect: int = 200, **kw: Any) -> dict[str, Any]:
    """``action`` with ``headers``: their ``If-Match`` if they have one, else the ETag read just before."""
    if "If-Match" in headers or kw:
        r = await stack.routing.post(f"/api/v1/assignments/{assignment_id}/{action}", headers=headers, json=body,
                                     **kw)
    else:
        r = await act_on(stack.routing, assignment_id, action, headers, body)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


async def intake_case(stack: Stack, case_id: str) -> dict[str, Any]:
    return (await stack.intake.get(f"/api/v1/cases/{case_id}", headers=ADMIN)).json()  # type: ignore[no-any-return]


async def intake_shows(stack: Stack, case_id: str, *, status: str | None = None, kind: str | None = None) -> None:
    async def check() -> bool:
        if status is not None and (await intake_case(stack, case_id))["status"] != status:
            return False
        if kind is not None:
            entries = (await stack.intake.get(f"/api/v1/cases/{case_id}/timeline", headers=ADMIN)).json()
            entries = entries["items"] if isinstance(entries, dict) else entries
            return any(e["kind"] == kind for e in entries)
        return True

    await eventually(check, timeout=60, what=f"intake shows status={status} kind={kind} for {case_id}")


async def _unit_in_intake(stack: Stack, case_id: str, unit_id: str) -> bool:
    return (await intake_case(stack, case_id))["current_unit_id"] == unit_id  # type: ignore[no-any-return]


async def tick(stack: Stack) -> None:
    await stack.apps["routing"].state.scheduler.tick()


# --- scenarios -----------------------------------------------------------------------------------------


async def test_neighbour_dispute_is_resolved_at_the_grid_and_closed_after_satisfied_feedback(
        flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    assert (a["unit_id"], a["level"], a["track"], a["rule_id"]) == ("G01", "grid", "general", "default.grid")
    # 4 working hours from 09:00: 09:00–12:00 and 13:30–14:30
    assert parse(a["accept_due_at"]) == at(clock.now().astimezone(SHANGHAI).date(), 14, 30)
    await intake_shows(flow, case["id"], status="assigned")

    r = await flow.routing.post(f"/api/v1/assignments/{a['id']}/accept", headers={**G01, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    accepted = r.json()
    assert accepted["status"] == "accepted" and r.headers["etag"] == '"2"'
    # general track at the grid (普通门诊): accepted at 09:00, before the 16:00 cut-off, so resolved by today's close
    today = clock.now().astimezone(SHANGHAI).date()
    assert parse(accepted["resolve_due_at"]) == at(today, 17, 30)

    resolved = await act(flow, a["id"], "resolve", {**G01, "If-Match": '"2"'},
                         {"outcome": "resolved", "mediation_agreement": True})
    assert resolved["status"] == "resolved" and resolved["mediation_agreement"] is True
    await intake_shows(flow, case["id"], status="resolved")

    r = await flow.intake.post(f"/api/v1/cases/{case['id']}/feedback", headers=C1, json={"result": "satisfied"})
    assert r.status_code in (200, 201), r.text

    async def closed() -> dict[str, Any] | None:
        d = await detail(flow, a["id"])
        return d if d["status"] == "closed" else None

    d = await eventually(closed, timeout=60, what="routing closes the case after satisfied feedback")
    assert d["closed_at"] is not None and d["history"][-1]["detail"]["reason"] == "satisfied"
    assert [h["action"] for h in d["history"]] == ["assigned", "accept", "resolve", "close"]
    await intake_shows(flow, case["id"], status="closed", kind="closed")


async def test_a_grid_that_never_accepts_goes_to_the_community_the_street_then_the_district(
        flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    grid = await current(flow, case["id"])
    assert grid["unit_id"] == "G01"

    clock.set(parse(grid["accept_due_at"]) - timedelta(minutes=1))
    await tick(flow)
    assert (await detail(flow, grid["id"]))["status"] == "assigned"  # not yet

    clock.set(parse(grid["accept_due_at"]) + timedelta(seconds=1))
    await tick(flow)
    community = await current(flow, case["id"], history=2)
    assert (community["unit_id"], community["level"], community["cause"]) == ("C1", "community", "escalated")
    assert community["previous_assignment_id"] == grid["id"]
    left = await detail(flow, grid["id"])
    assert left["status"] == "escalated"
    assert [h["action"] for h in left["history"]][-2:] == ["overdue", "escalate"]
    assert left["history"][-1]["detail"]["reason"] == "timeout"
    # the community's accept clock starts at the escalation, in working time
    assert parse(community["accept_due_at"]) == CAL.add(clock.now(), WorkSpan(hours=4))

    clock.set(parse(community["accept_due_at"]) + timedelta(seconds=1))
    await tick(flow)
    street = await current(flow, case["id"], history=3)
    assert (street["unit_id"], street["level"], street["cause"]) == ("S1", "street", "escalated")
    await intake_shows(flow, case["id"], status="assigned", kind="escalated")
    await eventually(lambda: _unit_in_intake(flow, case["id"], "S1"), timeout=60, what="intake follows to S1")

    # the district rung (the demo org's district_admin at D1) is next, and the top of the ladder
    clock.set(parse(street["accept_due_at"]) + timedelta(seconds=1))
    await tick(flow)
    district = await current(flow, case["id"], history=4)
    assert (district["unit_id"], district["level"], district["cause"]) == ("D1", "district", "escalated")
    # at the top: overdue once, no escalation
    clock.set(parse(district["accept_due_at"]) + timedelta(seconds=1))
    await tick(flow)
    await tick(flow)
    d = await detail(flow, district["id"])
    assert d["status"] == "assigned"
    assert [h["action"] for h in d["history"]].count("overdue") == 1
    assert len((await routing_of(flow, case["id"]))["history"]) == 4  # type: ignore[index]
    assert (await flow.routing.get("/readyz")).json()["details"]["scheduler"] == "ok"
    metrics = (await flow.routing.get("/metrics")).text
    assert 'fq_scheduler_actions_total{outcome="done",queue="accept_overdue"}' in metrics


async def test_a_fight_between_neighbours_goes_to_the_community_with_the_police(flow: Stack, clock: FrozenClock
                                                                                ) -> None:
    next_working_morning(clock)
    case = await new_case(flow, title="邻里纠纷动手", description="两户邻居因停车位争吵后发生肢体冲突，一方动手打人。",
                          risk_signals=["violence"])
    a = await current(flow, case["id"])
    assert (a["unit_id"], a["level"], a["rule_id"]) == ("C1", "community", "violence.community")
    assert "police" in a["forces"]
    assert "G01" in a["explanation"]  # located at the grid, climbed to its community


async def test_a_wage_dispute_of_six_workers_goes_to_the_street_specialist_track_with_labor(
        flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow, title="欠薪", category="labor.wage_arrears", request_type="dispute",
                          description="六名装修工人反映包工头拖欠三个月工资，多次讨要未果，请求帮助。",
                          people_involved=6, location={"grid_id": "G04", "address": "桂园新村12号楼"})
    a = await current(flow, case["id"])
    assert (a["unit_id"], a["level"], a["track"]) == ("S1", "street", "specialist")
    assert "labor" in a["forces"]
    assert a["rule_id"].startswith("labor_group")


async def test_return_reroutes_then_the_street_centre_decides(flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    # the operator picked the wrong grid: the address is in G02
    case = await new_case(flow, location={"grid_id": "G01", "address": "听松苑5号楼3单元"})
    first = await current(flow, case["id"])
    assert first["unit_id"] == "G01"

    await act(flow, first["id"], "return", G01, {}, expect=422)  # a reason is required
    second = await act(flow, first["id"], "return", G01, {"reason": "不属于本网格，地址在听松苑"})
    assert (second["unit_id"], second["cause"], second["previous_assignment_id"]) == ("G02", "returned", first["id"])
    assert (await detail(flow, first["id"]))["status"] == "returned"
    await act(flow, first["id"], "accept", G01, expect=409)  # handed on: nothing left to do

    third = await act(flow, second["id"], "return", G02, {"reason": "也不属于本网格"})
    assert (third["unit_id"], third["level"], third["cause"]) == ("S1", "street", "decided")

    await act(flow, third["id"], "dispatch", C1, {"unit_id": "G03"}, expect=403)  # community admins do not dispatch
    await act(flow, third["id"], "dispatch", S1, {"unit_id": "NOPE"}, expect=422)
    fourth = await act(flow, third["id"], "dispatch", S1, {"unit_id": "G03", "note": "由第三网格牵头"})
    assert (fourth["unit_id"], fourth["cause"], fourth["status"]) == ("G03", "decided", "assigned")
    routing = await routing_of(flow, case["id"])
    assert routing is not None and [h["status"] for h in routing["history"]] == [
        "returned", "returned", "dispatched", "assigned"]
    await intake_shows(flow, case["id"], status="assigned", kind="returned")
    await eventually(lambda: _unit_in_intake(flow, case["id"], "G03"), timeout=60, what="intake follows to G03")


async def test_the_street_centre_returns_a_case_outside_its_jurisdiction_to_its_channel(
        flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow, location={"address": "火星路1号"})  # no unit matches: the street's triage queue
    a = await current(flow, case["id"])
    assert (a["unit_id"], a["level"]) == ("S1", "street")
    back = await act(flow, a["id"], "return", S1, {"reason": "工单地址不属于鹭鸣街道辖区"})
    assert (back["id"], back["status"], back["allowed_actions"]) == (a["id"], "returned", [])
    routing = await routing_of(flow, case["id"])
    assert routing is not None and len(routing["history"]) == 1  # nothing follows: back to the channel
    await intake_shows(flow, case["id"], status="returned", kind="returned")


async def test_a_reopen_request_event_reopens_only_the_assignment_it_names(flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    await act(flow, a["id"], "accept", G01)
    await act(flow, a["id"], "resolve", G01, {"outcome": "resolved"})
    stale = CaseReopenRequested(case_id=case["id"], at=clock.now(), assignment_id=uuid.uuid4(),
                                reason=ReopenReason.HOTLINE_REDO, requested_by="hotline:test", source="hotline")
    fresh = stale.model_copy(update={"assignment_id": uuid.UUID(a["id"])})
    # a new case on the same partition after them: once it is routed, the requests before it were handled
    marker = CaseReceived(case_id=uuid.uuid4(), at=clock.now(), code="FQ-MARKER-000002", channel="walk_in",
                          request_type="dispute", location=LocationRef(grid_id="G02"))
    producer = AIOKafkaProducer(bootstrap_servers=flow.bootstrap)
    await producer.start()
    try:
        for ev in (stale, fresh, fresh.model_copy(), marker):  # a stale request, the real one, the real one again
            env = envelope_for(ev, "/fengqiao/intake")
            await producer.send_and_wait(Topic.CASE, value=encode(ev), key=case["id"].encode(), headers=env.headers())
    finally:
        await producer.stop()
    await current(flow, str(marker.case_id))
    routing = await routing_of(flow, case["id"])
    assert routing is not None and len(routing["history"]) == 2  # reopened once, not three times
    again = routing["current"]
    assert (again["unit_id"], again["cause"], again["previous_assignment_id"]) == ("G01", "reopened", a["id"])
    history = (await detail(flow, a["id"]))["history"]
    assert [h["action"] for h in history].count("reopen") == 1
    assert history[-1]["detail"]["reason"] == "hotline_redo" and history[-1]["actor"] == "hotline:test"


async def test_an_approved_extension_moves_the_resolve_deadline(flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    a = await act(flow, a["id"], "accept", G01)
    old_due = parse(a["resolve_due_at"])
    wanted = old_due + timedelta(days=7)

    await act(flow, a["id"], "extend", G01, {"reason": "当事人外出务工，需等其返回", "due_at": old_due.isoformat()},
              expect=422)
    pending = await act(flow, a["id"], "extend", G01, {"reason": "当事人外出务工，需等其返回",
                                                       "due_at": wanted.isoformat()})
    assert pending["pending_extension"]["reason"] == "当事人外出务工，需等其返回"
    assert set(pending["allowed_actions"]) >= {"approve_extension", "reject_extension"}
    assert "request_extension" not in pending["allowed_actions"]
    await act(flow, a["id"], "extend", G01, {"reason": "again", "due_at": wanted.isoformat()}, expect=409)
    await act(flow, a["id"], "approve-extension", G01, {}, expect=403)  # not the handler's own call
    await act(flow, a["id"], "approve-extension", auth(Role.COMMUNITY_ADMIN, "C2", "U-C2-1"), {}, expect=404)
    approved = await act(flow, a["id"], "approve-extension", C1, {"note": "同意"})
    assert parse(approved["resolve_due_at"]) == wanted and approved["pending_extension"] is None
    await intake_shows(flow, case["id"], kind="extended")

    clock.set(old_due + timedelta(hours=1))
    await tick(flow)
    d = await detail(flow, a["id"])
    assert "overdue" not in [h["action"] for h in d["history"]]
    clock.set(wanted + timedelta(seconds=1))
    await tick(flow)
    d = await detail(flow, a["id"])
    assert [h["action"] for h in d["history"]].count("overdue") == 1
    assert d["status"] == "accepted"  # general track: supervision (督办), no escalation
    overdue = (await flow.routing.get("/api/v1/assignments", params={"unit_id": "G01", "overdue": "true"},
                                      headers=G01)).json()["items"]
    assert a["id"] in [i["id"] for i in overdue]
    await intake_shows(flow, case["id"], kind="overdue")


async def test_a_rejected_extension_keeps_the_deadline_and_is_an_event(flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    a = await act(flow, a["id"], "accept", G01)
    due = a["resolve_due_at"]
    wanted = parse(due) + timedelta(days=5)
    await act(flow, a["id"], "extend", G01, {"reason": "需等待鉴定结论", "due_at": wanted.isoformat()})
    await act(flow, a["id"], "reject-extension", C1, {}, expect=422)  # a rejection says why
    rejected = await act(flow, a["id"], "reject-extension", C1, {"reason": "事实清楚，可在期限内办结"})
    assert rejected["resolve_due_at"] == due and rejected["pending_extension"] is None
    assert "request_extension" in rejected["allowed_actions"]  # the unit may ask again

    await intake_shows(flow, case["id"], kind="extension_rejected")  # fq.case.extension_rejected.v1 arrived
    timeline = (await flow.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=ADMIN)).json()
    timeline = timeline["items"] if isinstance(timeline, dict) else timeline
    entry = next(e for e in timeline if e["kind"] == "extension_rejected")
    assert entry["summary"].startswith("延期申请未获上级单位批准，办结期限仍为")
    assert entry["data"]["rejection_reason"] == "事实清楚，可在期限内办结" and entry["actor"] == "U-C1-1"
    public = (await flow.intake.get(f"/api/v1/public/cases/{case['code']}",
                                    params={"phone_last4": case["parties"][0]["phone"][-4:]})).json()
    assert all("延期" not in e["summary"] for e in public["timeline"]), public  # staff only


async def test_a_suspension_pauses_the_clock(flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    day = clock.now().astimezone(SHANGHAI).date()
    case = await new_case(flow)
    a = await current(flow, case["id"])
    assert parse(a["accept_due_at"]) == at(day, 14, 30)

    clock.set(at(day, 10, 0))
    s = await act(flow, a["id"], "suspend", G01, {"reason": "当事人住院，暂无法调解"})
    assert s["status"] == "suspended" and s["allowed_actions"] == ["resume"]
    await intake_shows(flow, case["id"], status="suspended")
    clock.set(at(day + timedelta(days=1), 10, 0))  # past the accept deadline while suspended
    await tick(flow)
    assert (await detail(flow, a["id"]))["status"] == "suspended"
    resumed = await act(flow, a["id"], "resume", G01, {})
    # suspended for one full working day (Mon 10:00 → Tue 10:00): the deadline moves by exactly that
    assert resumed["status"] == "assigned"
    assert parse(resumed["accept_due_at"]) == at(day + timedelta(days=1), 14, 30)
    await intake_shows(flow, case["id"], status="assigned", kind="resumed")
    clock.set(at(day + timedelta(days=1), 14, 31))
    await tick(flow)
    assert (await current(flow, case["id"], history=2))["unit_id"] == "C1"


async def test_unsatisfied_feedback_reopens_at_the_resolving_unit_then_one_level_up(flow: Stack, clock: FrozenClock
                                                                                     ) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    await act(flow, a["id"], "accept", G01)
    await act(flow, a["id"], "resolve", G01, {"outcome": "resolved"})
    await intake_shows(flow, case["id"], status="resolved")
    r = await flow.intake.post(f"/api/v1/cases/{case['id']}/feedback", headers=C1,
                               json={"result": "unsatisfied", "comment": "问题没有解决"})
    assert r.status_code in (200, 201), r.text
    again = await current(flow, case["id"], history=2)
    assert (again["unit_id"], again["cause"], again["previous_assignment_id"]) == ("G01", "reopened", a["id"])
    assert (await detail(flow, a["id"]))["status"] == "reopened"
    await intake_shows(flow, case["id"], status="assigned", kind="reopened")

    await act(flow, again["id"], "accept", G01)
    await act(flow, again["id"], "resolve", G01, {"outcome": "resolved"})
    await intake_shows(flow, case["id"], status="resolved")
    # a 12345 重办 through the staff/service endpoint: second reopen → one level up
    r = await flow.routing.post(f"/api/v1/cases/{case['id']}/reopen", headers=auth(Role.SERVICE, None),
                                json={"reason": "hotline_redo"})
    assert r.status_code == 200, r.text
    third = r.json()
    assert (third["unit_id"], third["cause"]) == ("C1", "reopened")
    r = await flow.routing.post(f"/api/v1/cases/{case['id']}/reopen", headers=auth(Role.SERVICE, None), json={})
    assert r.status_code == 409 and r.json()["allowed_actions"] == [
        "accept", "dispatch", "escalate", "request_extension", "return", "suspend"]


async def test_no_answer_within_the_window_closes_the_case(flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    await act(flow, a["id"], "accept", G01)
    d = await act(flow, a["id"], "resolve", G01, {"outcome": "withdrawn"})
    close_due = parse(d["close_due_at"])
    assert CAL.working_seconds(clock.now(), close_due) > 0
    clock.set(close_due - timedelta(minutes=1))
    await tick(flow)
    assert (await detail(flow, a["id"]))["status"] == "resolved"
    clock.set(close_due + timedelta(seconds=1))
    await tick(flow)
    d = await detail(flow, a["id"])
    assert d["status"] == "closed" and d["history"][-1]["detail"]["reason"] == "no_answer"
    await intake_shows(flow, case["id"], status="closed")


async def test_escalation_on_request_versions_scope_and_illegal_actions(flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])

    r = await act_on(flow.routing, a["id"], "resolve", G01, {"outcome": "resolved"})
    assert r.status_code == 409
    assert r.json()["code"] == "illegal_transition"
    assert r.json()["allowed_actions"] == ["accept", "dispatch", "escalate", "request_extension", "return", "suspend"]
    r = await flow.routing.post(f"/api/v1/assignments/{a['id']}/accept", headers={**G01, "If-Match": '"7"'})
    assert r.status_code == 412 and r.json()["current_version"] == 1
    assert r.json()["code"] == "precondition_failed" and r.headers["etag"] == '"1"'
    r = await flow.routing.post(f"/api/v1/assignments/{a['id']}/accept", headers=G01)
    assert r.status_code == 428 and r.json()["code"] == "precondition_required"
    assert (await flow.routing.get(f"/api/v1/assignments/{a['id']}", headers=G04)).status_code == 404
    await act(flow, a["id"], "accept", G04, expect=404)

    await act(flow, a["id"], "escalate", G01, {"reason": ""}, expect=422)
    up = await act(flow, a["id"], "escalate", G01, {"reason": "涉及多户，需社区协调"})
    assert (up["unit_id"], up["cause"]) == ("C1", "escalated")
    # the grid keeps read-only sight of the case it passed on
    seen = await detail(flow, up["id"], G01)
    assert seen["read_only"] is True and seen["allowed_actions"] == []
    await act(flow, up["id"], "accept", G01, expect=403)
    mine = await detail(flow, up["id"], C1)
    assert mine["read_only"] is False and "accept" in mine["allowed_actions"]
    r = await flow.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=G01)
    assert r.status_code == 200 and r.json()["current"]["unit_id"] == "C1"
    assert (await flow.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=G04)).status_code == 404
    await intake_shows(flow, case["id"], kind="escalated")



ACTION_BODIES: dict[str, Any] = {
    "accept": {}, "return": {"reason": "x"}, "extend": {"reason": "x", "due_at": "2030-01-01T09:00:00+08:00"},
    "approve-extension": {}, "reject-extension": {"reason": "x"}, "suspend": {"reason": "x"}, "resume": {},
    "escalate": {"reason": "x"}, "dispatch": {"unit_id": "G02"}, "resolve": {"outcome": "resolved"},
}


async def test_every_action_on_a_closed_assignment_is_a_409_listing_no_allowed_action(
        flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    await act(flow, a["id"], "accept", G01)
    await act(flow, a["id"], "resolve", G01, {"outcome": "resolved"})
    await intake_shows(flow, case["id"], status="resolved")
    r = await flow.intake.post(f"/api/v1/cases/{case['id']}/feedback", headers=C1, json={"result": "unreached"})
    assert r.status_code in (200, 201), r.text

    async def closed() -> bool:
        return (await detail(flow, a["id"]))["status"] == "closed"  # type: ignore[no-any-return]

    await eventually(closed, timeout=60, what="closed after an unreached follow-up")
    admin_of_s1 = auth(Role.STREET_ADMIN, "S1", "U-S1-1")
    for action, body in ACTION_BODIES.items():
        r = await act_on(flow.routing, a["id"], action, admin_of_s1, body)
        assert r.status_code == 409, (action, r.text)
        problem = r.json()
        assert problem["code"] == "illegal_transition" and problem["allowed_actions"] == [], action
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await flow.routing.post(f"/api/v1/cases/{case['id']}/reopen", headers=auth(Role.SERVICE, None), json={})
    assert r.status_code == 409 and r.json()["allowed_actions"] == []
    assert (await detail(flow, a["id"]))["version"] == 4  # assigned 1 → accepted 2 → resolved 3 → closed 4


async def test_a_missed_resolve_deadline_escalates_when_the_rules_say_so(flow: Stack, clock: FrozenClock) -> None:
    """Last in this module: it saves a rules version (one more rule, matching only three-person cases)."""
    read = await flow.routing.get("/api/v1/rules", headers=ADMIN)
    doc = read.json()["document"]
    doc["rules"].insert(0, {"id": "test.three_people_special", "when": {"people_involved": {"min": 3, "max": 3}},
                            "then": {"level": "grid", "track": "special", "forces": ["psychology"]}})
    r = await flow.routing.put("/api/v1/rules", json=doc, headers={**ADMIN, "If-Match": read.headers["ETag"]})
    assert r.status_code == 200, r.text

    next_working_morning(clock)
    case = await new_case(flow, people_involved=3)
    a = await current(flow, case["id"])
    assert (a["unit_id"], a["track"], a["rule_id"]) == ("G01", "special", "test.three_people_special")
    a = await act(flow, a["id"], "accept", G01)
    assert a["escalate_on_resolve_overdue"] is True
    clock.set(parse(a["resolve_due_at"]) + timedelta(seconds=1))
    await tick(flow)
    up = await current(flow, case["id"], history=2)
    assert (up["unit_id"], up["cause"], up["track"]) == ("C1", "escalated", "special")
    left = await detail(flow, a["id"])
    assert left["status"] == "escalated"
    assert [h["action"] for h in left["history"]][-2:] == ["overdue", "escalate"]
    assert left["history"][-2]["detail"] == {**left["history"][-2]["detail"], "clock": "resolve", "escalated": True}
