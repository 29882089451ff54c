"""The 专班 plan deadline (``TaskForce.plan_due_at``), checked by the scheduler's round.

- ``PLAN_REMINDER_BEFORE`` (wall time) before the deadline, with no plan handed in: ``fq.case.task_force_plan_due.v1``
  stage ``soon``, once (``plan_reminded_at``) — notify reminds the lead;
- the deadline passed with no plan: the 专班 is marked (``plan_overdue_at``) and the event goes with stage
  ``overdue``, once — notify supervises the lead (and the street's admins).

Only 专班 of cases with an open assignment count: a resolved, merged or closed case's plan is moot. Rows are locked
``FOR UPDATE SKIP LOCKED`` and each action changes its row so it no longer matches, as in the other queues.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import OPEN
from routing_svc.tables import Assignment
from routing_svc.tables_people import TaskForce
from shared.bus.outbox import add_event
from shared.events.case_people import TaskForcePlanDue, TaskForcePlanStage

PLAN_REMINDER_BEFORE = timedelta(hours=1)
_OPEN = [s.value for s in OPEN]


async def plan_round(session_factory: Callable[[], AsyncSession], deps: RoutingDeps, batch_size: int) -> int:
    """Remind and mark every 专班 plan due by now; returns how many rows were acted on."""
    total = 0
    while True:
        async with session_factory() as session, session.begin():
            now = deps.clock.now()
            open_case = exists().where(Assignment.case_id == TaskForce.case_id,
                                       Assignment.status.in_([s.value for s in OPEN]))  # type: ignore[attr-defined]
            due = and_(TaskForce.plan_submitted_at.is_(None), TaskForce.plan_overdue_at.is_(None),  # type: ignore[union-attr]
                       or_(TaskForce.plan_due_at <= now,  # type: ignore[operator]
                           and_(TaskForce.plan_reminded_at.is_(None),  # type: ignore[union-attr]
                                TaskForce.plan_due_at <= now + PLAN_REMINDER_BEFORE)),  # type: ignore[operator]
                       open_case)
            rows = list((await session.execute(select(TaskForce).where(due).order_by(TaskForce.plan_due_at)
                                               .limit(batch_size).with_for_update(skip_locked=True))).scalars())
            for tf in rows:
                code = (await session.execute(select(Assignment.case_code).where(
                    Assignment.case_id == tf.case_id).limit(1))).scalar_one_or_none() or ""
                overdue = tf.plan_due_at <= now
                if overdue:
                    tf.plan_overdue_at = now
                tf.plan_reminded_at = tf.plan_reminded_at or now
                await add_event(session, TaskForcePlanDue(
                    case_id=tf.case_id, at=now, task_force_id=tf.id, case_code=code, lead_id=tf.lead_id,
                    plan_due_at=tf.plan_due_at,
                    stage=TaskForcePlanStage.OVERDUE if overdue else TaskForcePlanStage.SOON), source=deps.source)
        total += len(rows)
        if len(rows) < batch_size:
            return total
