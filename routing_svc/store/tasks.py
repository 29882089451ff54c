"""Queries of co-handling tasks (协办) and force responsibles the handlers and the work list share, and the one
statement that opens a transaction's tasks with their events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.cohandling import LIVE
from routing_svc.tables import SCHEMA
from routing_svc.tables_tasks import CohandlingTask
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


class Staff(NamedTuple):
    """A member as a task's responsible: who, in which unit, with which forces."""

    id: str
    unit_id: str
    forces: tuple[str, ...]


class Responsibles:
    """Who answers for a force in an area: the member configured on the nearest unit of the area's path (the unit
    itself, else the one above it, …) who is active; failing that, the nearest active member of the path who
    belongs to the force (``Member.forces``). Read with the rest of a follow-up (``store.follow_up``)."""

    def __init__(self, configured: Iterable[tuple[str, str, Staff]], carrying: Iterable[Staff]) -> None:
        self._configured: dict[tuple[str, str], Staff] = {(u, f): m for u, f, m in configured}
        self._carrying = sorted(carrying, key=lambda m: m.id)

    def of(self, path: Sequence[str], force: str) -> Staff | None:
        for unit_id in reversed(path):
            member = self._configured.get((unit_id, force))
            if member is not None:
                return member
        depth = {unit_id: i for i, unit_id in enumerate(path)}
        carrying = [m for m in self._carrying if m.unit_id in depth and force in m.forces]
        return max(carrying, key=lambda m: depth[m.unit_id], default=None)


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
