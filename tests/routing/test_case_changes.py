"""Intake's changes to a routed case, over the real stack (intake + routing on real PostgreSQL and broker): a merge
ends the live assignment (no clocks, no escalation), a raised risk re-evaluates the routing decision, and the
approvers find the extension requests waiting for them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from services.embedded import EmbeddedBroker, free_port
from shared.clock import FrozenClock
from tests.routing.test_scenarios import (
    ADMIN,
    C1,
    G01,
    OPERATOR,
    S1,
    act,
    current,
    detail,
    new_case,
    next_working_morning,
    parse,
    routing_of,
    tick,
)
from tests.routing.test_scenarios import clock as clock  # the module's frozen clock fixture
from tests.support import Infra, Stack, eventually, start_stack


@pytest.fixture(scope="module")
async def flow(infra: Infra, tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock) -> AsyncIterator[Stack]:
    broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp("changes") / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, "fq_case_changes")
        stack = await start_stack(url, broker.bootstrap, names=("intake", "routing"), routing={"clock": clock})
        try:
            yield stack
        finally:
            await stack.close()
    finally:
        broker.stop()


async def _history_with(stack: Stack, assignment_id: str, action: str) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        found = [h for h in (await detail(stack, assignment_id))["history"] if h["action"] == action]
        return found or None

    return await eventually(check, timeout=60, what=f"a {action} entry on {assignment_id}")


async def test_a_case_merged_after_routing_ends_its_assignment_and_its_clocks(flow: Stack, clock: FrozenClock
                                                                               ) -> None:
    next_working_morning(clock)
    primary = await new_case(flow)
    dup = await new_case(flow)
    a = await current(flow, dup["id"])
    await current(flow, primary["id"])
    r = await flow.intake.post(f"/api/v1/cases/{dup['id']}/merge", json={"primary_case_id": primary["id"]},
                               headers=OPERATOR)
    assert r.status_code == 200, r.text

    (entry,) = await _history_with(flow, a["id"], "merge")
    assert entry["detail"]["primary_case_id"] == primary["id"]
    d = await detail(flow, a["id"])
    assert d["status"] == "merged" and d["allowed_actions"] == []
    await act(flow, a["id"], "accept", G01, {}, expect=409)

    clock.set(parse(a["accept_due_at"]) + timedelta(days=3))  # far past the accept deadline: nothing escalates it
    await tick(flow)
    routing = await routing_of(flow, dup["id"])
    assert routing is not None and len(routing["history"]) == 1
    assert routing["current"]["status"] == "merged"
    assert "overdue" not in [h["action"] for h in (await detail(flow, a["id"]))["history"]]
    merged = (await flow.routing.get("/api/v1/assignments", params={"status": "merged"}, headers=ADMIN)).json()
    assert a["id"] in [i["id"] for i in merged["items"]]


async def test_a_risk_raised_to_red_before_acceptance_goes_to_the_street_special_track(flow: Stack,
                                                                                        clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    assert (a["unit_id"], a["track"]) == ("G01", "general")
    r = await flow.intake.post(f"/api/v1/cases/{case['id']}/risk", json={"level": "red", "reasons": ["threats"]},
                               headers=OPERATOR)
    assert r.status_code == 200, r.text

    new = await current(flow, case["id"], history=2)
    assert (new["unit_id"], new["level"], new["track"], new["cause"]) == ("S1", "street", "special", "escalated")
    assert new["rule_id"] == "red.special" and new["previous_assignment_id"] == a["id"]
    old = await detail(flow, a["id"])
    assert old["status"] == "escalated"
    (entry,) = [h for h in old["history"] if h["action"] == "reevaluate"]
    assert entry["detail"]["choice"] == "rerouted" and entry["detail"]["risk_level"] == "red"
    # the street's own deadlines, not the grid's: special track accept within 1 working hour
    assert parse(new["accept_due_at"]) <= clock.now() + timedelta(hours=1)


async def test_a_risk_raised_after_acceptance_keeps_the_unit_and_records_the_choice(flow: Stack,
                                                                                     clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    await act(flow, a["id"], "accept", G01)
    r = await flow.intake.post(f"/api/v1/cases/{case['id']}/risk", json={"level": "red", "reasons": ["threats"]},
                               headers=OPERATOR)
    assert r.status_code == 200, r.text

    (entry,) = await _history_with(flow, a["id"], "reevaluate")
    assert entry["detail"]["choice"] == "kept"
    assert (entry["detail"]["rule_unit_id"], entry["detail"]["rule_track"]) == ("S1", "special")
    assert "accepted" in entry["detail"]["why"]
    routing = await routing_of(flow, case["id"])
    assert routing is not None and len(routing["history"]) == 1
    assert (routing["current"]["unit_id"], routing["current"]["status"]) == ("G01", "accepted")


async def test_a_reclassification_the_rules_route_alike_changes_nothing_but_is_recorded(flow: Stack,
                                                                                         clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    async def assigned_in_intake() -> Any:  # the ETag moves while intake applies routing's events: read it after
        got = await flow.intake.get(f"/api/v1/cases/{case['id']}", headers=OPERATOR)
        return got if got.json()["status"] == "assigned" else None

    read = await eventually(assigned_in_intake, timeout=60, what="the case assigned in intake")
    r = await flow.intake.put(f"/api/v1/cases/{case['id']}/category",
                              headers={**OPERATOR, "If-Match": read.headers["ETag"]},
                              json={"category": "neighbor.noise", "request_type": "dispute"})
    assert r.status_code == 200, r.text
    (entry,) = await _history_with(flow, a["id"], "reevaluate")
    assert entry["detail"]["choice"] == "unchanged" and entry["detail"]["category"] == "neighbor.noise"
    assert (await detail(flow, a["id"]))["status"] == "assigned"


async def test_pending_approvals_lists_the_extension_requests_waiting_for_the_callers_unit(
        flow: Stack, clock: FrozenClock) -> None:
    next_working_morning(clock)
    case = await new_case(flow)
    a = await current(flow, case["id"])
    a = await act(flow, a["id"], "accept", G01)
    due = parse(a["resolve_due_at"]) + timedelta(days=5)

    async def waiting(headers: dict[str, str], **params: Any) -> list[str]:
        r = await flow.routing.get("/api/v1/assignments", params={"pending_approval": "true", **params},
                                   headers=headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert a["id"] not in await waiting(C1)
    await act(flow, a["id"], "extend", G01, {"reason": "需等待鉴定结论", "due_at": due.isoformat()})
    assert a["id"] in await waiting(C1)
    assert a["id"] in await waiting(S1)
    assert a["id"] in await waiting(ADMIN)
    assert a["id"] not in await waiting(G01)  # its own request: not the grid's to decide
    assert a["id"] not in await waiting(S1, unit_id="G01")
    not_waiting = (await flow.routing.get("/api/v1/assignments", params={"pending_approval": "false"},
                                          headers=C1)).json()["items"]
    assert a["id"] not in [i["id"] for i in not_waiting]
    await act(flow, a["id"], "approve-extension", C1, {})
    assert a["id"] not in await waiting(C1)
    r = await flow.routing.get("/api/v1/assignments", params={"pending_approval": "maybe"}, headers=C1)
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
