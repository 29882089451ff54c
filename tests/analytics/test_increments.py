"""The rollups kept by increments, one transaction per event, equal the rows rebuilt from the fact rows.

Events applied one per transaction (as a consumer does with small fetches), so every later event of a case changes
rollup rows an earlier transaction wrote: a case's home moving from "not assigned" to its grid, a report merged
after it was received (its applicant pair leaves), outcomes changing after feedback and reopening, a case resolved
a second time after reopening (its old resolve time leaves the row, the new one enters).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.handlers.facts import apply_batch
from analytics_svc.settings import AnalyticsSettings
from analytics_svc.store import rollups
from bench.analytics import Org, _make, case_events
from shared import db
from shared.events import CaseAccepted, CaseAssigned, CaseMerged, CaseReceived, CaseReopened, CaseResolved
from shared.events.case import Channel, Outcome
from tests.support import Infra

ARRAYS = ("applicant_keys", "applicant_at", "resolve_hours", "accept_minutes")


async def rollup_differences(s: AsyncSession) -> dict[str, tuple[list, list]]:
    """Per table: (rows kept, not rebuilt; rows rebuilt, not kept); arrays as multisets, rows of zeros left out."""
    out = {}
    for table, columns in rollups.COLUMNS.items():
        cols = ", ".join(f"ARRAY(SELECT x FROM unnest({c}) x ORDER BY x) AS {c}" if c in ARRAYS else c
                         for c in columns)
        nonzero = " OR ".join(f"{c} <> 0" for c in columns if c not in (*ARRAYS, "day", "unit_id", "unit_path"))
        nonzero += f" OR cardinality({next(c for c in columns if c in ARRAYS)}) > 0"
        kept = f"SELECT {cols} FROM {table} WHERE {nonzero}"
        rebuilt = f"SELECT {cols} FROM ({rollups.rebuilt_rows_sql(table)}) t WHERE {nonzero}"
        out[table] = ((await s.execute(text(f"{kept} EXCEPT ALL {rebuilt}"))).all(),
                      (await s.execute(text(f"{rebuilt} EXCEPT ALL {kept}"))).all())
    return out


def workflow() -> list:
    rng = random.Random(20261123)
    org = Org()
    start = datetime(2024, 6, 3, 1, tzinfo=UTC)
    events: list = []
    reresolved = 0
    for i in range(60):
        case = case_events(rng, org, start + timedelta(hours=7 * i))
        events += case
        if any(isinstance(e, CaseReopened) for e in case):  # resolved again after the reopening, later
            last = [e for e in case if isinstance(e, CaseAssigned)][-1]
            at = case[-1].at + timedelta(hours=30)
            events.append(_make(CaseAccepted, case_id=last.case_id, at=at, assignment_id=last.assignment_id,
                                unit_id=last.unit_id, accepted_by="t", resolve_due_at=at + timedelta(days=3),
                                accepted_on_time=True))
            events.append(_make(CaseResolved, case_id=last.case_id, at=at + timedelta(hours=5),
                                assignment_id=last.assignment_id, unit_id=last.unit_id, level=last.level,
                                outcome=Outcome.RESOLVED, resolved_by="t", resolved_on_time=True,
                                mediation_agreement=False, judicial_confirmation=False))
            reresolved += 1
        if i % 10 == 0:  # a second report of the same matter, merged after it was received
            first = case[0]
            dup = uuid.uuid4()
            events.append(_make(CaseReceived, **{**first.__dict__, "case_id": dup, "code": f"FQ-T-{dup.hex[:8]}",
                                                 "at": first.at + timedelta(hours=1)}))
            events.append(_make(CaseMerged, case_id=dup, at=first.at + timedelta(hours=2), code=f"FQ-T-{dup.hex[:8]}",
                                primary_case_id=first.case_id, similarity=0.95, channel=Channel.WALK_IN,
                                linked_by="auto"))
    assert reresolved > 0
    return events


async def test_increments_one_event_per_transaction_equal_the_rollups_rebuilt_from_the_facts(infra: Infra) -> None:
    """The projection's transactions on a database of their own (the lab's is replayed from its broker)."""
    url = await asyncio.to_thread(infra.database, "fq_analytics_increments")
    engine = db.make_engine(url, "analytics", 2)
    sessions = db.make_sessionmaker(engine)
    settings = AnalyticsSettings(emit_alerts=False)
    events = workflow()
    try:
        for e in events:
            async with sessions() as session, session.begin():
                session.info["schema"] = "analytics"
                await apply_batch(session, [e], settings, "/fengqiao/analytics")
        async with sessions() as s:
            n = (await s.execute(text("SELECT count(*) FROM case_facts"))).scalar_one()
            assert n == len({e.case_id for e in events})
            assert await rollup_differences(s) == {t: ([], []) for t in rollups.COLUMNS}
    finally:
        await engine.dispose()
