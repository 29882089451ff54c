"""Assigned → the unit's handlers' inbox, once per event and person even when the event comes twice."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from notify_svc.handlers import cases
from notify_svc.tables import CaseInfo, Delivery, InboxItem, Reminder
from shared.auth import Role
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.clock import FrozenClock
from shared.events import CaseAssigned, Envelope, encode, envelope_for
from shared.events.case import AssignCause, Level, Track
from tests.notify.conftest import notify_deps, publish, read_events
from tests.support import Stack, auth, case_body, eventually

OPERATOR = auth(Role.OPERATOR, "S1", "op-1")
G01_WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")


async def _inbox(s: Stack, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = await s.notify.get("/api/v1/inbox", headers=headers, params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _count(s: Stack, model: Any, *where: Any) -> int:
    async with s.apps["notify"].state.runtime.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


def assigned(unit: str = "G01", path: list[str] | None = None, clock: FrozenClock | None = None) -> CaseAssigned:
    now = clock.now() if clock else None
    assert now is not None
    return CaseAssigned(case_id=uuid.uuid4(), at=now, assignment_id=uuid.uuid4(), case_code="FQ-T-1", unit_id=unit,
                        unit_path=path or ["D1", "S1", "C1", unit], level=Level.GRID, track=Track.GENERAL,
                        accept_due_at=now + timedelta(hours=4), rule_id="default.grid", explanation="测试派发")


async def test_a_case_from_intake_reaches_the_grid_workers_inbox(nstack: Stack) -> None:
    case = (await nstack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()

    async def item() -> dict[str, Any] | None:
        return next((i for i in await _inbox(nstack, G01_WORKER) if i["case_id"] == case["id"]), None)

    got = await eventually(item, timeout=60, what="inbox item for the G01 worker")
    assert got["title"] == f"新案件待签收：{case['code']}"
    assert got["kind"] == "assigned" and got["read_at"] is None
    assert "签收" in got["body"] and case["code"] in got["body"]

    async def delivered() -> list[dict[str, Any]]:
        return await read_events(nstack.bootstrap, "notification-events", "fq.notification.delivered.v1",
                                 {"case_id": case["id"], "channel": "inbox"}, timeout_ms=1000)

    events = await eventually(delivered, timeout=60, what="the delivered event")
    assert [(e["recipient_id"], e["rule_id"], e["attempts"]) for e in events] == [("U-G01-1", "assigned.handlers", 1)]


async def test_the_same_event_delivered_twice_notifies_once(nstack: Stack, clock: FrozenClock) -> None:
    event = assigned(clock=clock)
    await publish(nstack.bootstrap, event, times=2)

    async def items() -> list[dict[str, Any]]:
        return [i for i in await _inbox(nstack, G01_WORKER) if i["case_id"] == str(event.case_id)]

    await eventually(items, timeout=60, what="the inbox item")
    # a later event of the same case proves both copies of the first were consumed
    later = event.model_copy(update={"assignment_id": uuid.uuid4(), "case_code": "FQ-T-2"})
    await publish(nstack.bootstrap, later)
    await eventually(lambda: _has(nstack, later.assignment_id), timeout=60, what="the later event")
    got = await items()
    assert len([i for i in got if i["title"].endswith("FQ-T-1")]) == 1


async def _has(s: Stack, assignment_id: uuid.UUID) -> bool:
    return await _count(s, InboxItem, InboxItem.case_code == "FQ-T-2") > 0


async def test_a_handler_run_twice_for_one_event_still_notifies_once(nstack: Stack, clock: FrozenClock) -> None:
    """Even past the consumer's inbox (say its processed-events row was purged): the delivery key holds."""
    event = assigned(clock=clock)
    env = envelope_for(event, "/fengqiao/routing")
    runtime = nstack.apps["notify"].state.runtime
    for _ in range(2):
        async with runtime.session() as session, pending.transaction(session):
            await cases.on_case_assigned(EventContext(session, Envelope(**env.model_dump()), notify_deps(nstack)),
                                         event)
    assert await _count(nstack, Delivery, Delivery.trigger_ce_id == env.id, Delivery.channel == "inbox") == 1
    assert await _count(nstack, InboxItem, InboxItem.case_id == event.case_id) == 1


async def test_read_unread_and_only_ones_own_inbox(nstack: Stack, clock: FrozenClock) -> None:
    event = assigned(clock=clock)
    await publish(nstack.bootstrap, event)

    async def item() -> dict[str, Any] | None:
        return next((i for i in await _inbox(nstack, G01_WORKER) if i["case_id"] == str(event.case_id)), None)

    got = await eventually(item, timeout=60, what="inbox item")
    other = auth(Role.GRID_WORKER, "G02", "U-G02-1")
    assert not [i for i in await _inbox(nstack, other) if i["case_id"] == str(event.case_id)]
    r = await nstack.notify.post(f"/api/v1/inbox/{got['id']}/read", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "inbox_item_not_found"
    before = (await nstack.notify.get("/api/v1/inbox/unread-count", headers=G01_WORKER)).json()["unread"]
    r = await nstack.notify.post(f"/api/v1/inbox/{got['id']}/read", headers=G01_WORKER)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert (await nstack.notify.get("/api/v1/inbox/unread-count", headers=G01_WORKER)).json()["unread"] == before - 1
    assert got["id"] not in {i["id"] for i in await _inbox(nstack, G01_WORKER, unread="true")}
    r = await nstack.notify.post(f"/api/v1/inbox/{got['id']}/unread", headers=G01_WORKER)
    assert r.status_code == 200 and r.json()["read_at"] is None
    assert got["id"] in {i["id"] for i in await _inbox(nstack, G01_WORKER, unread="true")}


async def test_a_burst_of_assignments_is_written_whole_and_a_reassignment_cancels_the_old_reminders(
        nstack: Stack, clock: FrozenClock) -> None:
    """Assigned events are written per consumer batch: a burst (likely one batch) with a case assigned twice in it
    still gives every case its item, one per event, and the reassignment cancels the first assignment's reminders."""
    first = assigned(clock=clock)
    again = first.model_copy(update={"assignment_id": uuid.uuid4(), "cause": AssignCause.RETURNED,
                                     "previous_assignment_id": first.assignment_id, "case_code": "FQ-T-RE"})
    others = [assigned(clock=clock) for _ in range(8)]
    producer = AIOKafkaProducer(bootstrap_servers=nstack.bootstrap, enable_idempotence=False, linger_ms=50)
    await producer.start()
    try:
        for event in [others[0], first, *others[1:4], again, *others[4:]]:
            env = envelope_for(event, "/fengqiao/routing")
            await producer.send(event.topic, encode(event), key=event.key().encode(), headers=env.headers())
        await producer.flush()
    finally:
        await producer.stop()

    async def all_there() -> bool:
        n = await _count(nstack, InboxItem, InboxItem.case_id.in_([e.case_id for e in [first, *others]]))  # type: ignore[attr-defined]
        return n >= 10

    await eventually(all_there, timeout=60, what="the burst's inbox items")
    assert await _count(nstack, InboxItem, InboxItem.case_id == first.case_id) == 2
    for e in others:
        assert await _count(nstack, InboxItem, InboxItem.case_id == e.case_id) == 1
    async with nstack.apps["notify"].state.runtime.session() as session:
        info = await session.get(CaseInfo, first.case_id)
        assert info is not None and info.assignment_id == again.assignment_id and info.case_code == "FQ-T-RE"
        reminders = {(r.assignment_id, r.status) for r in (await session.execute(
            select(Reminder).where(Reminder.case_id == first.case_id))).scalars()}
    assert reminders == {(first.assignment_id, "cancelled"), (again.assignment_id, "pending")}
