"""Queries of co-handling tasks (协办) and force responsibles the handlers and the work list share, and the one
statement that opens a transaction's tasks with their events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.cohandling import LIVE
from routing_svc.tables import SCHEMA, Member
from routing_svc.tables_tasks import CohandlingTask, ForceResponsible
from shared.auth import Principal
from shared.bus.rows import rows_with_events, write_rows_with_events
from shared.problems import Problem

LIVE_VALUES = [s.value for s in LIVE]


async def co_handles(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> bool:
    """Whether the caller holds a co-handling task on the case: it may read that case, and only it."""
    row = (await session.execute(
        select(CohandlingTask.id).where(CohandlingTask.case_id == case_id,  # type: ignore[arg-type]
                                        CohandlingTask.member_id == user.sub).limit(1)  # type: ignore[arg-type]
    )).first()
    return row is not None


async def case_tasks(session: AsyncSession, case_id: uuid.UUID) -> list[CohandlingTask]:
    return list((await session.execute(
        select(CohandlingTask).where(CohandlingTask.case_id == case_id)  # type: ignore[arg-type]
        .order_by(CohandlingTask.created_at, CohandlingTask.force)  # type: ignore[arg-type]
    )).scalars())


async def live_pairs(session: AsyncSession, case_ids: Iterable[uuid.UUID]) -> set[tuple[uuid.UUID, str]]:
    """The (case, force) pairs of ``case_ids`` that have a live task, in one query."""
    return {(c, f) for c, f in (await session.execute(
        select(CohandlingTask.case_id, CohandlingTask.force).where(  # type: ignore[call-overload]
            CohandlingTask.case_id.in_(list(case_ids)),  # type: ignore[attr-defined]
            CohandlingTask.status.in_(LIVE_VALUES))  # type: ignore[attr-defined]
    )).all()}


class Responsibles:
    """Who answers for a force in an area, for many (area, force) pairs with two queries in all (``load``): the
    member configured on the nearest unit of the area's path (the unit itself, else the one above it, …) who is
    active; failing that, the nearest active member of the path who belongs to the force (``Member.forces``)."""

    def __init__(self, configured: list[tuple[str, str, Member]], carrying: list[Member]) -> None:
        self._configured: dict[tuple[str, str], Member] = {(u, f): m for u, f, m in configured}
        self._carrying = sorted(carrying, key=lambda m: m.id)

    @classmethod
    async def load(cls, session: AsyncSession, units: Iterable[str], forces: Iterable[str]) -> Responsibles:
        units, forces = sorted(set(units)), sorted(set(forces))
        configured = (await session.execute(
            select(ForceResponsible.unit_id, ForceResponsible.force, Member)  # type: ignore[call-overload]
            .join(Member, Member.id == ForceResponsible.member_id)
            .where(ForceResponsible.unit_id.in_(units), ForceResponsible.force.in_(forces),  # type: ignore[attr-defined]
                   Member.active.is_(True))  # type: ignore[attr-defined]
        )).all()
        carrying = (await session.execute(
            select(Member).where(Member.unit_id.in_(units), Member.forces.overlap(forces),  # type: ignore[attr-defined]
                                 Member.active.is_(True))  # type: ignore[attr-defined]
        )).scalars().all()
        return cls([tuple(r) for r in configured], list(carrying))

    def of(self, path: Sequence[str], force: str) -> Member | None:
        for unit_id in reversed(path):
            member = self._configured.get((unit_id, force))
            if member is not None:
                return member
        depth = {unit_id: i for i, unit_id in enumerate(path)}
        carrying = [m for m in self._carrying if m.unit_id in depth and force in (m.forces or ())]
        return max(carrying, key=lambda m: depth[m.unit_id], default=None)


async def responsible(session: AsyncSession, path: Sequence[str], force: str) -> Member | None:
    """The member answering for ``force`` in the area of ``path``'s last unit (``Responsibles``)."""
    return (await Responsibles.load(session, path, [force])).of(path, force)


# one live task per case and force (migration 0005's partial unique index; literal SQL for the planner)
_LIVE_PREDICATE = "status IN ('open', 'accepted')"
_TASK_COLUMNS = ("id uuid, case_id uuid, case_code text, assignment_id uuid, force text, member_id text, "
                 "member_unit_id text, required boolean, status text, due_at timestamptz, risk_level text, "
                 "track text, created_at timestamptz, updated_at timestamptz, version bigint")
INSERT_OPENED = rows_with_events(SCHEMA, "cohandling_tasks", _TASK_COLUMNS, f"(case_id, force) WHERE {_LIVE_PREDICATE}")


async def insert_opened(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Tasks (their column values as JSON-ready values, each with its event's ``outbox_row`` columns) and their
    events in one statement; a task whose case has a live one of its force already is skipped with its event."""
    return await write_rows_with_events(session, INSERT_OPENED, rows)


async def guard_resolve(session: AsyncSession, case_id: uuid.UUID) -> None:
    """办结 waits for every required live task: 409 ``cohandling_open`` naming them (the lead may close one with a
    reason)."""
    live = (await session.execute(
        select(CohandlingTask.id, CohandlingTask.force).where(  # type: ignore[call-overload]
            CohandlingTask.case_id == case_id, CohandlingTask.required.is_(True),  # type: ignore[attr-defined]
            CohandlingTask.status.in_(LIVE_VALUES)).order_by(CohandlingTask.force)  # type: ignore[attr-defined]
    )).all()
    if live:
        raise Problem(409, "cohandling_open", "co-handling tasks are still open: wait for their reports or close "
                      "them with a reason (POST /api/v1/tasks/{id}/close)",
                      open_tasks=[{"id": str(i), "force": f} for i, f in live])
