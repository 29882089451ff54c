"""调解 sessions through the ORM session."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.tables_sessions import MediationSession


async def load_session(session: AsyncSession, case_id: uuid.UUID, session_id: uuid.UUID, *,
                       for_update: bool = False) -> MediationSession | None:
    found = await session.get(MediationSession, session_id, with_for_update=for_update)
    return found if found is not None and found.case_id == case_id else None


async def sessions(session: AsyncSession, case_id: uuid.UUID) -> list[MediationSession]:
    stmt = select(MediationSession).where(MediationSession.case_id == case_id)  # type: ignore[arg-type]
    stmt = stmt.order_by(MediationSession.scheduled_at, MediationSession.created_at)  # type: ignore[arg-type]
    return list((await session.execute(stmt)).scalars())
