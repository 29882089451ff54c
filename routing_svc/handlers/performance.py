"""履行: an agreement recorded 未履行 (not performed) reopens its case when the case was resolved or closed, to the
resolving unit with fresh clocks (the dispute is back). A case still being handled is left as it is: notify tells
the unit and its supervisors either way."""

from __future__ import annotations

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.handlers.lifecycle import current_assignment, reopen
from shared.bus.handlers import EventContext
from shared.events.case import ReopenReason
from shared.events.records import PerformanceRecorded, PerformanceResult

_DONE = (AssignmentStatus.RESOLVED.value, AssignmentStatus.CLOSED.value)


async def on_performance_recorded(ctx: EventContext[RoutingDeps], event: PerformanceRecorded) -> None:
    if event.result != PerformanceResult.NOT_PERFORMED:
        return
    a = await current_assignment(ctx.session, event.case_id, for_update=True)
    if a is None or a.status not in _DONE:
        return
    await reopen(ctx.session, ctx.deps, a, ReopenReason.PERFORMANCE_FAILED, event.recorded_by, "调解协议未履行",
                 climb=False)
