"""The case file's documents in analytics: a signed 人民调解协议书 becomes an ``agreement_facts`` row, its 司法确认
and 履行 update it; the forces (协同力量) routing called in are kept per case for the ledger. Written in the
consumer's transaction (the idempotent consumer applies each event once)."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.deps import AnalyticsDeps
from analytics_svc.handlers import facts
from analytics_svc.tables_records import agreement_facts, case_forces
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.events import AgreementSigned, CaseAssigned, JudicialConfirmationRecorded, PerformanceRecorded

FORCES_UPSERT = text(
    f"INSERT INTO {case_forces.fullname} AS f (case_id, forces) "
    "SELECT CAST(r->>'case_id' AS uuid), CAST(ARRAY(SELECT jsonb_array_elements_text(r->'forces')) AS varchar[]) "
    "FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r "
    "ON CONFLICT (case_id) DO UPDATE SET forces = ARRAY(SELECT DISTINCT x FROM unnest(f.forces || excluded.forces) "
    "AS x ORDER BY x)")


async def _write_forces(session: AsyncSession, items: list[tuple[uuid.UUID, list[str]]]) -> None:
    """A transaction's forces, one statement: each case once (an upsert may touch a row only once)."""
    merged: dict[str, set[str]] = {}
    for case_id, forces in items:
        merged.setdefault(str(case_id), set()).update(forces)
    rows = [{"case_id": c, "forces": sorted(f)} for c, f in sorted(merged.items())]  # one lock order
    await session.execute(FORCES_UPSERT, {"rows": json.dumps(rows, ensure_ascii=False)})


FORCES: pending.PendingKind[tuple[uuid.UUID, list[str]]] = pending.PendingKind("analytics.case_forces", _write_forces)


async def on_agreement_signed(ctx: EventContext[AnalyticsDeps], event: AgreementSigned) -> None:
    await ctx.session.execute(insert(agreement_facts).values(
        agreement_id=event.agreement_id, case_id=event.case_id, unit_id=event.unit_id, signed_at=event.at,
        performance_due=event.performance_due).on_conflict_do_nothing(index_elements=["agreement_id"]))


async def on_confirmation_recorded(ctx: EventContext[AnalyticsDeps], event: JudicialConfirmationRecorded) -> None:
    await ctx.session.execute(update(agreement_facts).where(agreement_facts.c.agreement_id == event.agreement_id)
                              .values(confirmation=event.status.value))


async def on_performance_recorded(ctx: EventContext[AnalyticsDeps], event: PerformanceRecorded) -> None:
    await ctx.session.execute(update(agreement_facts).where(agreement_facts.c.agreement_id == event.agreement_id)
                              .values(performance=event.result.value))


async def on_case_assigned(ctx: EventContext[AnalyticsDeps], event: CaseAssigned) -> None:
    """The fold's, and the forces the assignment calls in (only when it names any: the hot path is unchanged)."""
    await facts.on_case_event(ctx, event)
    if event.forces:  # written with the batch, before it commits
        pending.queue(ctx.session, FORCES, (event.case_id, list(event.forces)))
