"""Who handled which case, and which forces co-handled it: the per-person and per-force read models.

``fq.case.assignee_set.v1`` records the member (承办人) against the case in the unit that holds it; the
``assignee_id`` of ``fq.case.resolved.v1`` marks the case resolved in that member's hands; the ``forces`` of
``fq.case.assigned.v1`` are the case's co-handling forces. Upserts: a repeated or replayed event changes nothing.
The assigned and resolved events go to the facts' batch as before (``facts.on_case_event``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.handlers import facts
from analytics_svc.store import units
from analytics_svc.tables_people import person_cases
from shared.bus.handlers import EventContext
from shared.events import CaseAssigneeSet, CaseResolved


async def _person(session: AsyncSession, case_id: object, assignee_id: str, unit_id: str, at: datetime,
                  resolved: bool) -> None:
    found = await units.path_and_name(session, unit_id)
    path = found[0] if found else [unit_id]
    stmt = insert(person_cases).values(case_id=case_id, assignee_id=assignee_id, unit_id=unit_id, unit_path=path,
                                       since=at, resolved_by=resolved)
    update = {"resolved_by": True} if resolved else {"unit_id": unit_id, "unit_path": path}
    await session.execute(stmt.on_conflict_do_update(index_elements=["case_id", "assignee_id"], set_=update))


async def on_assignee_set(ctx: EventContext[AnalyticsDeps], event: CaseAssigneeSet) -> None:
    await _person(ctx.session, event.case_id, event.assignee_id, event.unit_id, event.at, False)


async def on_case_resolved(ctx: EventContext[AnalyticsDeps], event: CaseResolved) -> None:
    await facts.on_case_event(ctx, event)
    if event.assignee_id:
        await _person(ctx.session, event.case_id, event.assignee_id, event.unit_id, event.at, True)


