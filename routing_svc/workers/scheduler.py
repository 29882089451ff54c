"""The deadline scheduler: deadlines live in the assignments table; a loop acts on the ones that passed.

Three queues, each a partial index over the rows that can fire:

- accept (签收) deadline missed → ``fq.case.overdue.v1`` (clock accept) and escalation (reason ``timeout``);
- resolve (办结) deadline missed → ``fq.case.overdue.v1`` once, for supervision (督办), and escalation when the
  decision's deadlines say ``escalate_on_resolve_overdue``;
- resolved with no follow-up answer within the window → closed (销号, reason ``no_answer``);
- a scheduled 回头看 whose due time passed → ``fq.case.lookback_due.v1``, once (the row becomes ``due``);
- a co-handling task (协办) still live at its deadline → ``fq.case.cohandling_task_overdue.v1``, once.

Every batch is its own transaction that locks its rows with ``FOR UPDATE SKIP LOCKED``: any number of replicas
can run the loop, a row is acted on by exactly one of them, and the action changes the row so it no longer
matches (status, or the ``*_overdue_at`` stamp). Suspended assignments are not in any queue. Nothing is kept in
memory, so a restart loses nothing. Time comes from the injectable clock; tests call ``tick()``. The loop itself
(start, stop, back-off, status) is ``shared.loops.BackgroundLoop``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.domain.cohandling import LIVE
from routing_svc.domain.lookback import LookbackStatus
from routing_svc.handlers import lifecycle, lookback, tasks
from routing_svc.tables import Assignment, Lookback
from routing_svc.tables_tasks import CohandlingTask
from routing_svc.workers.plans import plan_round
from shared.bus import pending
from shared.loops import BackgroundLoop

log = structlog.get_logger(__name__)

Act = Callable[[AsyncSession, RoutingDeps, Any], Awaitable[None]]


def _accept_due(now: datetime) -> tuple[ColumnElement[bool], Any]:
    return and_(Assignment.status == AssignmentStatus.ASSIGNED.value,
                Assignment.accept_overdue_at.is_(None),  # type: ignore[union-attr]
                Assignment.accept_due_at <= now), Assignment.accept_due_at


def _resolve_due(now: datetime) -> tuple[ColumnElement[bool], Any]:
    return and_(Assignment.status == AssignmentStatus.ACCEPTED.value,
                Assignment.resolve_overdue_at.is_(None),  # type: ignore[union-attr]
                Assignment.resolve_due_at.is_not(None),  # type: ignore[union-attr]
                Assignment.resolve_span.is_not(None),  # type: ignore[union-attr]  # followup: no hard deadline
                Assignment.resolve_due_at <= now), Assignment.resolve_due_at  # type: ignore[operator]


def _close_due(now: datetime) -> tuple[ColumnElement[bool], Any]:
    return and_(Assignment.status == AssignmentStatus.RESOLVED.value,
                Assignment.close_due_at.is_not(None),  # type: ignore[union-attr]
                Assignment.close_due_at <= now), Assignment.close_due_at  # type: ignore[operator]


def _lookback_due(now: datetime) -> tuple[ColumnElement[bool], Any]:
    return and_(Lookback.status == LookbackStatus.SCHEDULED.value, Lookback.due_at <= now), Lookback.due_at


def _task_due(now: datetime) -> tuple[ColumnElement[bool], Any]:
    return and_(CohandlingTask.status.in_([s.value for s in LIVE]),  # type: ignore[attr-defined]
                CohandlingTask.overdue_at.is_(None),  # type: ignore[union-attr]
                CohandlingTask.due_at <= now), CohandlingTask.due_at


Due = Callable[[datetime], tuple[ColumnElement[bool], Any]]
QUEUES: tuple[tuple[str, type[Any], Due, Act], ...] = (
    ("accept_overdue", Assignment, _accept_due, lifecycle.accept_overdue),
    ("resolve_overdue", Assignment, _resolve_due, lifecycle.resolve_overdue),
    ("close_unanswered", Assignment, _close_due, lifecycle.close_unanswered),
    ("lookback_due", Lookback, _lookback_due, lookback.fire_due),
    ("cohandling_overdue", CohandlingTask, _task_due, tasks.fire_overdue),
)


class Scheduler(BackgroundLoop):
    name = "scheduler"

    def __init__(self, deps: RoutingDeps, session: Callable[[], AsyncSession], *, interval: float = 1.0,
                 batch_size: int = 100, enabled: bool = True, registry: CollectorRegistry | None = None) -> None:
        super().__init__(interval=interval, enabled=enabled)
        self.deps = deps
        self.session = session
        self.batch_size = batch_size
        self.acted = 0  # rows acted on by this replica since start (tests and /metrics-free diagnostics)
        self._counter: Counter | None = None
        if registry is not None:
            self._counter = Counter("fq_scheduler_actions", "deadline actions taken by this replica's scheduler",
                                    ["queue", "outcome"], registry=registry)
        # one round at a time in this replica: a tick() called while the loop's round holds due rows would skip
        # them (SKIP LOCKED) and return before they are acted on; it waits for that round instead
        self._round = asyncio.Lock()

    async def round(self) -> bool:
        await self.tick()  # a tick works through every queue until nothing due is left
        return False

    async def tick(self) -> int:
        """Act on every deadline passed by now (the injectable clock); returns how many rows this call acted on.
        Once it returns, every row due by now was acted on (or failed and waits for the next round), also the rows
        another round of this replica held meanwhile; other replicas' rounds may still be acting on theirs."""
        async with self._round:
            total = 0
            for name, entity, due, act in QUEUES:
                while True:
                    done, failed = await self._batch(name, entity, due, act)
                    total += done
                    if failed or done < self.batch_size:
                        break
            total += await plan_round(self.session, self.deps, self.batch_size)  # 专班 plan deadlines
            self.acted += total
            return total

    async def _batch(self, name: str, entity: type[Any], due: Due, act: Act) -> tuple[int, int]:
        """One transaction over up to ``batch_size`` locked due rows; a row that fails is rolled back to its
        savepoint, logged and tried again next round, without holding up the others."""
        done = failed = 0
        async with self.session() as session, session.begin():
            where, order = due(self.deps.clock.now())
            rows = list((await session.execute(
                select(entity).where(where).order_by(order).limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )).scalars())
            for a in rows:
                with structlog.contextvars.bound_contextvars(case_id=str(a.case_id), queue=name):
                    row_id = a.id
                    try:
                        async with session.begin_nested():
                            await act(session, self.deps, a)
                            # what the action queued (a new assignment's 协办 tasks and 包案领导) is written in
                            # the row's savepoint: a failure rolls it back with the row's other effects
                            await pending.flush(session)
                    except Exception as exc:
                        failed += 1
                        if self._counter is not None:
                            self._counter.labels(name, "failed").inc()
                        self.last_error = repr(exc)
                        log.error("scheduler_action_failed", queue=name, row_id=str(row_id), error=repr(exc))
                        continue
                    done += 1
                    if self._counter is not None:
                        self._counter.labels(name, "done").inc()
                    log.info("scheduler_acted", queue=name, row_id=str(row_id),
                             unit_id=getattr(a, "unit_id", None) or getattr(a, "member_unit_id", None))
        return done, failed
