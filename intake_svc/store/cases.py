"""The case file's data access through the ORM session: loads (locked or not), the timeline, the access log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.domain.case import TimelineKind
from intake_svc.tables import Case, PiiAccess, TimelineEntry


async def load_case(session: AsyncSession, case_id: uuid.UUID, *, for_update: bool = False) -> Case | None:
    return await session.get(Case, case_id, with_for_update=for_update)


async def lock_case(session: AsyncSession, case_id: uuid.UUID) -> Case:
    """The case of a consumed event, locked; an unknown case is retried, then dead-lettered."""
    case = (await session.execute(select(Case).where(Case.id == case_id).with_for_update())).scalar_one_or_none()
    if case is None:
        raise LookupError(f"case {case_id} not found")
    return case


def touch(case: Case, when: datetime) -> None:
    case.updated_at = when
    case.version += 1


def add_timeline(session: AsyncSession, case_id: uuid.UUID, at: datetime, kind: TimelineKind, summary: str, *,
                 actor: str | None = None, public: bool = True, data: dict[str, Any] | None = None) -> None:
    session.add(TimelineEntry(case_id=case_id, at=at, kind=kind, summary=summary, actor=actor, public=public,
                              data=data or {}))


async def timeline(session: AsyncSession, case_id: uuid.UUID, *, public_only: bool) -> list[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.case_id == case_id)
    if public_only:
        stmt = stmt.where(TimelineEntry.public.is_(True))  # type: ignore[attr-defined]
    return list((await session.execute(stmt.order_by(TimelineEntry.at, TimelineEntry.id))).scalars())


async def access_log(session: AsyncSession, case_id: uuid.UUID) -> list[PiiAccess]:
    stmt = select(PiiAccess).where(PiiAccess.case_id == case_id).order_by(PiiAccess.at, PiiAccess.id)  # type: ignore[arg-type]
    return list((await session.execute(stmt)).scalars())


_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")


async def progress_row(session: AsyncSession, code: str) -> Row[Any]:
    """One row whether or not the code exists (NULLs when it does not): the citizen page does the same work."""
    return (await session.execute(
        select(Case.id, Case.code, Case.status, Case.created_at, Case.updated_at, Case.parties)
        .select_from(_ONE_ROW.outerjoin(Case, Case.code == code)))).one()
