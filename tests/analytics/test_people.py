"""Per-person figures (人员绩效), per-force figures (七调联动) and the aging list (超期积案, 分析研判) over the real
stack (intake + routing + analytics on real PostgreSQL and broker): a grid worker takes a case and resolves it; a
fight case goes to its community with the police; analytics counts both from the events alone.

Analytics runs on a FrozenClock so the aging list can be read a week later without sleeping."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from shared.events import CaseAssigneeSet, CaseResolved
from shared.events.case import AssigneeHow, FeedbackResult
from tests.analytics.conftest import Lab
from tests.analytics.scenario import org
from tests.analytics.script import Script, t
from tests.support import Infra, Stack, act, auth, case_body, eventually, own_stack

OPERATOR = auth(Role.OPERATOR, "S1", "op-people-analytics")
ADMIN = auth(Role.ADMIN, None)
G01 = auth(Role.GRID_WORKER, "G01", "U-G01-1")
C1 = auth(Role.COMMUNITY_ADMIN, "C1", "U-C1-1")
C2 = auth(Role.COMMUNITY_ADMIN, "C2", "U-C2-1")
S1 = auth(Role.STREET_ADMIN, "S1", "U-S1-1")


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(SHANGHAI) + timedelta(minutes=5))


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock) -> AsyncIterator[Stack]:
    async with own_stack(infra, tmp_path_factory, "people_analytics", names=("intake", "routing", "analytics"),
                         analytics={"clock": clock}) as s:
        yield s


async def routed(stack: Stack, **overrides: Any) -> dict[str, Any]:
    r = await stack.intake.post("/api/v1/cases", json=case_body(**overrides), headers=OPERATOR)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    async def current() -> dict[str, Any] | None:
        got = await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)
        return got.json()["current"] if got.status_code == 200 else None

    return await eventually(current, timeout=60, what=f"routing of {case_id}")  # type: ignore[no-any-return]


async def ok(r: Any, expect: int = 200) -> Any:
    assert r.status_code == expect, r.text
    return r.json()


@pytest.fixture(scope="module")
async def cases(stack: Stack) -> dict[str, dict[str, Any]]:
    """A grid case taken and resolved by U-G01-1; a fight case (red, police) open at C1."""
    worked = await routed(stack)
    assert worked["unit_id"] == "G01", worked
    for action, body in (("take", None), ("accept", None), ("resolve", {"outcome": "resolved"})):
        await ok(await act(stack.routing, worked["id"], action, G01, body))
    fight = await routed(stack, title="邻里纠纷动手", description="两户邻居因停车位争吵后发生肢体冲突，一方动手打人。",
                         risk_signals=["violence"])
    assert "police" in fight["forces"] and fight["unit_id"] == "C1", fight  # red: the community handles it

    async def counted() -> bool:
        r = await stack.analytics.get("/api/v1/people", headers=S1, params=window())
        f = await stack.analytics.get("/api/v1/forces", headers=S1, params=window())
        return (r.status_code == 200 and any(i["resolved"] for i in r.json()["items"])
                and f.status_code == 200 and bool(f.json()["items"]))

    # the org (routing's import) and the cases travel on different topics, in no order: analytics may apply the
    # assignee before it knows the grid's unit, and must still count the person in the grid's ancestors' scope
    await eventually(counted, timeout=60, what="analytics counts the worker's case and the police case")
    return {"worked": worked, "fight": fight}


def window() -> dict[str, str]:
    today = datetime.now(SHANGHAI).date()
    return {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}


async def test_a_leader_sees_the_figures_of_the_people_of_the_unit(stack: Stack,
                                                                   cases: dict[str, dict[str, Any]]) -> None:
    got = await ok(await stack.analytics.get("/api/v1/people", headers=C1, params=window()))
    assert got["unit_id"] == "C1"
    worker = next(i for i in got["items"] if i["member_id"] == "U-G01-1")
    assert worker["unit_id"] == "G01"
    assert (worker["handled"], worker["resolved"], worker["outcomes"], worker["on_time"]) == (1, 1, 1, 1)
    assert worker["on_time_rate"] == 1.0 and worker["answers"] == 0 and worker["satisfaction_rate"] is None

    # BOLA: another community's leader asking for C1's people; a worker is no leader
    other = await stack.analytics.get("/api/v1/people", headers=C2, params={**window(), "unit_id": "C1"})
    assert other.status_code == 404 and other.json()["code"] == "unit_not_found", other.text
    assert all(i["member_id"] != "U-G01-1"
               for i in (await ok(await stack.analytics.get("/api/v1/people", headers=C2, params=window())))["items"])
    worker_asks = await stack.analytics.get("/api/v1/people", headers=G01, params=window())
    assert worker_asks.status_code == 403 and worker_asks.json()["code"] == "forbidden_role", worker_asks.text


async def test_forces_count_the_police_case(stack: Stack, cases: dict[str, dict[str, Any]]) -> None:
    got = await ok(await stack.analytics.get("/api/v1/forces", headers=S1, params=window()))
    police = next(i for i in got["items"] if i["force"] == "police")
    assert police["cases"] == 1 and police["label"] == "公安" and police["outcomes"] == 0
    assert police["resolution_rate"] is None
    c2 = await ok(await stack.analytics.get("/api/v1/forces", headers=C2, params=window()))
    assert c2["items"] == []  # the fight case never passed through C2


async def test_aging_lists_the_open_red_case_under_its_unit(stack: Stack, cases: dict[str, dict[str, Any]],
                                                            clock: FrozenClock) -> None:
    fight = cases["fight"]
    now = await ok(await stack.analytics.get("/api/v1/aging", headers=S1, params={"days": 7}))
    assert all(c["case_id"] != fight["case_id"] for u in now["units"] for c in u["cases"])  # not 7 days old yet
    bad = await stack.analytics.get("/api/v1/aging", headers=S1, params={"days": 0})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.days", bad.text

    clock.set(clock.now() + timedelta(days=8))
    try:
        later = await ok(await stack.analytics.get("/api/v1/aging", headers=S1, params={"days": 7}))
        unit = next(u for u in later["units"] if u["unit_id"] == "C1")
        case = next(c for c in unit["cases"] if c["case_id"] == fight["case_id"])
        assert unit["red"] >= 1 and case["risk_level"] == "red" and case["age_days"] == 8
        assert case["code"] == fight["case_code"]
        assert later["total"] == sum(len(u["cases"]) for u in later["units"])
        assert all(c["case_id"] != cases["worked"]["case_id"] for u in later["units"] for c in u["cases"])
        other = await ok(await stack.analytics.get("/api/v1/aging", headers=C2, params={"days": 7}))
        assert other["units"] == []
        r = await stack.analytics.get("/api/v1/aging", headers=C2, params={"days": 7, "unit_id": "C1"})
        assert r.status_code == 404, r.text
    finally:
        clock.set(clock.now() - timedelta(days=8))


async def test_the_people_export_has_chinese_headers_and_the_workers_row(stack: Stack,
                                                                        cases: dict[str, dict[str, Any]]) -> None:
    r = await stack.analytics.get("/api/v1/export", headers=C1,
                                  params={**window(), "table": "people", "format": "xlsx"})
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    assert ws.title == "人员绩效"
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    assert rows[0] == ["人员编号", "所在单位", "承办案件数", "化解数", "办结数", "按时办结数", "按时办结率", "回访数",
                       "满意数", "满意率"]
    row = next(x for x in rows[1:] if x[0] == "U-G01-1")
    assert row[2:8] == [1, 1, 1, 1, "100.0%", 0] and row[1] != "G01"  # the unit by its name
    denied = await stack.analytics.get("/api/v1/export", headers=G01,
                                       params={**window(), "table": "people", "format": "xlsx"})
    assert denied.status_code == 403, denied.text


async def xlsx_rows(stack: Stack, headers: dict[str, str], **params: Any) -> tuple[str, list[list[Any]]]:
    r = await stack.analytics.get("/api/v1/export", headers=headers, params={**window(), "format": "xlsx", **params})
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    return ws.title, [list(row) for row in ws.iter_rows(values_only=True)]


async def test_the_forces_and_aging_exports(stack: Stack, cases: dict[str, dict[str, Any]],
                                            clock: FrozenClock) -> None:
    title, rows = await xlsx_rows(stack, S1, table="forces")
    assert title == "联动力量" and rows[0][:3] == ["联动力量", "案件数", "办结数"]
    assert ["公安", 1, 0, 0, None, 0, None, 0, None] in rows[1:]
    clock.set(clock.now() + timedelta(days=8))
    try:
        title, rows = await xlsx_rows(stack, S1, table="aging", aging_days=7)
        csv = await stack.analytics.get("/api/v1/export", headers=S1,
                                        params={**window(), "table": "aging", "aging_days": 7})
    finally:
        clock.set(clock.now() - timedelta(days=8))
    assert title == "超期积案" and rows[0][:4] == ["承办单位", "案件编号", "风险等级", "受理时间"]
    row = next(x for x in rows[1:] if x[1] == cases["fight"]["case_code"])
    assert row[0] != "C1" and row[2] == "红色" and row[4] == 8, row  # the unit by name, the risk in Chinese
    assert csv.status_code == 200 and cases["fight"]["case_code"] in csv.text, csv.text

async def test_a_person_counts_in_scope_when_the_org_reaches_analytics_after_the_case(lab: Lab) -> None:
    """The org and the cases travel on different topics, in no order: the 承办人 of a case applied before
    analytics knew the grid still counts for the grid's community and street once the org arrives."""
    o = org()
    day = "2025-05-06"  # a Tuesday
    s = (Script(o).received(t(day, "09:00"), grid="G1").assign(t(day, "09:01"), "G1")
         .accept(t(day, "09:30"), resolve_due=t("2025-05-08", "09:30")))
    assert s.assignment is not None and s.unit is not None
    s.routing.append(CaseAssigneeSet(case_id=s.case_id, at=t(day, "09:20"), assignment_id=s.assignment,
                                     unit_id=s.unit, assignee_id="m-late-org", how=AssigneeHow.TAKE,
                                     set_by="m-late-org"))
    s.resolve(t(day, "15:00")).feedback(t(day, "16:00"), FeedbackResult.SATISFIED)
    resolved = s.routing[-2]
    assert isinstance(resolved, CaseResolved)
    s.routing[-2] = resolved.model_copy(update={"assignee_id": "m-late-org"})  # resolved in the member's hands
    ids = await lab.emit(lab.intake, s.intake)
    await lab.published(lab.intake)
    ids += await lab.emit(lab.routing, s.routing)
    await lab.applied(ids, "the case applied before the org")
    await lab.applied(await lab.emit(lab.routing, o.events()), "org applied")
    for unit in ("C1", "S"):
        r = await lab.stack.analytics.get("/api/v1/people", headers=auth(Role.COMMUNITY_ADMIN if unit == "C1"
                                                                          else Role.STREET_ADMIN, o.id(unit)),
                                          params={"from": day, "to": day})
        assert r.status_code == 200, r.text
        got = [(i["member_id"], i["unit_id"], i["handled"], i["resolved"], i["on_time"], i["answers"],
                i["satisfaction_rate"]) for i in r.json()["items"]]
        assert got == [("m-late-org", o.id("G1"), 1, 1, 1, 1, 1.0)], unit
