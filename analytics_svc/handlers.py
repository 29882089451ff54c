"""Projection I/O: the consumer's handlers buffer case events; the batch is folded and written once per transaction.

The idempotent consumer applies a partition's messages in one transaction (inbox rows + handler effects). Our
case handlers only append the event to the session's batch; just before that transaction commits, the batch's fact
rows are loaded in one query per table, folded in memory (``domain.apply``, in arrival order, so per case in event
order) and written back with one multi-row upsert per table. One round trip per table per batch instead of one per
event is what lets the projection catch up fast after a replay.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from analytics_svc import domain, increments
from analytics_svc.settings import AnalyticsSettings
from analytics_svc.tables import (
    ASSIGNMENT_COLUMNS,
    CASE_COLUMNS,
    assignment_facts,
    case_facts,
    hotspot_alerts,
    units,
)
from shared.bus.tables import notify_channel
from shared.clock import SHANGHAI
from shared.events import Envelope, Event, HotspotAlert, UnitUpserted, encode, envelope_for

_BATCH = "analytics_batch"
_HOOKED = "analytics_hooked"
_ALERT_NS = uuid.UUID("6f1c2a52-5d0e-4f5e-9a39-2f1b6c0d7e11")


def _upsert(table: Any, key: str, columns: list[str]) -> Any:
    """All of a batch's rows of a fact table in one statement: one JSON parameter, typed by the table's row type."""
    cols = ", ".join(columns)
    sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    return text(f"INSERT INTO {table.fullname} ({cols}) SELECT {cols} FROM jsonb_populate_recordset("
                f"NULL::{table.fullname}, CAST(:rows AS jsonb)) ON CONFLICT ({key}) DO UPDATE SET {sets}")


def _select(table: Any, key: str) -> Any:
    return text(f"SELECT * FROM {table.fullname} WHERE {key} = ANY(CAST(:ids AS uuid[]))")


def rows_of(result: Any) -> list[domain.Row]:
    """A result's rows as plain dicts (``dict(RowMapping)`` builds a key view per row: it showed in profiles)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()  # aware: the offset is kept, PostgreSQL reads the same instant
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _rows_json(rows: list[domain.Row]) -> str:
    return json.dumps(rows, default=_json_value, ensure_ascii=False)


class Projection:
    """The analytics handlers, bound to the service's settings (alerts) and CloudEvents source."""

    def __init__(self, settings: AnalyticsSettings, source: str) -> None:
        self.settings = settings
        self.source = source
        self._case_upsert = _upsert(case_facts, "case_id", CASE_COLUMNS)
        self._assignment_upsert = _upsert(assignment_facts, "assignment_id", ASSIGNMENT_COLUMNS)
        self._case_select = _select(case_facts, "case_id")
        self._assignment_select = _select(assignment_facts, "assignment_id")

    def handlers(self) -> dict[str, Any]:
        out: dict[str, Any] = {ev.ce_type: self.on_case_event for ev in domain.FOLDS}
        out[UnitUpserted.ce_type] = self.on_unit_upserted
        return out

    async def on_unit_upserted(self, session: AsyncSession, event: UnitUpserted, env: Envelope) -> None:
        values = dict(unit_id=event.unit_id, name=event.name, level=event.level.value, parent_id=event.parent_id,
                      path=list(event.path), active=event.active)
        await session.execute(insert(units).values(**values).on_conflict_do_update(
            index_elements=["unit_id"], set_=values))

    async def on_case_event(self, session: AsyncSession, event: Event, env: Envelope) -> None:
        batch: list[Event] = session.info.setdefault(_BATCH, [])
        batch.append(event)
        if not session.info.get(_HOOKED):
            session.info[_HOOKED] = True
            sa_event.listen(session.sync_session, "before_commit", self._before_commit)

    def _before_commit(self, session: Session) -> None:
        # runs inside AsyncSession.commit's greenlet: the sync Session API talks to asyncpg from here
        events: list[Event] = session.info.pop(_BATCH, [])
        if events:
            self.flush(session, events)

    def flush(self, session: Session, events: list[Event]) -> domain.Store:
        case_ids = list({e.case_id for e in events})  # type: ignore[attr-defined]
        assignment_ids = list({a for e in events for a in domain.assignment_ids(e)})
        store = domain.Store(
            {r["case_id"]: r for r in rows_of(session.execute(self._case_select, {"ids": case_ids}))},
            {r["assignment_id"]: r for r in rows_of(session.execute(self._assignment_select, {"ids": assignment_ids}))}
            if assignment_ids else {},
        )
        before = {i: increments.case_contributions(r) for i, r in store.cases.items()}  # the fold changes rows in place
        before_assignments = {i: increments.assignment_contributions(r) for i, r in store.assignments.items()}
        for e in events:
            domain.apply(store, e)
        if store.dirty_cases:
            session.execute(self._case_upsert, {"rows": _rows_json([store.cases[i] for i in store.dirty_cases])})
        if store.dirty_assignments:
            session.execute(self._assignment_upsert,
                            {"rows": _rows_json([store.assignments[i] for i in store.dirty_assignments])})
        changes = increments.Increments()
        for i in store.dirty_cases:
            changes.add(before.get(i, []), -1)
            changes.add(increments.case_contributions(store.cases[i]), +1)
        for i in store.dirty_assignments:
            changes.add(before_assignments.get(i, []), -1)
            changes.add(increments.assignment_contributions(store.assignments[i]), +1)
        increments.apply(session, changes)
        if self.settings.emit_alerts and store.first_assignments:
            self._check_spikes(session, store.first_assignments)
        return store

    # --- spikes (分析研判) ---------------------------------------------------------------------------------

    def _check_spikes(self, session: Session, cases: list[domain.Row]) -> None:
        """For each (grid, top category, day) a case just entered, compare the day's count to the baseline."""
        groups: dict[tuple[str, str, Any], list[str]] = {}
        for c in cases:
            if c["received_at"] is None or not c["category"] or c["merged_into"] is not None:
                continue
            day = c["received_at"].astimezone(SHANGHAI).date()
            groups[(c["home_unit_id"], c["category"].split(".")[0], day)] = c["home_path"]
        if not groups:
            return
        n = self.settings.hotspot_baseline_days
        keys = list(groups)
        starts = [datetime.combine(d, time.min, SHANGHAI) for _, _, d in keys]
        rows = session.execute(text(f"""
            SELECT g.i, g.unit_id, g.cat, g.day_start,
              (SELECT count(*) FROM {case_facts.fullname} f WHERE coalesce(f.home_unit_id, '') = g.unit_id
                 AND f.received_at >= g.day_start AND f.received_at < g.day_start + interval '1 day'
                 AND split_part(f.category, '.', 1) = g.cat AND f.merged_into IS NULL) AS cnt,
              (SELECT count(*) FROM {case_facts.fullname} f WHERE coalesce(f.home_unit_id, '') = g.unit_id
                 AND f.received_at >= g.day_start - make_interval(days => :n) AND f.received_at < g.day_start
                 AND split_part(f.category, '.', 1) = g.cat AND f.merged_into IS NULL) AS base
            FROM unnest(CAST(:units AS text[]), CAST(:cats AS text[]), CAST(:starts AS timestamptz[]))
                 WITH ORDINALITY AS g(unit_id, cat, day_start, i)
            WHERE NOT EXISTS (SELECT 1 FROM {hotspot_alerts.fullname} h
                              WHERE h.unit_id = g.unit_id AND h.category = g.cat AND h.day = g.day_start::date)
        """), {"n": n, "units": [k[0] for k in keys], "cats": [k[1] for k in keys], "starts": starts}).all()
        for i, unit_id, cat, day_start, count, base in rows:
            baseline = round(base / n, 3)
            ratio = round(count / max(baseline, 1.0), 2)
            if count < self.settings.hotspot_min_count or count < self.settings.hotspot_ratio * baseline:
                continue
            day = keys[i - 1][2]
            alert = HotspotAlert(
                alert_id=uuid.uuid5(_ALERT_NS, f"{unit_id}/{cat}/{day.isoformat()}"), unit_id=unit_id,
                unit_path=list(groups[keys[i - 1]]), category=cat, window_start=day_start,
                window_end=day_start + timedelta(days=1), count=count, baseline=baseline, ratio=ratio,
                at=max(c["received_at"] for c in cases if c["received_at"] is not None),
            )
            inserted = session.execute(insert(hotspot_alerts).values(
                unit_id=unit_id, category=cat, day=day, alert_id=alert.alert_id, unit_path=alert.unit_path,
                count=count, baseline=baseline, ratio=ratio, window_start=alert.window_start,
                window_end=alert.window_end, at=alert.at,
            ).on_conflict_do_nothing().returning(hotspot_alerts.c.alert_id)).first()
            if inserted is not None:
                _add_event_sync(session, alert, self.source)


def _add_event_sync(session: Session, event: Event, source: str) -> None:
    """``shared.bus.outbox.add_event`` for code running in the commit hook (sync Session, same transaction)."""
    env = envelope_for(event, source)
    schema = session.info["schema"]
    session.execute(
        text(f'INSERT INTO "{schema}".outbox (event_id, topic, key, ce_type, headers, payload) '
             "VALUES (:event_id, :topic, :key, :ce_type, CAST(:headers AS jsonb), CAST(:payload AS jsonb))"),
        {"event_id": uuid.UUID(env.id), "topic": event.topic, "key": event.key(), "ce_type": event.ce_type,
         "headers": json.dumps([[k, v.decode()] for k, v in env.headers()]), "payload": encode(event).decode()},
    )
    session.execute(text("SELECT pg_notify(:ch, '')"), {"ch": notify_channel(schema)})
