"""Reminders (催办) at working-time fractions of each deadline: scheduled when a clock starts, moved when the
deadline or the calendar moves, paused and resumed with the case, cancelled when the clock stops; fired by the
delivery worker.

Reminder rows that earlier events of the same transaction queued are written before a handler reads or changes
reminders (``pending.flush``)."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.deps import NotifyDeps
from notify_svc.domain.labels import CLOCK_ZH, PERFORMANCE_CLOCK, local_minute
from notify_svc.domain.reminders import OPEN, ReminderStatus, WorkPoints, trigger_id
from notify_svc.domain.rules import REMINDER
from notify_svc.handlers import surveys
from notify_svc.handlers.notifications import fire, unit_names
from notify_svc.store.batch import ReminderRow
from notify_svc.tables import CalendarState, CaseInfo, Reminder
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.events import (
    CalendarChanged,
    CaseAccepted,
    CaseAssignmentCancelled,
    CaseClosed,
    CaseExtended,
    CaseMerged,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
)
from shared.events.case import DeadlineClock

log = structlog.get_logger(__name__)


async def work_calendar(deps: NotifyDeps, session: AsyncSession) -> WorkPoints:
    if deps.calendars is not None:
        return await deps.calendars.get(session)
    assert deps.calendar is not None
    return deps.calendar


def queue_reminders(session: AsyncSession, deps: NotifyDeps, cal: WorkPoints, assignment_id: uuid.UUID,
                    case_id: uuid.UUID, unit_id: str, clock: DeadlineClock, start: datetime, due: datetime) -> None:
    """The reminders at the configured fractions of a deadline, in working time, queued on the batch."""
    for fraction in deps.settings.reminder_fractions:
        deps.batch.queue(session, ReminderRow(uuid.uuid4(), assignment_id, case_id, unit_id, clock.value, fraction,
                                              start, due, cal.point(start, due, fraction)))


async def cancel_reminders(session: AsyncSession, *, assignment_id: uuid.UUID | None = None,
                           case_id: uuid.UUID | None = None, clock: DeadlineClock | None = None,
                           except_assignment: uuid.UUID | None = None, except_clock: str | None = None) -> None:
    """Cancel the open reminders matching every criterion given (the caller flushed the batch first)."""
    stmt = update(Reminder).where(Reminder.status.in_(OPEN))  # type: ignore[attr-defined]
    if assignment_id is not None:
        stmt = stmt.where(Reminder.assignment_id == assignment_id)  # type: ignore[arg-type]
    if case_id is not None:
        stmt = stmt.where(Reminder.case_id == case_id)  # type: ignore[arg-type]
    if clock is not None:
        stmt = stmt.where(Reminder.clock == clock.value)  # type: ignore[arg-type]
    if except_assignment is not None:
        stmt = stmt.where(Reminder.assignment_id != except_assignment)  # type: ignore[arg-type]
    if except_clock is not None:
        stmt = stmt.where(Reminder.clock != except_clock)  # type: ignore[arg-type]
    await session.execute(stmt.values(status=ReminderStatus.CANCELLED.value))


async def fire_reminder(session: AsyncSession, deps: NotifyDeps, r: Reminder) -> None:
    info = await session.get(CaseInfo, r.case_id)
    names = await unit_names(session, r.unit_id)
    r.status = ReminderStatus.FIRED.value
    await fire(session, deps, REMINDER, trigger_id(r.id, r.fire_at), {"clock": r.clock, "fraction": r.fraction},
               {"case_id": r.case_id, "case_code": info.case_code if info else "", "unit_id": r.unit_id,
                "unit_name": names.get(r.unit_id, ""), "unit_path": info.unit_path if info else [],
                "clock": r.clock, "clock_label": CLOCK_ZH[r.clock], "due": local_minute(r.due_at),
                "percent": round(r.fraction * 100)})


async def on_case_accepted(ctx: EventContext[NotifyDeps], event: CaseAccepted) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)  # the accept clock's reminders, queued by this batch's assignment
    await cancel_reminders(session, assignment_id=event.assignment_id, clock=DeadlineClock.ACCEPT)
    queue_reminders(session, deps, await work_calendar(deps, session), event.assignment_id, event.case_id,
                    event.unit_id, DeadlineClock.RESOLVE, event.at, event.resolve_due_at)


async def on_case_extended(ctx: EventContext[NotifyDeps], event: CaseExtended) -> None:
    """The deadline moved: every reminder of that clock moves to its fraction of the new working time."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    cal = await work_calendar(deps, session)
    now = deps.clock.now()
    rows = (await session.execute(select(Reminder).where(
        Reminder.assignment_id == event.assignment_id, Reminder.clock == event.clock.value,
        Reminder.status.in_((*OPEN, ReminderStatus.FIRED))).with_for_update())).scalars()  # type: ignore[attr-defined]
    for r in rows:
        r.due_at = event.new_due_at
        r.fire_at = cal.point(r.start_at, r.due_at, r.fraction)
        if r.status == ReminderStatus.FIRED and r.fire_at > now:
            r.status = ReminderStatus.PENDING.value  # the later point of the longer deadline reminds again


async def on_calendar_changed(ctx: EventContext[NotifyDeps], event: CalendarChanged) -> None:
    """Routing's working-time calendar changed: keep it (every replica reloads it) and move every pending reminder
    to its point on the new calendar. Deadlines stay where routing set them; paused ones are re-pointed on resume."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    state = await session.get(CalendarState, 1, with_for_update=True)
    if state is not None and state.revision >= event.revision:
        return  # not newer than what is kept
    overrides = {d.day.isoformat(): d.is_workday for d in event.overrides}
    if state is None:
        session.add(CalendarState(id=1, revision=event.revision, overrides=overrides,
                                  loaded_years=list(event.loaded_years), updated_at=deps.clock.now()))
    else:
        state.revision, state.overrides, state.loaded_years = event.revision, overrides, list(event.loaded_years)
        state.updated_at = deps.clock.now()
    if deps.calendars is None:
        return  # a fixed calendar
    deps.calendars.invalidate()
    cal = deps.calendars.build(overrides, event.loaded_years)
    rows = (await session.execute(select(Reminder).where(
        Reminder.status == ReminderStatus.PENDING.value).with_for_update())).scalars()  # type: ignore[arg-type]
    moved = 0
    for r in rows:
        fire_at = cal.point(r.start_at, r.due_at, r.fraction)
        if fire_at != r.fire_at:
            r.fire_at, moved = fire_at, moved + 1
    log.info("calendar_applied", revision=event.revision, overrides=len(overrides), reminders_moved=moved)


async def on_case_suspended(ctx: EventContext[NotifyDeps], event: CaseSuspended) -> None:
    await pending.flush(ctx.session)
    await ctx.session.execute(update(Reminder).where(
        Reminder.assignment_id == event.assignment_id,  # type: ignore[arg-type]
        Reminder.status == ReminderStatus.PENDING.value,  # type: ignore[arg-type]
    ).values(status=ReminderStatus.PAUSED.value, paused_at=event.at))


async def on_case_resumed(ctx: EventContext[NotifyDeps], event: CaseResumed) -> None:
    """Both clocks were paused: each reminder keeps its share of the remaining working time to the new deadline."""
    session = ctx.session
    await pending.flush(session)
    cal = await work_calendar(ctx.deps, session)
    rows = (await session.execute(select(Reminder).where(
        Reminder.assignment_id == event.assignment_id,  # type: ignore[arg-type]
        Reminder.status == ReminderStatus.PAUSED.value).with_for_update())).scalars()  # type: ignore[arg-type]
    new_due = {DeadlineClock.ACCEPT.value: event.accept_due_at, DeadlineClock.RESOLVE.value: event.resolve_due_at}
    for r in rows:
        due = new_due.get(r.clock)
        if due is not None and r.paused_at is not None:
            shift = due - r.due_at  # the pause, as routing counted it
            r.start_at, r.due_at = r.start_at + shift, due
            r.fire_at = cal.point(r.start_at, r.due_at, r.fraction)
        r.status, r.paused_at = ReminderStatus.PENDING.value, None


async def on_case_closed(ctx: EventContext[NotifyDeps], event: CaseClosed) -> None:
    """销号 ends the case's 催办; an agreement's 履行 follow-up goes on (it outlives the case's handling)."""
    await pending.flush(ctx.session)
    await cancel_reminders(ctx.session, case_id=event.case_id, except_clock=PERFORMANCE_CLOCK)


async def on_case_returned(ctx: EventContext[NotifyDeps], event: CaseReturned) -> None:
    """退单: the returning unit's clock stopped; the next assignment (if any) brings its own reminders."""
    await pending.flush(ctx.session)
    await cancel_reminders(ctx.session, assignment_id=event.assignment_id)


async def on_case_merged(ctx: EventContext[NotifyDeps], event: CaseMerged) -> None:
    """并案: the case is handled as its primary; nothing reminds anyone of it or asks its applicant about it."""
    await pending.flush(ctx.session)
    await cancel_reminders(ctx.session, case_id=event.case_id)
    await surveys.cancel(ctx.session, event.case_id)


async def on_assignment_cancelled(ctx: EventContext[NotifyDeps], event: CaseAssignmentCancelled) -> None:
    """Routing ended the assignment (merged after routing): its reminders and surveys go, including those of an
    assignment whose fq.case.assigned.v1 reached notify after the case's fq.case.merged.v1."""
    await pending.flush(ctx.session)
    await cancel_reminders(ctx.session, assignment_id=event.assignment_id)
    await surveys.cancel(ctx.session, event.case_id, event.assignment_id)
