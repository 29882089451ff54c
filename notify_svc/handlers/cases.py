"""What notify keeps of a case (its code, current assignment and units) and the case events that notify people.

Case facts that earlier events of the same transaction queued are written before a handler reads them
(``pending.flush``); an assignment queues its facts, reminders and deliveries on the batch (one statement per
consumer batch, ``store.batch``)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.deps import NotifyDeps
from notify_svc.domain.labels import CAUSE_ZH, CLOCK_ZH, REASON_ZH, TRACK_ZH, URGE_SOURCE_ZH, local_minute
from notify_svc.handlers.notifications import fire, unit, unit_names
from notify_svc.handlers.reminders import cancel_reminders, queue_reminders, work_calendar
from notify_svc.store.batch import CaseRow, merge_case
from notify_svc.tables import CaseInfo, Reminder
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.events import (
    CaseAssigned,
    CaseAssigneeSet,
    CaseEscalated,
    CaseExtensionRejected,
    CaseExtensionRequested,
    CaseOverdue,
    CaseReceived,
    CaseResolved,
    CaseUrged,
    RiskChanged,
)
from shared.events.case import AssignCause, DeadlineClock


async def case_facts(session: AsyncSession, deps: NotifyDeps, case_id: uuid.UUID) -> CaseInfo:
    """The case's row, locked and read afresh (the batch statement may have changed it since the session first
    loaded it); a new one if notify has not heard of the case yet."""
    info = (await session.execute(select(CaseInfo).where(CaseInfo.case_id == case_id).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one_or_none()
    if info is None:
        info = CaseInfo(case_id=case_id, unit_path=[], visible_units=[], updated_at=deps.clock.now())
        session.add(info)
    return info


async def case_unit(session: AsyncSession, deps: NotifyDeps, case_id: uuid.UUID) -> tuple[str | None, list[str]]:
    """The case's handling unit and its path as the transaction left them so far — the batch's queued facts over
    the stored row — without writing what is queued (no early flush) and without a lock."""
    queued = [r for r in pending.queued(session, deps.batch.kind) if type(r) is CaseRow and r.case_id == case_id]
    stored = (await session.execute(select(CaseInfo.unit_id, CaseInfo.unit_path).where(
        CaseInfo.case_id == case_id))).first() if not any(r.assignment_id for r in queued) else None  # type: ignore[arg-type]
    row: CaseRow | None = None
    if stored is not None:
        row = CaseRow(case_id, None, None, stored[0], tuple(stored[1] or ()), frozenset(), deps.clock.now())
    for r in queued:
        row = merge_case(row, r)
    return (row.unit_id, list(row.unit_path)) if row else (None, [])


async def on_case_received(ctx: EventContext[NotifyDeps], event: CaseReceived) -> None:
    """The case's code and the received grid's path, queued on the batch (no read of the case's row)."""
    session, deps = ctx.session, ctx.deps
    start = await unit(session, event.location.grid_id) or await unit(session, event.received_unit_id)
    path = list(start.path) if start else []
    deps.batch.queue(session, CaseRow(event.case_id, event.code, None, None, tuple(path), frozenset(path),
                                      deps.clock.now()))
    await fire(session, deps, ctx.env.type, ctx.env.id, {"risk_level": event.risk_level.value},
               {"case_id": event.case_id, "case_code": event.code, "unit_id": path[-1] if path else None,
                "unit_path": path, "reasons": ""})


async def on_case_assigned(ctx: EventContext[NotifyDeps], event: CaseAssigned) -> None:
    """The case's facts, the accept clock's reminders (催办) and the notifications, queued on the batch."""
    session, deps = ctx.session, ctx.deps
    cal = await work_calendar(deps, session)
    if event.cause != AssignCause.ROUTED or event.previous_assignment_id is not None:
        await pending.flush(session)  # the earlier assignments' reminders must be in the table to be cancelled
        await cancel_reminders(session, case_id=event.case_id, except_assignment=event.assignment_id)
    deps.batch.queue(session, CaseRow(event.case_id, event.case_code, event.assignment_id, event.unit_id,
                                      tuple(event.unit_path), frozenset(event.unit_path), deps.clock.now()))
    queue_reminders(session, deps, cal, event.assignment_id, event.case_id, event.unit_id, DeadlineClock.ACCEPT,
                    event.at, event.accept_due_at)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"cause": event.cause.value, "level": event.level.value,
                                                         "track": event.track.value},
               {"case_id": event.case_id, "case_code": event.case_code, "unit_id": event.unit_id,
                "unit_name": event.unit_name, "unit_path": event.unit_path,
                "accept_due": local_minute(event.accept_due_at), "explanation": event.explanation,
                "cause": event.cause.value, "cause_label": CAUSE_ZH[event.cause], "track_label": TRACK_ZH[event.track]})


async def on_case_escalated(ctx: EventContext[NotifyDeps], event: CaseEscalated) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    await cancel_reminders(session, assignment_id=event.assignment_id)
    info = await case_facts(session, deps, event.case_id)
    names = await unit_names(session, event.from_unit_id, event.to_unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"reason": event.reason.value,
                                                         "to_level": event.to_level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "from_unit_id": event.from_unit_id,
                "to_unit_id": event.to_unit_id, "from_unit_name": names.get(event.from_unit_id, ""),
                "to_unit_name": names.get(event.to_unit_id, ""), "reason_label": REASON_ZH[event.reason],
                "note": event.note, "unit_id": event.to_unit_id, "unit_path": info.unit_path,
                "leader_id": info.leader_id})


async def on_case_extension_requested(ctx: EventContext[NotifyDeps], event: CaseExtensionRequested) -> None:
    """延期申请: the leaders of the unit above the handling unit decide, so they hear of it (with the deadline that
    holds now, as the clock's reminders know it)."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = await case_facts(session, deps, event.case_id)
    names = await unit_names(session, event.unit_id)
    due = (await session.execute(select(Reminder.due_at).where(
        Reminder.assignment_id == event.assignment_id, Reminder.clock == event.clock.value).limit(1)  # type: ignore[arg-type]
    )).scalar_one_or_none()
    await fire(session, deps, ctx.env.type, ctx.env.id, {"clock": event.clock.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_name": names.get(event.unit_id, ""), "unit_path": info.unit_path,
                "clock_label": CLOCK_ZH[event.clock.value], "due": local_minute(due) if due else "",
                "requested_due": local_minute(event.requested_due_at), "reason": event.reason,
                "leader_id": info.leader_id})


async def on_case_assignee_set(ctx: EventContext[NotifyDeps], event: CaseAssigneeSet) -> None:
    """派单到人: the member dispatched the case hears of it (a member who took it knows already)."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = await case_facts(session, deps, event.case_id)
    names = await unit_names(session, event.unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"how": event.how.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_name": names.get(event.unit_id, ""), "unit_path": info.unit_path,
                "assignee_id": event.assignee_id, "redispatch": event.previous_assignee_id is not None,
                "reason": event.reason})


async def on_case_extension_rejected(ctx: EventContext[NotifyDeps], event: CaseExtensionRejected) -> None:
    """The unit that asked for more time hears that the deadline stays (its reminders were never moved)."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = await case_facts(session, deps, event.case_id)
    names = await unit_names(session, event.unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"clock": event.clock.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_name": names.get(event.unit_id, ""), "unit_path": info.unit_path,
                "clock_label": CLOCK_ZH[event.clock.value], "due": local_minute(event.due_at),
                "rejection_reason": event.rejection_reason})


async def on_case_overdue(ctx: EventContext[NotifyDeps], event: CaseOverdue) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = await case_facts(session, deps, event.case_id)
    names = await unit_names(session, event.unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"clock": event.clock.value, "escalated": event.escalated,
                                                         "level": event.level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_name": names.get(event.unit_id, ""), "unit_path": event.unit_path,
                "clock_label": CLOCK_ZH[event.clock.value], "due": local_minute(event.due_at),
                "escalated": event.escalated, "leader_id": info.leader_id})


async def on_case_resolved(ctx: EventContext[NotifyDeps], event: CaseResolved) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    await cancel_reminders(session, assignment_id=event.assignment_id)
    info = await case_facts(session, deps, event.case_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"outcome": event.outcome.value, "level": event.level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_path": info.unit_path, "assignment_id": event.assignment_id})


async def on_case_urged(ctx: EventContext[NotifyDeps], event: CaseUrged) -> None:
    """催办 from outside (the 12345 platform): the unit handling the case hears of it, once per event."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = (await session.execute(select(CaseInfo).where(CaseInfo.case_id == event.case_id))).scalar_one_or_none()
    unit_id = event.unit_id or (info.unit_id if info else None)
    names = await unit_names(session, unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"source": event.source, "urge_count": event.urge_count},
               {"case_id": event.case_id, "case_code": (info.case_code if info else None) or "",
                "unit_id": unit_id, "unit_name": names.get(unit_id or "", ""),
                "unit_path": info.unit_path if info else [], "urge_count": event.urge_count,
                "source_label": URGE_SOURCE_ZH.get(event.source, event.source)})


async def on_risk_changed(ctx: EventContext[NotifyDeps], event: RiskChanged) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = await case_facts(session, deps, event.case_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"risk_level": event.to_level.value,
                                                         "from_level": event.from_level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": info.unit_id,
                "unit_path": info.unit_path, "reasons": "、".join(event.reasons)})
