"""An admin changes routing's working-time calendar (a day off for a typhoon): routing publishes the whole calendar
(``fq.org.calendar_changed.v1``) and notify's reminders (催办) count the same working days as routing's deadlines —
pending ones move, new ones are computed on it — and move back when the day is restored."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from notify_svc.tables import CalendarState, Reminder
from shared.clock import SHANGHAI, FrozenClock
from shared.worktime import WorkCalendar
from tests.notify.flows import ADMIN, new_case
from tests.notify.test_reminders import CAL, next_workday_at, reminders
from tests.support import Stack, act, eventually, with_etag


async def _resolve_reminders(s: Stack, assignment_id: str) -> dict[float, Reminder] | None:
    rows = await reminders(s, assignment_id)
    got = {fraction: r for (clock, fraction), r in rows.items() if clock == "resolve"}
    return got if len(got) == 2 else None


async def _stored(s: Stack) -> CalendarState | None:
    async with s.apps["notify"].state.runtime.session() as session:
        return await session.get(CalendarState, 1)


async def _set_day(s: Stack, body: dict[str, Any]) -> None:
    r = await s.routing.put("/api/v1/calendar/days", json=body,
                            headers=await with_etag(s.routing, "/api/v1/calendar/days", ADMIN))
    assert r.status_code == 200, r.text


async def _accepted_case(s: Stack, clock: FrozenClock
                         ) -> tuple[dict[str, Any], datetime, datetime, dict[float, Reminder]]:
    """A new case accepted now: (assignment, accepted at, resolve deadline, its resolve reminders once scheduled)."""
    # a street specialist case (a group dispute): a resolve window of many working days (the grid's general
    # track resolves the same day)
    _, assignment, _ = await new_case(s, people_involved=6)
    r = await act(s.routing, assignment["id"], "accept", ADMIN)
    assert r.status_code == 200, r.text
    accepted = r.json()
    start, due = clock.now(), datetime.fromisoformat(accepted["resolve_due_at"])
    rows = await eventually(lambda: _resolve_reminders(s, assignment["id"]), timeout=60,
                            what="resolve reminders scheduled")
    return assignment, start, due, rows


async def test_a_day_off_set_in_routing_moves_the_reminders_and_back(nstack: Stack, clock: FrozenClock) -> None:
    clock.set(next_workday_at(clock, time(9, 0)))
    assignment, start, due, first = await _accepted_case(nstack, clock)
    assert first[0.5].fire_at == CAL.point(start, due, 0.5)

    day: date = start.astimezone(SHANGHAI).date() + timedelta(days=1)
    while not CAL.is_workday(day):
        day += timedelta(days=1)
    assert day < due.astimezone(SHANGHAI).date(), "the day off falls inside the resolve window"
    closed = WorkCalendar({day: False})
    assert closed.point(start, due, 0.5) != CAL.point(start, due, 0.5)

    await _set_day(nstack, {"days": [{"day": day.isoformat(), "is_workday": False, "note": "台风停工"}]})
    try:
        async def moved() -> dict[float, Reminder] | None:
            rows = await _resolve_reminders(nstack, assignment["id"])
            return rows if rows and rows[0.5].fire_at == closed.point(start, due, 0.5) else None

        rows = await eventually(moved, timeout=60, what="the pending reminders moved to the new calendar")
        assert rows[0.8].fire_at == closed.point(start, due, 0.8) and rows[0.5].due_at == due  # deadline kept
        stored = await _stored(nstack)
        assert stored is not None and stored.overrides.get(day.isoformat()) is False

        # a case accepted now: routing's deadline skips the day, and notify's reminders count the same days
        _, start2, due2, second = await _accepted_case(nstack, clock)
        assert second[0.5].fire_at == closed.point(start2, due2, 0.5)
        assert second[0.8].fire_at == closed.point(start2, due2, 0.8)
    finally:
        await _set_day(nstack, {"days": [], "remove": [day.isoformat()]})

    async def back() -> dict[float, Reminder] | None:
        rows = await _resolve_reminders(nstack, assignment["id"])
        return rows if rows and rows[0.5].fire_at == CAL.point(start, due, 0.5) else None

    await eventually(back, timeout=60, what="the reminders back on the official calendar")
    stored = await _stored(nstack)
    assert stored is not None and day.isoformat() not in stored.overrides
