"""Queries of co-handling tasks (协办) and force responsibles the handlers and the work list share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.cohandling import LIVE
from routing_svc.tables import Member
from routing_svc.tables_tasks import CohandlingTask, ForceResponsible
from shared.auth import Principal
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


async def live_forces(session: AsyncSession, case_id: uuid.UUID) -> set[str]:
    return set((await session.execute(
        select(CohandlingTask.force).where(CohandlingTask.case_id == case_id,  # type: ignore[arg-type]
                                           CohandlingTask.status.in_(LIVE_VALUES))  # type: ignore[attr-defined]
    )).scalars())


async def responsible(session: AsyncSession, path: Sequence[str], force: str) -> Member | None:
    """The member answering for ``force`` in the area of ``path``'s last unit: the one configured on the nearest
    unit of the path (the unit itself, else the one above it, …) whose member is active; failing that, the nearest
    active member of the path who belongs to the force (``Member.forces``)."""
    depth = {unit_id: i for i, unit_id in enumerate(path)}
    rows = (await session.execute(
        select(ForceResponsible, Member).join(Member, Member.id == ForceResponsible.member_id)  # type: ignore[arg-type]
        .where(ForceResponsible.unit_id.in_(list(path)), ForceResponsible.force == force,  # type: ignore[attr-defined]
               Member.active.is_(True))  # type: ignore[attr-defined]
    )).all()
    if rows:
        return max(rows, key=lambda r: depth[r[0].unit_id])[1]  # type: ignore[no-any-return]
    members = (await session.execute(
        select(Member).where(Member.unit_id.in_(list(path)), Member.forces.contains([force]),  # type: ignore[attr-defined]
                             Member.active.is_(True)).order_by(Member.id)  # type: ignore[attr-defined]
    )).scalars().all()
    return max(members, key=lambda m: depth[m.unit_id], default=None)


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
