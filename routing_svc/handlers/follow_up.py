"""What a new assignment brings along, in the transaction that writes it: a co-handling task (协办) for each force
the case calls in, and a red case's default 包案领导.

Every assignment — a routed case (the hot path's one statement, ``store.assignments.ROUTED``), an escalation, a
return, a re-route — queues its follow-up (``store.assignments.queue_follow_up``) when it has forces or is red;
the follow-ups of a transaction run once before it commits (``shared.bus.pending``), after the assignments are
written. No second event is consumed for it: the case's tasks and leader commit with its assignment or not at all.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import OPEN, AssignmentStatus
from routing_svc.handlers.leaders import default_leader
from routing_svc.handlers.tasks import open_tasks
from routing_svc.tables import Assignment


async def follow_up(session: AsyncSession, items: list[tuple[RoutingDeps, uuid.UUID]]) -> None:
    """The queued assignments' tasks and default leader; an assignment not written (a re-delivered case that has
    one already) or handed on again within the transaction is skipped (its successor queued its own)."""
    deps = items[0][0]
    ids = list(dict.fromkeys(i for _, i in items))
    found = {a.id: a for a in (await session.execute(
        select(Assignment).where(Assignment.id.in_(ids))  # type: ignore[attr-defined]
    )).scalars()}
    for assignment_id in ids:
        a = found.get(assignment_id)
        if a is None or AssignmentStatus(a.status) not in OPEN:
            continue
        if a.forces:
            await open_tasks(session, deps, a, a.forces)
        await default_leader(session, deps, a)
