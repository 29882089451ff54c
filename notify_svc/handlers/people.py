"""The people of a case: a 协办 task's member (told of the task), its 包案领导 (kept on the case's row, told of
escalations, overdue clocks and extension requests by the rules ``*.leader``) and its 专班 (the lead reminded of the
work plan's deadline)."""

from __future__ import annotations

from notify_svc.deps import NotifyDeps
from notify_svc.domain.labels import local_minute
from notify_svc.handlers.cases import case_facts, case_unit
from notify_svc.handlers.notifications import fire, unit, unit_names
from notify_svc.store.batch import CaseRow
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.dictionaries import FORCE
from shared.events import CaseLeaderSet, CohandlingTaskOpened, CohandlingTaskOverdue, TaskForcePlanDue


async def on_case_leader_set(ctx: EventContext[NotifyDeps], event: CaseLeaderSet) -> None:
    """The leader is kept on the case's row (queued on the batch: a red case's default leader comes in the batch
    of its assignment, which is not written early for it) and told."""
    session, deps = ctx.session, ctx.deps
    unit_id, path = await case_unit(session, deps, event.case_id)
    deps.batch.queue(session, CaseRow(event.case_id, None, None, None, (), frozenset(), deps.clock.now(),
                                      event.leader_id))
    await fire(session, deps, ctx.env.type, ctx.env.id, {"how": event.how.value},
               {"case_id": event.case_id, "case_code": event.case_code, "unit_id": unit_id, "unit_path": path,
                "leader_id": event.leader_id, "title": event.title, "how": event.how.value})


async def on_task_force_plan_due(ctx: EventContext[NotifyDeps], event: TaskForcePlanDue) -> None:
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = await case_facts(session, deps, event.case_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"stage": event.stage.value},
               {"case_id": event.case_id, "case_code": info.case_code or event.case_code, "unit_id": info.unit_id,
                "unit_path": info.unit_path, "lead_id": event.lead_id, "due": local_minute(event.plan_due_at)})


async def on_cohandling_task_opened(ctx: EventContext[NotifyDeps], event: CohandlingTaskOpened) -> None:
    """The task's member is told. The lead unit (the case's handling unit when the task opened) gives the case's
    path and name: no read of the case's row, so the batch's queued writes (its assignments) are not flushed
    early — a routed case's tasks arrive in the same batches as its assignment."""
    if event.member_id is None:  # nobody answers for the force: the lead unit sees the task without a member
        return
    session, deps = ctx.session, ctx.deps
    lead = await unit(session, event.lead_unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"force": event.force},
               {"case_id": event.case_id, "case_code": event.case_code,
                "unit_id": event.member_unit_id or event.lead_unit_id, "unit_path": list(lead.path) if lead else [],
                "member_id": event.member_id, "force": event.force, "force_label": FORCE.get(event.force, ""),
                "lead_unit_id": event.lead_unit_id, "lead_unit_name": lead.name if lead else "",
                "due": local_minute(event.due_at)})


async def on_cohandling_task_overdue(ctx: EventContext[NotifyDeps], event: CohandlingTaskOverdue) -> None:
    """The task's member (when it has one) is reminded; the lead unit is told (督办)."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    info = await case_facts(session, deps, event.case_id)
    names = await unit_names(session, event.lead_unit_id)
    await fire(session, deps, ctx.env.type, ctx.env.id, {"force": event.force},
               {"case_id": event.case_id, "case_code": info.case_code or event.case_code,
                "unit_id": event.lead_unit_id, "unit_name": names.get(event.lead_unit_id, ""),
                "unit_path": info.unit_path, "member_id": event.member_id, "force": event.force,
                "force_label": FORCE.get(event.force, ""), "due": local_minute(event.due_at)})
