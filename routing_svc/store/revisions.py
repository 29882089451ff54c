"""The revision counters (``org``, ``calendar``) every replica polls to know its caches are stale, and the lock
that serialises rule saves across replicas."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.tables import SCHEMA


class Revision(StrEnum):
    ORG = "org"
    CALENDAR = "calendar"


BUMP_REVISION = text(f"UPDATE {SCHEMA}.revisions SET revision = revision + 1 WHERE name = :n")
READ_REVISION = text(f"SELECT revision FROM {SCHEMA}.revisions WHERE name = :n")
LOCK_REVISION = text(f"SELECT revision FROM {SCHEMA}.revisions WHERE name = :n FOR UPDATE")
LOCK_RULE_VERSIONS = text("SELECT pg_advisory_xact_lock(hashtext(:k))")


async def bump_revision(session: AsyncSession, name: Revision) -> None:
    await session.execute(BUMP_REVISION, {"n": name.value})


async def revision(session: AsyncSession, name: Revision) -> int | None:
    value = (await session.execute(READ_REVISION, {"n": name.value})).scalar()
    return None if value is None else int(value)


async def calendar_revision(session: AsyncSession) -> int:
    """0 until an admin first changes the calendar."""
    return await revision(session, Revision.CALENDAR) or 0


async def lock_calendar(session: AsyncSession) -> int:
    """The calendar revision (its ETag), locked until the transaction ends: one calendar change at a time."""
    return int((await session.execute(LOCK_REVISION, {"n": Revision.CALENDAR.value})).scalar() or 0)


async def lock_rule_versions(session: AsyncSession) -> None:
    """Until the transaction ends: one rule save at a time, across replicas."""
    await session.execute(LOCK_RULE_VERSIONS, {"k": f"{SCHEMA}.rule_versions"})
