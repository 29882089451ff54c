"""The 履行 follow-up of a 人民调解协议书: its signing schedules reminders to the resolving unit before the deadline
(the reminder mechanism of 催办: rows of ``reminders`` with clock ``performance``, keyed by the agreement's id,
fired by the delivery worker at working-time fractions of signing → deadline); a recorded 履行 cancels them, and
未履行 tells the unit and its supervisors (rule ``performance.failed``)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.deps import NotifyDeps
from notify_svc.domain.labels import PERFORMANCE_CLOCK
from notify_svc.domain.reminders import ReminderStatus, trigger_id
from notify_svc.domain.rules import PERFORMANCE_REMINDER
from notify_svc.handlers.notifications import fire, unit_names
from notify_svc.handlers.reminders import cancel_reminders, work_calendar
from notify_svc.store.batch import ReminderRow
from notify_svc.tables import CaseInfo, Reminder
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.clock import SHANGHAI
from shared.events.records import AgreementSigned, PerformanceRecorded


def due_at(event: AgreementSigned) -> datetime:
    """The end of the deadline's day in Asia/Shanghai."""
    return datetime.combine(event.performance_due + timedelta(days=1), time.min, SHANGHAI)


async def on_agreement_signed(ctx: EventContext[NotifyDeps], event: AgreementSigned) -> None:
    """The follow-up's reminders, queued on the transaction's batch (a deadline already past fires at once)."""
    session, deps = ctx.session, ctx.deps
    unit_id = event.unit_id or await _case_unit(session, event.case_id)
    if unit_id is None:
        return  # a case that never reached a unit: nobody to remind
    cal = await work_calendar(deps, session)
    due = due_at(event)
    start = min(event.at, due)
    for fraction in deps.settings.performance_reminder_fractions:
        fire_at = cal.point(start, due, fraction) if start < due else due
        deps.batch.queue(session, ReminderRow(uuid.uuid4(), event.agreement_id, event.case_id, unit_id,
                                              PERFORMANCE_CLOCK, fraction, start, due, fire_at))


async def _case_unit(session: AsyncSession, case_id: uuid.UUID) -> str | None:
    info = await session.get(CaseInfo, case_id)
    return info.unit_id if info else None


async def on_performance_recorded(ctx: EventContext[NotifyDeps], event: PerformanceRecorded) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)  # reminders queued by a signing in the same batch
    await cancel_reminders(session, assignment_id=event.agreement_id)
    unit_id = event.unit_id or await _case_unit(session, event.case_id)
    info = await session.get(CaseInfo, event.case_id)
    names = await unit_names(session, unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"result": event.result.value},
               {"case_id": event.case_id, "case_code": info.case_code if info else "", "unit_id": unit_id,
                "unit_name": names.get(unit_id or "", ""), "unit_path": info.unit_path if info else []})


async def fire_performance_reminder(session: AsyncSession, deps: NotifyDeps, r: Reminder) -> None:
    info = await session.get(CaseInfo, r.case_id)
    names = await unit_names(session, r.unit_id)
    r.status = ReminderStatus.FIRED.value
    last_day = (r.due_at - timedelta(days=1)).astimezone(SHANGHAI).date()
    await fire(session, deps, PERFORMANCE_REMINDER, trigger_id(r.id, r.fire_at), {"fraction": r.fraction},
               {"case_id": r.case_id, "case_code": info.case_code if info else "", "unit_id": r.unit_id,
                "unit_name": names.get(r.unit_id, ""), "unit_path": info.unit_path if info else [],
                "due": last_day.isoformat(), "way_label": "履行", "percent": round(r.fraction * 100)})
