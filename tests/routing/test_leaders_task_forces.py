"""包案领导, 专班 and my/work paging over the real stack (intake + routing + notify, real PostgreSQL and broker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from tests.routing.test_people import OPERATOR, morning, new_assignment, post, work
from tests.support import Infra, Stack, auth, eventually, own_stack

C1 = auth(Role.COMMUNITY_ADMIN, "C1", "U-C1-1")
C2 = auth(Role.COMMUNITY_ADMIN, "C2", "U-C2-1")
S1 = auth(Role.STREET_ADMIN, "S1", "U-S1-1")
LEAD = auth(Role.MEDIATOR, "S1", "U-S1-4")
MEMBER = auth(Role.MEDIATOR, "S1", "U-S1-3")
G01 = auth(Role.GRID_WORKER, "G01", "U-G01-1")


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with own_stack(infra, tmp_path_factory, "leaders", names=("intake", "routing", "notify"),
                         routing={"clock": clock}) as s:
        yield s


async def inbox_titles(s: Stack, headers: dict[str, str], code: str) -> list[str]:
    got = await s.clients["notify"].get("/api/v1/inbox", headers=headers)
    return [i["title"] for i in got.json()["items"] if i["case_code"] == code]


async def titled(s: Stack, headers: dict[str, str], code: str, prefix: str) -> list[str] | None:
    return [t for t in await inbox_titles(s, headers, code) if t.startswith(prefix)] or None


async def test_a_case_raised_to_red_that_its_grid_keeps_gets_its_leader(stack: Stack, clock: FrozenClock) -> None:
    """A grid case accepted, then raised to red at intake: the grid keeps it (accepted) and, red now, it gets the
    default 包案领导 as a case routed red does — the nearest unit above with a responsible leader (C1)."""
    morning(clock)
    a = await new_assignment(stack)
    assert a["unit_id"] == "G01"
    case = a["case_id"]
    await post(stack, f"{a['id']}/accept", G01)
    assert (await stack.routing.get(f"/api/v1/cases/{case}/leader", headers=C1)).status_code == 404
    r = await stack.intake.post(f"/api/v1/cases/{case}/risk", json={"level": "red", "reasons": ["threats"]},
                                headers=OPERATOR)
    assert r.status_code == 200, r.text

    async def leader() -> dict[str, Any] | None:
        got = await stack.routing.get(f"/api/v1/cases/{case}/leader", headers=C1)
        return got.json() if got.status_code == 200 else None

    auto = await eventually(leader, timeout=60, what="the default 包案领导 after the risk was raised")
    assert (auto["leader_id"], auto["how"]) == ("U-C1-1", "auto")
    current = (await stack.routing.get(f"/api/v1/cases/{case}/routing", headers=C1)).json()["current"]
    assert (current["unit_id"], current["status"]) == ("G01", "accepted")


async def test_a_red_cases_leader_is_told_of_its_escalation(stack: Stack, clock: FrozenClock) -> None:
    morning(clock)
    a = await new_assignment(stack, risk_signals=["violence"])  # red: the community with the police
    assert a["unit_id"] == "C1"
    case = a["case_id"]

    async def leader() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case}/leader", headers=C1)
        return r.json() if r.status_code == 200 else None

    auto = await eventually(leader, timeout=60, what="the default 包案领导")
    assert (auto["leader_id"], auto["title"], auto["how"]) == ("U-C1-1", "社区书记", "auto")
    r = await stack.routing.put(f"/api/v1/cases/{case}/leader", headers=S1, json={"leader_id": "U-S1-1"})
    assert r.status_code == 428
    r = await stack.routing.put(f"/api/v1/cases/{case}/leader", headers={**S1, "If-Match": '"1"'},
                                json={"leader_id": "U-G02-1"})  # below the handling unit, not above it
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "leader_id"
    r = await stack.routing.put(f"/api/v1/cases/{case}/leader", headers={**S1, "If-Match": '"1"'},
                                json={"leader_id": "U-S1-1"})
    assert r.status_code == 200 and r.json()["title"] == "街道书记" and r.headers["ETag"] == '"2"'
    for other in (C2, G01):  # BOLA: another unit answers 404
        assert (await stack.routing.get(f"/api/v1/cases/{case}/leader", headers=other)).status_code == 404
        r = await stack.routing.put(f"/api/v1/cases/{case}/leader", headers={**other, "If-Match": '"2"'},
                                    json={"leader_id": "U-C2-1"})
        assert r.status_code == 404
    await eventually(lambda: titled(stack, S1, a["case_code"], "包案通知"), timeout=60, what="the leader's notice")

    up = await post(stack, f"{a['id']}/escalate", C1, {"reason": "双方矛盾激化，需街道协调"}, version=1)
    assert up["unit_id"] == "S1"
    got = await eventually(lambda: titled(stack, S1, a["case_code"], "包案案件提级"), timeout=60,
                           what="the 包案领导's escalation item")
    assert got == [f"包案案件提级：{a['case_code']}"]
    assert await titled(stack, C2, a["case_code"], "包案") is None


async def test_a_task_force_plan_past_due_is_marked_overdue_and_its_lead_reminded(stack: Stack,
                                                                                  clock: FrozenClock) -> None:
    morning(clock)
    a = await new_assignment(stack, risk_signals=["extreme"])  # 特需门诊 at the street with a 专班 (plan: 4h)
    case, code = a["case_id"], a["case_code"]
    path = f"/api/v1/cases/{case}/task-force"
    r = await stack.routing.post(path, headers=S1, json={"lead_id": "U-S1-4", "member_ids": ["nobody"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "member_ids[0]"
    body = {"lead_id": "U-S1-4", "member_ids": ["U-S1-3"]}
    r = await stack.routing.post(path, headers={**S1, "Idempotency-Key": "tf-1"}, json=body)
    assert r.status_code == 201, r.text
    again = await stack.routing.post(path, headers={**S1, "Idempotency-Key": "tf-1"}, json=body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    tf = r.json()
    assert tf["plan_overdue"] is False and tf["plan_due_at"]  # the rule's 4h plan deadline
    assert a["id"] in [i["assignment_id"] for i in (await work(stack, MEMBER))["items"]]  # 专班 members see it
    assert (await stack.routing.get(path, headers=C2)).status_code == 404

    scheduler = stack.apps["routing"].state.scheduler
    due = datetime.fromisoformat(tf["plan_due_at"])
    clock.set(due - timedelta(minutes=30))
    await scheduler.tick()
    await eventually(lambda: titled(stack, LEAD, code, "专班方案提醒"), timeout=60, what="the lead's reminder")
    clock.set(due + timedelta(minutes=1))
    await scheduler.tick()
    now = (await stack.routing.get(path, headers=S1)).json()
    assert now["plan_overdue"] is True
    await eventually(lambda: titled(stack, LEAD, code, "督办"), timeout=60, what="the lead's overdue item")

    r = await stack.routing.patch(path, headers=LEAD, json={"plan": "分三步稳控"})
    assert r.status_code == 428
    r = await stack.routing.patch(path, headers={**LEAD, "If-Match": '"9"'}, json={"plan": "分三步稳控"})
    assert r.status_code == 412
    r = await stack.routing.patch(path, headers={**LEAD, "If-Match": f'"{now["version"]}"'}, json={
        "plan": "分三步稳控",
        "milestones": [{"title": "当事人心理疏导", "due_at": (due + timedelta(days=1)).isoformat()}]})
    assert r.status_code == 200, r.text
    assert r.json()["plan_submitted_at"] and r.json()["milestones"][0]["id"] == "m1"


async def test_my_work_pages_with_a_cursor_without_duplicates_or_gaps(stack: Stack, clock: FrozenClock) -> None:
    morning(clock)
    for _ in range(5):
        a = await new_assignment(stack)
        await post(stack, f"{a['id']}/take", G01, version=1)
    everything = [i["assignment_id"] for i in (await work(stack, G01, limit=200))["items"]]
    assert len(everything) >= 5
    seen: list[str] = []
    cursor = None
    while True:
        page = await work(stack, G01, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["assignment_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    r = await stack.routing.get("/api/v1/my/work", headers=G01, params={"cursor": "garbage"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.cursor"


async def test_a_forces_responsible_member_is_told_of_the_co_handling_task(stack: Stack, clock: FrozenClock) -> None:
    """A red fight case at C1 calls in the police: the demo org names U-S1-4 for police on the street, who gets
    the 协办 inbox item with the task's deadline — and the lead unit's grid worker gets none; past the deadline the
    officer is reminded and the lead unit told, once."""
    morning(clock)
    a = await new_assignment(stack, risk_signals=["violence"])
    assert "police" in a["forces"], a
    code = a["case_code"]
    officer = auth(Role.MEDIATOR, "S1", "U-S1-4")
    titles = await eventually(lambda: titled(stack, officer, code, "协办任务"), timeout=60,
                              what="the police responsible's 协办 item")
    assert titles == [f"协办任务：{code}"]
    tasks = (await stack.routing.get(f"/api/v1/assignments/{a['id']}/tasks", headers=C1)).json()
    police = next(t for t in tasks if t["force"] == "police")
    got = await stack.clients["notify"].get("/api/v1/inbox", headers=officer)
    body = next(i["body"] for i in got.json()["items"] if i["title"] == f"协办任务：{code}")
    due = datetime.fromisoformat(police["due_at"]).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert "公安" in body and due in body and "由松涛社区主办" in body, body
    assert not await titled(stack, G01, code, "协办任务")

    # past its deadline and still open: the scheduler marks it once; the officer and the lead unit are told
    scheduler = stack.apps["routing"].state.scheduler
    clock.set(datetime.fromisoformat(police["due_at"]) + timedelta(minutes=1))
    await scheduler.tick()
    await scheduler.tick()
    overdue = await eventually(lambda: titled(stack, officer, code, "协办超期"), timeout=60,
                               what="the officer's 协办超期 item")
    assert overdue == [f"协办超期：{code}"]  # once, however many ticks
    assert await eventually(lambda: titled(stack, C1, code, "协办超期"), timeout=60, what="the lead unit's item")
