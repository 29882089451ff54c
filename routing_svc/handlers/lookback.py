"""回头看: scheduled when a case is closed (the lookback rules of the rules document), due in working time (the
scheduler fires it once), and its result — 稳定, or 问题复发 which reopens the closed case to the resolving unit.

Lock order, as everywhere in routing: the case's current assignment first, then its lookback row. The caller owns
the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.lookback import (
    OPEN_LOOKBACK,
    LookbackStatus,
    plan_for,
)
from routing_svc.tables import Assignment, Lookback
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.events.case import AssignCause, RiskLevel
from shared.events.lookback import LookbackDue, LookbackScheduled
from shared.problems import Problem

log = structlog.get_logger(__name__)


def facts(lb: Lookback) -> dict[str, object]:
    return {"case_id": lb.case_id, "lookback_id": lb.id, "assignment_id": lb.assignment_id, "unit_id": lb.unit_id,
            "unit_path": list(lb.unit_path), "assignee_id": lb.assignee_id, "due_at": lb.due_at}


async def schedule(session: AsyncSession, deps: RoutingDeps, a: Assignment, now: datetime) -> Lookback | None:
    """On closing ``a`` (销号): the first lookback rule matching the case schedules a 回头看 for the resolving unit."""
    rules = await deps.rules.get(session)
    reopened = a.cause == AssignCause.REOPENED.value or (await session.execute(
        select(Assignment.id).where(Assignment.case_id == a.case_id,
                                    Assignment.cause == AssignCause.REOPENED.value).limit(1))).first() is not None
    plan = plan_for(rules.doc, a.facts or {}, reopened)
    if plan is None:
        return None
    calendar = await deps.calendar.get(session)
    lb = Lookback(case_id=a.case_id, case_code=a.case_code, assignment_id=a.id, unit_id=a.unit_id,
                  unit_path=list(a.unit_path), assignee_id=a.assignee_id, track=a.track,
                  risk_level=(a.facts or {}).get("risk_level") or RiskLevel.BLUE.value, rule_id=plan.rule_id,
                  status=LookbackStatus.SCHEDULED.value, due_at=calendar.add(now, plan.after), created_at=now,
                  updated_at=now)
    session.add(lb)
    await session.flush()
    await add_event(session, LookbackScheduled(at=now, rule_id=plan.rule_id, **facts(lb)),  # type: ignore[arg-type]
                    source=deps.source)
    return lb


async def cancel_open(session: AsyncSession, case_id: uuid.UUID, now: datetime) -> None:
    """The case was reopened another way (a late 12345 不满意/重办): its open 回头看 is moot."""
    await session.execute(update(Lookback).where(
        Lookback.case_id == case_id, Lookback.status.in_([s.value for s in OPEN_LOOKBACK])  # type: ignore[attr-defined]
    ).values(status=LookbackStatus.CANCELLED.value, updated_at=now, version=Lookback.version + 1))


async def fire_due(session: AsyncSession, deps: RoutingDeps, lb: Lookback) -> None:
    """The scheduler's effect (the row locked): the 回头看 is due — once: the row leaves the queue."""
    now = deps.clock.now()
    lb.status, lb.due_fired_at, lb.updated_at = LookbackStatus.DUE.value, now, now
    lb.version += 1
    await add_event(session, LookbackDue(at=now, **facts(lb)), source=deps.source)  # type: ignore[arg-type]


async def get_lookback(session: AsyncSession, lookback_id: uuid.UUID, user: Principal, *,
                       for_update: bool = False) -> Lookback:
    stmt = select(Lookback).where(Lookback.id == lookback_id)
    if for_update:
        stmt = stmt.with_for_update()
    lb = (await session.execute(stmt)).scalar_one_or_none()
    if lb is None or not user.can_see(lb.unit_path):
        raise Problem(404, "lookback_not_found", f"no 回头看 {lookback_id} in your scope")
    structlog.contextvars.bind_contextvars(case_id=str(lb.case_id))
    return lb
