"""What a new assignment brings along, in the transaction that writes it: a co-handling task (协办) for each force
the case calls in, and a red case's default 包案领导.

Every assignment — a routed case (the hot path's one statement, ``store.assignments.ROUTED``), an escalation, a
return, a re-route — queues its follow-up (``store.assignments.queue_follow_up``) when it has forces or is red;
the follow-ups of a transaction run once before it commits (``shared.bus.pending``), after the assignments are
written: one read (``store.follow_up``) and at most two statements (the tasks, the leaders, each with its events)
for the whole transaction. No second event is consumed for it: the case's tasks and leader commit with its
assignment or not at all.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import OPEN, AssignmentStatus
from routing_svc.handlers.leaders import default_leaders, is_red, leader_candidates
from routing_svc.handlers.routing import context
from routing_svc.handlers.tasks import area, known_forces, open_tasks_of
from routing_svc.store.assignments import NewAssignment
from routing_svc.store.follow_up import FollowUpState


async def follow_up(session: AsyncSession, items: list[tuple[RoutingDeps, NewAssignment]]) -> None:
    """The queued assignments' tasks and default leaders; an assignment not written (a re-delivered case that has
    one already) or handed on again within the transaction is skipped (its successor queued its own)."""
    deps = items[0][0]
    queued = {a.id: a for _, a in items}
    units = (await context(session, deps)).units
    tasked = [(a, f) for a in queued.values() if (f := known_forces(a.forces))]
    red = [a for a in queued.values() if is_red(a)]
    state = await FollowUpState.load(
        session, assignments=queued, cases=[a.case_id for a in queued.values()],
        units=[u for a, _ in tasked for u in area(units, a)], forces=[f for _, fs in tasked for f in fs],
        members=[m for a in red for m, _ in leader_candidates(units, a)])
    live = {i for i, s in state.status.items() if AssignmentStatus(s) in OPEN}
    await open_tasks_of(session, deps, [(a, f) for a, f in tasked if a.id in live], state)
    await default_leaders(session, deps, [a for a in red if a.id in live], state)
