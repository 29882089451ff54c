"""回头看 (re-visit of a closed case): the resolving unit hears when one falls due, and when its 问题复发 reopened the
case (the new assignment's own 待签收 message follows from fq.case.assigned.v1)."""

from __future__ import annotations

from notify_svc.deps import NotifyDeps
from notify_svc.domain.labels import local_minute
from notify_svc.handlers.notifications import fire, unit_names
from notify_svc.tables import CaseInfo
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.events.lookback import LookbackDue, LookbackRecurred


async def _fire(ctx: EventContext[NotifyDeps], event: LookbackDue | LookbackRecurred) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    names = await unit_names(session, event.unit_id)
    info = await session.get(CaseInfo, event.case_id)  # the case's code, as notify keeps it
    await fire(session, deps, ctx.env.type, ctx.env.id, {},
               {"case_id": event.case_id, "case_code": (info.case_code if info else None) or "",
                "unit_id": event.unit_id, "unit_name": names.get(event.unit_id, ""), "unit_path": event.unit_path,
                "assignee_id": event.assignee_id, "due": local_minute(event.due_at)})


async def on_lookback_due(ctx: EventContext[NotifyDeps], event: LookbackDue) -> None:
    await _fire(ctx, event)


async def on_lookback_recurred(ctx: EventContext[NotifyDeps], event: LookbackRecurred) -> None:
    await _fire(ctx, event)
