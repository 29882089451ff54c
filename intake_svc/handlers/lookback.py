"""Routing's 回头看 on the case file's timeline (staff only: the citizen's page shows the reopen that 问题复发 brings,
through ``fq.case.reopened.v1``). No status changes here: a recurrence's reopen and new assignment follow."""

from __future__ import annotations

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import TimelineKind
from intake_svc.domain.timeline import local_time
from intake_svc.store import cases as store
from shared.bus.handlers import EventContext
from shared.events.lookback import LookbackRecurred, LookbackScheduled, LookbackStable


async def on_lookback_scheduled(ctx: EventContext[IntakeDeps], event: LookbackScheduled) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.LOOKBACK_SCHEDULED,
                       f"已安排回头看，由办结单位于{local_time(event.due_at)}前回访核实", actor=event.unit_id,
                       public=False, data={"lookback_id": str(event.lookback_id), "unit_id": event.unit_id,
                                           "rule_id": event.rule_id, "due_at": event.due_at.isoformat()})


async def on_lookback_stable(ctx: EventContext[IntakeDeps], event: LookbackStable) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.LOOKBACK_STABLE, "回头看：情况稳定，维持销号",
                       actor=event.recorded_by, public=False,
                       data={"lookback_id": str(event.lookback_id), "unit_id": event.unit_id})


async def on_lookback_recurred(ctx: EventContext[IntakeDeps], event: LookbackRecurred) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.LOOKBACK_RECURRED,
                       "回头看发现问题复发，案件重新交办结单位办理", actor=event.recorded_by, public=False,
                       data={"lookback_id": str(event.lookback_id), "unit_id": event.unit_id})
