"""Recording a 回头看's result: 稳定 keeps the case closed, 问题复发 reopens it. Apart from the scheduling
(routing_svc.handlers.lookback), which the case's lifecycle calls, since this module calls the lifecycle."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.domain.lookback import (
    OPEN_LOOKBACK,
    RESULT_STATUS,
    LookbackResult,
)
from routing_svc.handlers.lifecycle import current_assignment, reopen
from routing_svc.handlers.lookback import facts, get_lookback
from routing_svc.schemas_lookback import LookbackResultBody
from routing_svc.tables import Lookback
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.events.case import ReopenReason
from shared.events.lookback import LookbackRecurred, LookbackStable
from shared.problems import Problem

log = structlog.get_logger(__name__)


async def record_result(session: AsyncSession, deps: RoutingDeps, lookback_id: uuid.UUID, user: Principal,
                        body: LookbackResultBody) -> Lookback:
    """稳定 keeps the case closed; 问题复发 reopens it (reason ``lookback_recurred``) to the resolving unit, its
    clocks starting again. 409 before it is due or once it has a result (or was cancelled)."""
    seen = await get_lookback(session, lookback_id, user)
    a = await current_assignment(session, seen.case_id, for_update=True)  # lock order: assignment, then lookback
    lb = await get_lookback(session, lookback_id, user, for_update=True)
    now = deps.clock.now()
    if lb.status not in [s.value for s in OPEN_LOOKBACK]:
        raise Problem(409, "lookback_done", f"this 回头看 is {lb.status} already", status_now=lb.status)
    if now < lb.due_at:
        raise Problem(409, "lookback_not_due", f"this 回头看 is due from {lb.due_at.isoformat()}",
                      due_at=lb.due_at.isoformat())
    if a is None or a.id != lb.assignment_id or a.status != AssignmentStatus.CLOSED.value:
        raise Problem(409, "case_not_closed", "the case is no longer closed: this 回头看 is moot")
    lb.status = RESULT_STATUS[body.result].value
    lb.result, lb.note, lb.recorded_by, lb.recorded_at, lb.updated_at = (body.result.value, body.note, user.sub,
                                                                         now, now)
    lb.version += 1
    if body.result == LookbackResult.STABLE:
        await add_event(session, LookbackStable(at=now, recorded_by=user.sub, **facts(lb)),  # type: ignore[arg-type]
                        source=deps.source)
        return lb
    await session.flush()  # the result is written before the reopen cancels what is still open
    await add_event(session, LookbackRecurred(at=now, recorded_by=user.sub, **facts(lb)),  # type: ignore[arg-type]
                    source=deps.source)
    new = await reopen(session, deps, a, ReopenReason.LOOKBACK_RECURRED, user.sub, body.note or "", climb=False)
    lb.reopened_assignment_id = new.id
    log.info("lookback_recurred", lookback_id=str(lb.id), unit_id=lb.unit_id)
    return lb
