"""What a new assignment brings along, in the transaction that writes it: a co-handling task (协办) for each force
the case calls in, and a red case's default 包案领导.

Every assignment — a routed case (the hot path's one statement, ``store.assignments.ROUTED``), an escalation, a
return, a re-route — queues its follow-up (``store.assignments.queue_follow_up``) when it has forces or is red;
the follow-ups of a transaction run once before it commits (``shared.bus.pending``), after the assignments are
written. No second event is consumed for it: the case's tasks and leader commit with its assignment or not at all.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import OPEN, AssignmentStatus
from routing_svc.handlers.leaders import default_leaders
from routing_svc.handlers.tasks import open_tasks_of
from routing_svc.store.assignments import NewAssignment
from routing_svc.tables import Assignment


async def follow_up(session: AsyncSession, items: list[tuple[RoutingDeps, NewAssignment]]) -> None:
    """The queued assignments' tasks and default leaders, a few statements for the whole transaction; an
    assignment not written (a re-delivered case that has one already) or handed on again within the transaction is
    skipped (its successor queued its own)."""
    deps = items[0][0]
    queued = {a.id: a for _, a in items}
    status = dict((await session.execute(
        select(Assignment.id, Assignment.status).where(Assignment.id.in_(list(queued)))  # type: ignore[call-overload, attr-defined]
    )).all())
    live = [a for i, a in queued.items() if i in status and AssignmentStatus(status[i]) in OPEN]
    await open_tasks_of(session, deps, [(a, a.forces) for a in live if a.forces])
    await default_leaders(session, deps, live)
