"""回头看 over the real stack (intake + routing + notify + analytics on real PostgreSQL and broker): a yellow case
closed after a satisfied 回访 gets its 回头看 by the default rule, it shows in the 承办人's work list, the scheduler
fires it once, 问题复发 reopens the case to the resolving unit, and 复发率 counts it. Routing runs on a FrozenClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from shared.worktime import WorkCalendar, WorkSpan
from tests.routing.test_people import morning, new_assignment, post, work
from tests.support import Infra, Stack, auth, eventually, own_stack

ADMIN = auth(Role.ADMIN, None)
G01 = auth(Role.GRID_WORKER, "G01", "U-G01-1")
G02 = auth(Role.GRID_WORKER, "G02", "U-G02-1")
C1 = auth(Role.COMMUNITY_ADMIN, "C1", "U-C1-1")
C2 = auth(Role.COMMUNITY_ADMIN, "C2", "U-C2-1")
CAL = WorkCalendar()


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with own_stack(infra, tmp_path_factory, "lookback", routing={"clock": clock}) as s:
        yield s


async def _closed_case(stack: Stack, clock: FrozenClock) -> tuple[dict[str, Any], dict[str, Any]]:
    """A yellow (独居老人) case at G01, taken by U-G01-1, resolved and closed after a satisfied 回访."""
    a = await new_assignment(stack, description="楼上卫生间漏水到独居老人家中，协商无果，请求调解。")
    assert a["unit_id"] == "G01", a
    await post(stack, f"{a['id']}/take", G01, version=1)
    await post(stack, f"{a['id']}/accept", G01, version=2)
    await post(stack, f"{a['id']}/resolve", G01, {"outcome": "resolved"}, version=3)
    case_id = a["case_id"]

    async def resolved_in_intake() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{case_id}", headers=ADMIN)).json()["status"] == "resolved"

    await eventually(resolved_in_intake, timeout=60, what="intake sees the resolution")
    r = await stack.intake.post(f"/api/v1/cases/{case_id}/feedback", headers=C1, json={"result": "satisfied"})
    assert r.status_code == 201, r.text

    async def lookbacks() -> list[dict[str, Any]] | None:
        got = (await stack.routing.get(f"/api/v1/cases/{case_id}/lookbacks", headers=ADMIN)).json()
        return got or None

    [lb] = await eventually(lookbacks, timeout=60, what="the 回头看 scheduled at close")
    return a, lb


async def _inbox(stack: Stack, headers: dict[str, str], code: str, kind: str) -> list[dict[str, Any]] | None:
    got = (await stack.clients["notify"].get("/api/v1/inbox", headers=headers)).json()["items"]
    return [i for i in got if i["case_code"] == code and i["kind"] == kind] or None


async def test_a_recurrence_found_by_the_lookback_reopens_the_case_and_counts(stack: Stack,
                                                                              clock: FrozenClock) -> None:
    morning(clock)
    closed_at = clock.now()
    _, stable_lb = await _closed_case(stack, clock)
    a, lb = await _closed_case(stack, clock)
    case_id = a["case_id"]
    assert (lb["status"], lb["rule_id"], lb["unit_id"], lb["assignee_id"]) == ("scheduled", "risk.red_yellow", "G01",
                                                                               "U-G01-1")
    assert datetime.fromisoformat(lb["due_at"]) == CAL.add(closed_at, WorkSpan.parse("10d"))

    # in the 承办人's work list (kind lookback, its due time), in the unit's, in no other worker's
    mine = [i for i in (await work(stack, G01))["items"] if i["kind"] == "lookback"]
    assert lb["id"] in [i["lookback_id"] for i in mine]
    item = next(i for i in mine if i["lookback_id"] == lb["id"])
    assert (item["clock"], item["due_at"], item["case_code"]) == ("lookback", lb["due_at"], a["case_code"])
    assert (await work(stack, G01))["counts"]["lookback"] == 2
    assert lb["id"] in [i["lookback_id"] for i in (await work(stack, C1, scope="unit"))["items"]]
    assert lb["id"] not in [i["lookback_id"] for i in (await work(stack, G02))["items"]]

    # not before it is due; BOLA; bad input names the field
    url = f"/api/v1/lookbacks/{lb['id']}/result"
    r = await stack.routing.post(url, headers=G01, json={"result": "recurred"})
    assert r.status_code == 409 and r.json()["code"] == "lookback_not_due", r.text
    for other in (C2, G02):
        assert (await stack.routing.get(f"/api/v1/lookbacks/{lb['id']}", headers=other)).status_code == 404
        assert (await stack.routing.post(url, headers=other, json={"result": "recurred"})).status_code == 404
    for body, field in (({"result": "maybe"}, "result"), ({"result": "stable", "note": ""}, "note"),
                        ({}, "result")):
        r = await stack.routing.post(url, headers=G01, json=body)
        assert r.status_code == 422 and field in str(r.json()["errors"]), (body, r.text)

    # due: the scheduler fires it once, the unit hears of it
    clock.set(datetime.fromisoformat(lb["due_at"]) + timedelta(minutes=1))
    scheduler = stack.apps["routing"].state.scheduler
    await scheduler.tick()  # (the replica's own loop, on the same clock, may have fired them a moment before)
    for one in (lb, stable_lb):
        assert (await stack.routing.get(f"/api/v1/lookbacks/{one['id']}", headers=G01)).json()["status"] == "due"
    assert await scheduler.tick() == 0  # never twice
    due = await eventually(lambda: _inbox(stack, G01, a["case_code"], "lookback_due"), timeout=60,
                           what="the lookback_due inbox item")
    assert len(due) == 1 and "回头看" in due[0]["body"]

    r = await stack.routing.post(f"/api/v1/lookbacks/{stable_lb['id']}/result", headers=G01,
                                 json={"result": "stable", "note": "回访核实，情况稳定"})
    assert r.status_code == 200 and r.json()["status"] == "stable", r.text

    # 问题复发, with an Idempotency-Key: applied once
    key = {**G01, "Idempotency-Key": f"lb-{lb['id']}"}
    r = await stack.routing.post(url, headers=key, json={"result": "recurred", "note": "漏水再次发生"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "recurred" and done["reopened_assignment_id"]
    again = await stack.routing.post(url, headers=key, json={"result": "recurred", "note": "漏水再次发生"})
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    r = await stack.routing.post(url, headers=G01, json={"result": "recurred"})
    assert r.status_code == 409 and r.json()["code"] == "lookback_done"

    routing = (await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)).json()
    cur = routing["current"]
    assert (cur["id"], cur["unit_id"], cur["status"], cur["cause"]) == (done["reopened_assignment_id"], "G01",
                                                                        "assigned", "reopened")
    assert datetime.fromisoformat(cur["accept_due_at"]) > clock.now()  # the clocks start again

    async def live_in_intake() -> dict[str, Any] | None:
        case = (await stack.intake.get(f"/api/v1/cases/{case_id}", headers=ADMIN)).json()
        return case if case["status"] == "assigned" else None

    await eventually(live_in_intake, timeout=60, what="intake reopens the closed case")
    timeline = [t["summary"] for t in (await stack.intake.get(f"/api/v1/cases/{case_id}/timeline",
                                                              headers=ADMIN)).json()]
    assert "回头看发现问题复发，案件重新交办结单位办理" in timeline and "回头看发现问题复发，案件重新办理" in timeline
    told = await eventually(lambda: _inbox(stack, G01, a["case_code"], "lookback_recurred"), timeout=60,
                            what="the lookback_recurred inbox item")
    assert "问题复发" in told[0]["body"]

    # 复发率: 2 closures at G01, 1 recurred
    day = closed_at.astimezone(SHANGHAI).date().isoformat()

    async def counted() -> dict[str, Any] | None:
        got = (await stack.analytics.get("/api/v1/kpis/recurrence", headers=ADMIN,
                                         params={"from": day, "to": day, "unit_id": "C1", "group": "unit"})).json()
        return got if got.get("recurred") == 1 else None

    rec = await eventually(counted, timeout=60, what="复发率 counts the recurrence")
    assert (rec["closed"], rec["recurrence_rate"]) == (2, 0.5)
    assert [(i["key"], i["closed"], i["recurred"]) for i in rec["items"]] == [("G01", 2, 1)]
    r = await stack.analytics.get("/api/v1/kpis/recurrence", headers=C2, params={"unit_id": "C1"})
    assert r.status_code == 404
    r = await stack.analytics.get("/api/v1/kpis/recurrence", headers=ADMIN, params={"group": "channel"})
    assert r.status_code == 422 and "group" in r.text
    x = await stack.analytics.get("/api/v1/export", headers=ADMIN, params={
        "from": day, "to": day, "unit_id": "C1", "format": "xlsx", "table": "recurrence", "dimension": "unit"})
    assert x.status_code == 200, x.text
    import io

    from openpyxl import load_workbook
    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("分组", "销号数", "问题复发数", "复发率") and rows[-1] == ("合计", 2, 1, 0.5)
