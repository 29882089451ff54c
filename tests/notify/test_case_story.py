"""A case's life ends the same in notify as in routing: a merged case's reminders and surveys are cancelled, a
returned assignment's reminders stop, and an extension request reaches the leaders who approve it. Over the real
stack (intake, routing, notify on real PostgreSQL and broker); the worker runs by ``tick()``."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from notify_svc.tables import Delivery, Reminder, Survey
from shared.auth import Role
from shared.clock import FrozenClock
from shared.events import CaseMerged
from shared.events.case import Channel
from tests.notify.conftest import publish, worker
from tests.notify.flows import G01_WORKER, OPERATOR, accept, new_case, resolve, wait_delivery
from tests.support import Stack, act, auth, eventually

C1_ADMIN = auth(Role.COMMUNITY_ADMIN, "C1", "U-C1-1")
S1_ADMIN = auth(Role.STREET_ADMIN, "S1", "U-S1-1")
TOKEN = re.compile(r"/s/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


async def reminders(s: Stack, assignment_id: str) -> list[Reminder]:
    async with s.apps["notify"].state.runtime.session() as session:
        return list((await session.execute(select(Reminder).where(
            Reminder.assignment_id == uuid.UUID(assignment_id)))).scalars())


async def statuses(s: Stack, assignment_id: str, want: int = 2) -> list[str] | None:
    rows = await reminders(s, assignment_id)
    return sorted(r.status for r in rows) if len(rows) >= want else None


async def inbox(s: Stack, headers: dict[str, str], case_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    items = (await s.notify.get("/api/v1/inbox", headers=headers, params={"limit": 200})).json()["items"]
    return [i for i in items if i["case_id"] == case_id and (kind is None or i["kind"] == kind)]


async def test_a_case_merged_after_routing_reminds_nobody(nstack: Stack, clock: FrozenClock) -> None:
    primary, _, _ = await new_case(nstack)
    case, assignment, _ = await new_case(nstack)
    await eventually(lambda: statuses(nstack, assignment["id"]), timeout=60, what="accept reminders scheduled")
    r = await nstack.intake.post(f"/api/v1/cases/{case['id']}/merge", json={"primary_case_id": primary["id"]},
                                 headers=OPERATOR)
    assert r.status_code == 200, r.text

    async def cancelled() -> bool:
        return await statuses(nstack, assignment["id"]) == ["cancelled", "cancelled"]

    await eventually(cancelled, timeout=60, what="the merged case's reminders cancelled")
    clock.set(max(r.fire_at for r in await reminders(nstack, assignment["id"])) + timedelta(minutes=1))
    await worker(nstack).tick()
    await worker(nstack).tick()
    assert await inbox(nstack, G01_WORKER, case["id"], "reminder") == []


async def test_a_merge_cancels_the_pending_survey(nstack: Stack, clock: FrozenClock) -> None:
    case, assignment, _ = await new_case(nstack)
    await accept(nstack, assignment)
    await resolve(nstack, assignment)
    sms = await wait_delivery(nstack, case["id"], channel="sms", rule_id="resolved.survey")
    match = TOKEN.search(sms.body)
    assert match is not None
    # the merge as intake publishes it (the case file decides when a case is merged; notify only follows)
    await publish(nstack.bootstrap, CaseMerged(
        case_id=uuid.UUID(case["id"]), at=clock.now(), code=case["code"], primary_case_id=uuid.uuid4(),
        similarity=0.93, channel=Channel.WALK_IN, linked_by="U-S1-1"), source="/fengqiao/intake")

    async def survey_status() -> str | None:
        async with nstack.apps["notify"].state.runtime.session() as session:
            got = (await session.execute(select(Survey.status).where(Survey.case_id == uuid.UUID(case["id"])))
                   ).scalar_one()
        return got if got == "cancelled" else None

    await eventually(survey_status, timeout=60, what="the survey cancelled")
    r = await nstack.notify.post(f"/api/v1/surveys/{match.group(1)}", json={"result": "satisfied"})
    assert r.status_code == 410 and r.json()["code"] == "survey_cancelled"
    async with nstack.apps["notify"].state.runtime.session() as session:
        pending = (await session.execute(select(Delivery.id).where(
            Delivery.case_id == uuid.UUID(case["id"]), Delivery.template_key == "survey",
            Delivery.status == "pending"))).all()
    assert pending == []


async def test_a_case_the_street_returns_to_its_channel_reminds_nobody(nstack: Stack, clock: FrozenClock) -> None:
    """退单 by the street centre sends the case back to its channel (e.g. 12345): no assignment follows whose
    fq.case.assigned.v1 would cancel the old reminders, so the return itself must stop them."""
    case, assignment, _ = await new_case(nstack, location={"address": "火星路1号"})  # the street's triage queue
    assert assignment["unit_id"] == "S1"
    await eventually(lambda: statuses(nstack, assignment["id"]), timeout=60, what="accept reminders scheduled")
    r = await act(nstack.routing, assignment["id"], "return", S1_ADMIN, {"reason": "工单地址不属于鹭鸣街道辖区"})
    assert r.status_code == 200 and r.json()["status"] == "returned", r.text

    async def cancelled() -> bool:
        return await statuses(nstack, assignment["id"]) == ["cancelled", "cancelled"]

    await eventually(cancelled, timeout=60, what="the returned assignment's reminders cancelled")
    clock.set(max(r.fire_at for r in await reminders(nstack, assignment["id"])) + timedelta(minutes=1))
    await worker(nstack).tick()
    await worker(nstack).tick()
    assert await inbox(nstack, S1_ADMIN, case["id"], "reminder") == []


async def test_an_extension_request_reaches_the_parent_units_leaders(nstack: Stack, clock: FrozenClock) -> None:
    case, assignment, _ = await new_case(nstack)
    accepted = await accept(nstack, assignment)
    r = await act(nstack.routing, assignment["id"], "extend", G01_WORKER,
                  {"reason": "需等待鉴定结论", "due_at": _later(accepted["resolve_due_at"])})
    assert r.status_code == 200, r.text

    async def told() -> list[dict[str, Any]]:
        return await inbox(nstack, C1_ADMIN, case["id"], "extension_requested")

    (item,) = await eventually(told, timeout=60, what="the community admin told of the extension request")
    assert item["title"] == f"延期申请待审批：{case['code']}"
    assert "需等待鉴定结论" in item["body"] and "请及时审批" in item["body"]
    assert "办结期限由 " in item["body"]  # the deadline that holds now, from the resolve clock's reminders
    assert await inbox(nstack, G01_WORKER, case["id"], "extension_requested") == []  # not the requester's own
    waiting = (await nstack.routing.get("/api/v1/assignments", params={"pending_approval": "true"},
                                        headers=C1_ADMIN)).json()["items"]
    assert assignment["id"] in [i["id"] for i in waiting]


def _later(iso: str) -> str:
    return (datetime.fromisoformat(iso) + timedelta(days=5)).isoformat()
