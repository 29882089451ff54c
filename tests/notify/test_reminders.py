"""Reminders (催办) at 50 % and 80 % of each deadline's working time, moved by extensions and suspensions,
cancelled by acceptance and resolution. The clock is frozen and moved by hand; the worker runs by ``tick()``.

Extended, suspended and resumed are not produced by routing on this branch yet: the test writes them to
routing's real outbox (shared.bus.outbox.add_event in a routing-schema session), so they reach notify through
the real relay and broker.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from notify_svc.tables import Reminder
from shared.bus.outbox import add_event
from shared.clock import SHANGHAI, FrozenClock
from shared.events import CaseExtended, CaseResumed, CaseSuspended, Event
from shared.events.case import DeadlineClock
from shared.worktime import WorkCalendar, WorkSpan
from tests.notify.conftest import worker
from tests.notify.flows import G01_WORKER, accept, new_case, resolve
from tests.support import Stack, eventually

CAL = WorkCalendar()


def next_workday_at(clock: FrozenClock, at: time) -> datetime:
    d = clock.now().astimezone(SHANGHAI).date() + timedelta(days=1)
    while not CAL.is_workday(d):
        d += timedelta(days=1)
    return datetime.combine(d, at, tzinfo=SHANGHAI)


async def reminders(s: Stack, assignment_id: str) -> dict[tuple[str, float], Reminder]:
    async with s.apps["notify"].state.runtime.session() as session:
        rows = (await session.execute(select(Reminder).where(Reminder.assignment_id == uuid.UUID(assignment_id))
                                      )).scalars()
        return {(r.clock, r.fraction): r for r in rows}


async def reminder_items(s: Stack, case_id: str) -> list[dict[str, Any]]:
    items = (await s.notify.get("/api/v1/inbox", headers=G01_WORKER, params={"limit": 200})).json()["items"]
    return [i for i in items if i["case_id"] == case_id and i["kind"] == "reminder"]


async def routing_emits(s: Stack, event: Event) -> None:
    runtime = s.apps["routing"].state.runtime
    async with runtime.session() as session, session.begin():
        await add_event(session, event, source=runtime.source)


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_reminders_fire_at_working_time_points_and_follow_the_assignment(nstack: Stack,
                                                                                clock: FrozenClock) -> None:
    clock.set(next_workday_at(clock, time(11, 0)))
    case, assignment, _ = await new_case(nstack)
    start, accept_due = clock.now(), _dt(assignment["accept_due_at"])

    async def scheduled() -> dict[tuple[str, float], Reminder] | None:
        rows = await reminders(nstack, assignment["id"])
        return rows if len(rows) == 2 else None

    rows = await eventually(scheduled, timeout=60, what="accept reminders scheduled")
    half, late = CAL.point(start, accept_due, 0.5), CAL.point(start, accept_due, 0.8)
    assert rows[("accept", 0.5)].fire_at == half and rows[("accept", 0.8)].fire_at == late
    total = CAL.working_seconds(start, accept_due)
    assert abs(CAL.working_seconds(start, half) - total * 0.5) < 1
    assert abs(CAL.working_seconds(start, late) - total * 0.8) < 1
    # the accept clock spans the lunch break: the points are in working time, not wall-clock halves
    assert half != start + (accept_due - start) * 0.5

    clock.set(half - timedelta(seconds=1))
    await worker(nstack).tick()
    assert await reminder_items(nstack, case["id"]) == []
    clock.set(half)
    await worker(nstack).tick()
    await worker(nstack).tick()
    items = await reminder_items(nstack, case["id"])
    assert len(items) == 1
    assert items[0]["title"] == f"催办：{case['code']} 签收时限已过 50%"

    # accepting cancels the accept clock's reminders and schedules the resolve clock's
    accepted = await accept(nstack, assignment)
    accepted_at, resolve_due = clock.now(), _dt(accepted["resolve_due_at"])

    async def resolve_scheduled() -> dict[tuple[str, float], Reminder] | None:
        rows = await reminders(nstack, assignment["id"])
        return rows if len(rows) == 4 else None

    rows = await eventually(resolve_scheduled, timeout=60, what="resolve reminders scheduled")
    assert rows[("accept", 0.8)].status == "cancelled" and rows[("accept", 0.5)].status == "fired"
    assert rows[("resolve", 0.5)].fire_at == CAL.point(accepted_at, resolve_due, 0.5)
    assert rows[("resolve", 0.8)].fire_at == CAL.point(accepted_at, resolve_due, 0.8)

    # an extension moves them to their share of the longer working time
    new_due = CAL.add(resolve_due, WorkSpan(days=2))
    await routing_emits(nstack, CaseExtended(
        case_id=uuid.UUID(case["id"]), at=clock.now(), assignment_id=uuid.UUID(assignment["id"]), unit_id="G01",
        clock=DeadlineClock.RESOLVE, reason="需补充证据", approved_by="U-C1-1", previous_due_at=resolve_due,
        new_due_at=new_due))

    async def moved() -> dict[tuple[str, float], Reminder] | None:
        rows = await reminders(nstack, assignment["id"])
        return rows if rows[("resolve", 0.8)].due_at == new_due else None

    rows = await eventually(moved, timeout=60, what="reminders moved by the extension")
    assert rows[("resolve", 0.5)].fire_at == CAL.point(accepted_at, new_due, 0.5)
    assert rows[("resolve", 0.8)].fire_at == CAL.point(accepted_at, new_due, 0.8)

    # a suspension pauses them: nothing fires while suspended, even past the point
    await routing_emits(nstack, CaseSuspended(
        case_id=uuid.UUID(case["id"]), at=clock.now(), assignment_id=uuid.UUID(assignment["id"]), unit_id="G01",
        reason="当事人住院", suspended_by="U-G01-1"))

    async def paused() -> bool:
        rows = await reminders(nstack, assignment["id"])
        return rows[("resolve", 0.5)].status == "paused" and rows[("resolve", 0.8)].status == "paused"

    await eventually(paused, timeout=60, what="reminders paused")
    pause = timedelta(days=3)
    clock.advance(pause)
    await worker(nstack).tick()
    assert await reminder_items(nstack, case["id"]) == items
    # resuming: routing moved the deadline by the pause; the reminders keep their share of the working time
    resumed_due = new_due + pause
    await routing_emits(nstack, CaseResumed(
        case_id=uuid.UUID(case["id"]), at=clock.now(), assignment_id=uuid.UUID(assignment["id"]), unit_id="G01",
        resumed_by="U-G01-1", resolve_due_at=resumed_due))

    async def resumed() -> dict[tuple[str, float], Reminder] | None:
        rows = await reminders(nstack, assignment["id"])
        return rows if rows[("resolve", 0.5)].status == "pending" else None

    rows = await eventually(resumed, timeout=60, what="reminders resumed")
    assert rows[("resolve", 0.5)].due_at == resumed_due
    assert rows[("resolve", 0.5)].fire_at == CAL.point(accepted_at + pause, resumed_due, 0.5)
    clock.set(rows[("resolve", 0.5)].fire_at)
    await worker(nstack).tick()
    items = await reminder_items(nstack, case["id"])
    assert [i["title"] for i in items] == [f"催办：{case['code']} 办结时限已过 50%",
                                           f"催办：{case['code']} 签收时限已过 50%"]

    # resolving cancels what is left
    await resolve(nstack, assignment)

    async def cancelled() -> bool:
        return (await reminders(nstack, assignment["id"]))[("resolve", 0.8)].status == "cancelled"

    await eventually(cancelled, timeout=60, what="the 80 % reminder cancelled by the resolution")
    clock.set(rows[("resolve", 0.8)].fire_at + timedelta(hours=1))
    await worker(nstack).tick()
    assert len(await reminder_items(nstack, case["id"])) == 2

