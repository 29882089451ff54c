"""The case file tells one story: a merged case stays merged whatever routing says afterwards, an unmerged case is
routed with everything it had, and a double-submitted 回访 is stored and counted once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared.auth import Role
from shared.bus.outbox import add_event
from shared.db import asyncpg_dsn
from shared.events import (
    CaseAccepted,
    CaseClosed,
    CaseReopened,
    CaseResolved,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    Event,
)
from shared.events.case import CloseReason, Level, Outcome, ReopenReason
from tests.intake.test_duplicates import _events_of
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, auth, case_body, eventually, unique_phone

OPERATOR = auth(Role.OPERATOR, "S1", "op-story")
ADMIN = auth(Role.ADMIN, None)


async def _routing_fact(stack: Stack, event: Event) -> None:
    """A fact as routing publishes it: its own outbox, its relay, the broker, intake's consumer."""
    runtime = stack.apps["routing"].state.runtime
    async with runtime.session() as session, session.begin():
        await add_event(session, event, source=runtime.source)


async def _assigned(stack: Stack, case_id: str) -> dict[str, Any]:
    async def ready() -> dict[str, Any] | None:
        case = (await stack.intake.get(f"/api/v1/cases/{case_id}", headers=ADMIN)).json()
        return case if case["status"] == "assigned" and case["assignment_id"] else None

    return dict(await eventually(ready, what=f"{case_id} assigned in intake", timeout=60))


async def _timeline(stack: Stack, case_id: str) -> list[tuple[str, bool]]:
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    try:
        rows = await conn.fetch("SELECT kind, public FROM intake.timeline WHERE case_id = $1 ORDER BY at, id",
                                uuid.UUID(case_id))
    finally:
        await conn.close()
    return [(r["kind"], r["public"]) for r in rows]


async def test_a_merged_case_stays_merged_whatever_routing_says_afterwards(stack: Stack) -> None:
    place = {"grid_id": "G03", "address": f"松涛花园{unique_phone()[-5:]}号"}
    routed = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        location=place, description="邻居装修噪音扰民，协商未果。"))).json()
    primary = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        location={"grid_id": "G03"}, description="小区门口占道经营。"))).json()
    case = await _assigned(stack, routed["id"])
    r = await stack.intake.post(f"/api/v1/cases/{routed['id']}/merge", headers=OPERATOR,
                                json={"primary_case_id": primary["id"], "reason": "同一事项"})
    assert r.status_code == 200 and r.json()["status"] == "merged", r.text

    # routing's facts about the case's (old) assignment keep coming: none moves it out of merged
    cid, aid, now = uuid.UUID(routed["id"]), uuid.UUID(case["assignment_id"]), datetime.now(UTC)
    unit = case["current_unit_id"]
    for fact in (
        CaseAccepted(case_id=cid, at=now, assignment_id=aid, unit_id=unit, accepted_by="u", resolve_due_at=now,
                     accepted_on_time=True),
        CaseSuspended(case_id=cid, at=now, assignment_id=aid, unit_id=unit, reason="等待鉴定", suspended_by="u"),
        CaseResumed(case_id=cid, at=now, assignment_id=aid, unit_id=unit, resumed_by="u"),
        CaseReturned(case_id=cid, at=now, assignment_id=aid, unit_id="S1", level=Level.STREET, reason="不属于本辖区",
                     returned_by="u", return_count=1),
        CaseResolved(case_id=cid, at=now, assignment_id=aid, unit_id=unit, level=Level.GRID,
                     outcome=Outcome.RESOLVED, resolved_by="u", resolved_on_time=True),
        CaseReopened(case_id=cid, at=now, previous_assignment_id=aid, reason=ReopenReason.STAFF, reopen_count=1,
                     reopened_by="u"),
        CaseClosed(case_id=cid, at=now, assignment_id=aid, unit_id=unit, reason=CloseReason.SATISFIED,
                   closed_by="u"),
    ):
        await _routing_fact(stack, fact)

    async def all_applied() -> list[tuple[str, bool]] | None:
        entries = await _timeline(stack, routed["id"])
        return entries if entries[-1][0] == "closed" else None

    entries = await eventually(all_applied, what="routing's facts applied", timeout=60)
    after = entries[[k for k, _ in entries].index("merged") + 1:]
    assert [k for k, _ in after] == ["accepted", "suspended", "resumed", "returned", "resolved", "reopened",
                                     "closed"]
    assert not any(public for _, public in after)  # on the staff timeline only: the primary's page tells
    now_case = (await stack.intake.get(f"/api/v1/cases/{routed['id']}", headers=ADMIN)).json()
    assert now_case["status"] == "merged" and now_case["duplicate_of"] == primary["id"]


async def test_unmerge_routes_the_case_with_everything_it_had(stack: Stack) -> None:
    applicant = [{"role": "applicant", "name": "周八", "phone": unique_phone()}]
    address = f"桂园新村{unique_phone()[-4:]}号楼101室"
    first = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        channel="phone", parties=applicant, location={"grid_id": "G05", "address": address},
        description="楼上卫生间漏水到我家天花板，协商无果，请求调解。"))).json()
    second = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        channel="walk_in", parties=applicant, location={"grid_id": "G05", "address": address}, urgent=True,
        deadline_days=7,
        description="来访反映：楼上卫生间一直漏水，渗到我家天花板，跟楼上协商没有结果，希望社区帮忙调解。"))).json()
    assert second["status"] == "merged" and second["duplicate_of"] == first["id"]
    r = await stack.intake.post(f"/api/v1/cases/{second['id']}/unmerge", headers=OPERATOR,
                                json={"reason": "核实后：不是同一事项"})
    assert r.status_code == 200, r.text

    [registered] = await _events_of(stack.bootstrap, first["id"], "fq.case.received.v1")
    [unmerged] = await _events_of(stack.bootstrap, second["id"], "fq.case.received.v1")
    assert unmerged["urgent"] is True and unmerged["deadline_days"] == 7
    # the same applicant and address: the same opaque keys registration gives them
    assert unmerged["applicant_key"] == registered["applicant_key"] is not None
    assert unmerged["address_key"] == registered["address_key"] is not None
    assert unmerged["location"]["address_sealed"] and unmerged["received_unit_id"] == "S1"
    # one builder for both: the same fields, and only the case's own values differ
    assert set(unmerged) == set(registered)


async def _resolved_case(stack: Stack) -> dict[str, Any]:
    case = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        location={"grid_id": "G06"}, description="物业费争议，请求调解。"))).json()
    worker = auth(Role.GRID_WORKER, "G06", "U-G06-1")

    async def assignment() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=worker)
        return r.json()["current"] if r.status_code == 200 and r.json()["current"] else None

    a = await eventually(assignment, what="assignment", timeout=60)
    for action, body in (("accept", None), ("resolve", {"outcome": "resolved"})):
        r = await stack.routing.post(f"/api/v1/assignments/{a['id']}/{action}", json=body,
                                     headers={**worker, "If-Match": f'"{a["version"]}"'})
        assert r.status_code == 200, r.text
        a = r.json()

    async def resolved() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=ADMIN)).json()["status"] == "resolved"

    await eventually(resolved, what="resolved in intake", timeout=60)
    return dict(case)


async def _feedback_rows(stack: Stack, case_id: str) -> tuple[int, int]:
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url))
    try:
        stored = await conn.fetchval("SELECT count(*) FROM intake.feedback WHERE case_id = $1", uuid.UUID(case_id))
        events = await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE key = $1 AND ce_type = "
                                     "'fq.case.feedback_received.v1'", case_id)
    finally:
        await conn.close()
    return int(stored), int(events)


async def test_a_double_submitted_follow_up_is_stored_and_counted_once(stack: Stack) -> None:
    case = await _resolved_case(stack)
    url, key = f"/api/v1/cases/{case['id']}/feedback", {**OPERATOR, "Idempotency-Key": f"fb-{uuid.uuid4()}"}
    body = {"result": "satisfied", "comment": "电话回访，当事人表示满意"}
    # the double click: both at once, then the retry after a lost answer
    both = await asyncio.gather(*(stack.intake.post(url, headers=key, json=body) for _ in range(2)))
    assert sorted(r.status_code for r in both) in ([201, 201], [201, 409]), [r.text for r in both]
    first = next(r for r in both if r.status_code == 201)
    again = await stack.intake.post(url, headers=key, json=body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert await _feedback_rows(stack, case["id"]) == (1, 1)
    kinds = [k for k, _ in await _timeline(stack, case["id"])]
    assert kinds.count("feedback") == 1
    # the key with another body: refused, nothing recorded
    other = await stack.intake.post(url, headers=key, json={"result": "unsatisfied"})
    assert_problem(other, 422, "idempotency_key_reused")
    assert await _feedback_rows(stack, case["id"]) == (1, 1)


async def test_a_failed_request_frees_its_key(stack: Stack) -> None:
    """A refused request (409: the level is already that) stores nothing: the key is free for the next one."""
    case = (await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body())).json()
    headers = {**OPERATOR, "Idempotency-Key": f"risk-{uuid.uuid4()}"}
    url = f"/api/v1/cases/{case['id']}/risk"
    assert_problem(await stack.intake.post(url, headers=headers, json={"level": case["risk_level"], "reasons": ["x"]}),
                   409, "risk_unchanged")
    raised = await stack.intake.post(url, headers=headers, json={"level": "red", "reasons": ["threat"]})
    assert raised.status_code == 200 and raised.json()["risk_level"] == "red", raised.text
    assert raised.headers["ETag"] == f'"{raised.json()["version"]}"'
    replay = await stack.intake.post(url, headers=headers, json={"level": "red", "reasons": ["threat"]})
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.headers["ETag"] == raised.headers["ETag"]
    assert json.loads(replay.content) == raised.json()
