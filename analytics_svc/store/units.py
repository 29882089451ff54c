"""The org's units as analytics knows them (from ``fq.org.unit.upserted.v1``): names and paths for scopes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.tables import units
from shared.events import UnitUpserted


async def upsert(session: AsyncSession, event: UnitUpserted) -> None:
    values = dict(unit_id=event.unit_id, name=event.name, level=event.level.value, parent_id=event.parent_id,
                  path=list(event.path), active=event.active,
                  polygon=event.polygon.model_dump(mode="json") if event.polygon is not None else None)
    await session.execute(insert(units).values(**values).on_conflict_do_update(
        index_elements=["unit_id"], set_=values))


async def path_and_name(session: AsyncSession, unit_id: str) -> tuple[list[str], str | None] | None:
    """The unit's path (root first) and name; None when analytics has not seen the unit."""
    row = (await session.execute(select(units.c.path, units.c.name).where(units.c.unit_id == unit_id))).first()
    return (list(row.path), row.name) if row is not None else None


async def names(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    rows = await session.execute(select(units.c.unit_id, units.c.name).where(units.c.unit_id.in_(ids)))
    return {r.unit_id: r.name or r.unit_id for r in rows}
