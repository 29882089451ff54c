"""Co-handling grants (协办): a member who holds a co-handling task on a case reads that case's file (and nothing
else of the lead unit). Intake learns of the grant from routing's ``fq.case.cohandling_task_opened.v1``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from intake_svc.deps import IntakeDeps
from intake_svc.store import cases as store
from intake_svc.tables import SCHEMA, Case
from shared.auth import Principal
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.events.cohandling import CohandlingTaskOpened
from shared.problems import Problem


class CohandlingGrant(SQLModel, table=True):
    """``member_id`` may read case ``case_id`` (migration 0016)."""

    __tablename__ = "cohandling_grants"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(primary_key=True)
    member_id: str = Field(primary_key=True, max_length=128)
    granted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


async def _write_grants(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """A transaction's grants in one statement (a grant held already is kept)."""
    await session.execute(insert(CohandlingGrant).values(rows).on_conflict_do_nothing())


GRANTS: pending.PendingKind[dict[str, Any]] = pending.PendingKind("intake.cohandling_grants", _write_grants)


async def on_task_opened(ctx: EventContext[IntakeDeps], event: CohandlingTaskOpened) -> None:
    if event.member_id is None:
        return  # nobody answers for the force: nobody to grant
    # written with the consumer's batch, before it commits
    pending.queue(ctx.session, GRANTS, {"case_id": event.case_id, "member_id": event.member_id,
                                        "granted_at": event.at})


async def readable_case(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> Case:
    """The case when it is in the caller's scope, or the caller co-handles it; 404 otherwise."""
    case = await store.load_case(session, case_id)
    if case is not None and (user.can_see(case.visible_units) or await _granted(session, case_id, user.sub)):
        return case
    raise Problem(404, "case_not_found", f"no case {case_id} in your scope")


async def _granted(session: AsyncSession, case_id: uuid.UUID, member_id: str) -> bool:
    row = (await session.execute(select(CohandlingGrant.case_id).where(
        CohandlingGrant.case_id == case_id, CohandlingGrant.member_id == member_id))).first()  # type: ignore[arg-type]
    return row is not None
