"""Recipients and units, learned from routing's org events (ids, roles and the hierarchy; no contact data)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from notify_svc.deps import NotifyDeps
from notify_svc.tables import Recipient, Unit
from shared.bus.handlers import EventContext
from shared.events import MemberUpserted, UnitUpserted


async def on_member_upserted(ctx: EventContext[NotifyDeps], event: MemberUpserted) -> None:
    values = dict(member_id=event.member_id, unit_id=event.unit_id, roles=event.roles, forces=event.forces,
                  active=event.active)
    stmt = insert(Recipient).values(**values)
    await ctx.session.execute(stmt.on_conflict_do_update(index_elements=["member_id"], set_=values))
    ctx.deps.members.invalidate()


async def on_unit_upserted(ctx: EventContext[NotifyDeps], event: UnitUpserted) -> None:
    values = dict(unit_id=event.unit_id, name=event.name, level=event.level.value, parent_id=event.parent_id,
                  path=event.path, active=event.active)
    stmt = insert(Unit).values(**values)
    await ctx.session.execute(stmt.on_conflict_do_update(index_elements=["unit_id"], set_=values))
