"""The hot path's one statement: everything a transaction's handlers queued (case facts, reminders, deliveries)
written together, as a ``shared.bus.pending`` kind the entry point flushes before its commit.

A delivery already there (``uq_delivery_once``) means this event already notified this person over this channel:
nothing else happens for it. Each new inbox delivery gets its inbox item and its ``NotificationDelivered`` row in
the outbox in the same statement. No NOTIFY inside the transaction: after the commit the session wakes the relay
(``pending.mark_outbox_written``), hands the new items to this replica's live streams and wakes this replica's
delivery worker (``pending.on_commit``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.domain.delivery import DeliveryStatus
from notify_svc.domain.reminders import ReminderStatus
from notify_svc.domain.rules import Channel
from notify_svc.tables import SCHEMA
from shared.bus import pending
from shared.bus.outbox import outbox_insert_select
from shared.db import driver_connection
from shared.events import NotificationDelivered


class Sql:
    """A hot-path statement run on the session's asyncpg connection, in its transaction: written with ``:name``
    parameters, sent as ``$n`` (asyncpg prepares it once per connection; no SQLAlchemy compile or result
    machinery per call)."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def number(m: re.Match[str]) -> str:
            if m.group(1) not in self.names:
                self.names.append(m.group(1))
            return f"${self.names.index(m.group(1)) + 1}"

        self.sql = re.sub(r"(?<![:\w]):([a-z_]+)\b", number, sql)

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        driver = await driver_connection(session)
        return list(await driver.fetch(self.sql, *(params[n] for n in self.names)))


class CaseRow(NamedTuple):
    """The case's facts, upserted: from an assignment (``assignment_id`` set: its unit and path replace the old
    ones), from its registration (no assignment: its code, and the received grid's path while the case has none
    yet) or from its 包案领导 (``leader_id``; nothing else). The row's units join those that read its delivery
    log."""

    case_id: uuid.UUID
    case_code: str | None
    assignment_id: uuid.UUID | None
    unit_id: str | None
    unit_path: tuple[str, ...]
    visible_units: frozenset[str]
    at: datetime
    leader_id: str | None = None


class ReminderRow(NamedTuple):
    id: uuid.UUID
    assignment_id: uuid.UUID
    case_id: uuid.UUID
    unit_id: str
    clock: str
    fraction: float
    start_at: datetime
    due_at: datetime
    fire_at: datetime


class DeliveryRow(NamedTuple):
    """A delivery; for the inbox also its item (``item_id``, ``push``: the live streams' payload) and its
    delivered event (``o_*``: the columns of ``shared.bus.outbox.outbox_row``)."""

    id: uuid.UUID
    trigger_ce_id: str
    trigger_type: str
    rule_id: str
    channel: str
    recipient_id: str
    case_id: uuid.UUID | None
    template_key: str
    template_version: int
    title: str
    body: str
    due: datetime
    at: datetime
    item_id: uuid.UUID | None
    push: str | None
    o_id: object
    o_key: object
    o_headers: object
    o_payload: object
    event_id: str
    kind: str
    case_code: str | None


BatchItem = CaseRow | ReminderRow | DeliveryRow

_DELIVERY_TYPES = ("uuid", "text", "text", "text", "text", "text", "uuid", "text", "int", "text", "text",
                   "timestamptz", "timestamptz", "uuid", "text", "uuid", "text", "text", "text", "text", "text",
                   "text")
_DELIVERY_COLUMNS = DeliveryRow._fields
_UNNEST = ", ".join(f"CAST(:d_{c} AS {t}[])" for c, t in zip(_DELIVERY_COLUMNS, _DELIVERY_TYPES, strict=True))
_INBOX = Channel.INBOX.value
_DELIVERED_EVENTS = outbox_insert_select(
    SCHEMA, f"""(SELECT o_id AS event_id, CAST(:o_topic AS text) AS topic, o_key AS key,
                 CAST(:o_type AS text) AS ce_type, o_headers AS headers, o_payload AS payload
          FROM new WHERE channel = '{_INBOX}') AS r""")

BATCH_SQL = Sql(f"""
WITH c AS (
    INSERT INTO {SCHEMA}.cases (case_id, case_code, assignment_id, unit_id, unit_path, visible_units, updated_at,
                                leader_id)
    SELECT i, code, a, u, CAST(ARRAY(SELECT jsonb_array_elements_text(CAST(p AS jsonb))) AS varchar[]),
           CAST(ARRAY(SELECT jsonb_array_elements_text(CAST(v AS jsonb))) AS varchar[]), at, l
    FROM unnest(CAST(:c_ids AS uuid[]), CAST(:c_codes AS text[]), CAST(:c_assignments AS uuid[]),
                CAST(:c_units AS text[]), CAST(:c_paths AS text[]), CAST(:c_visible AS text[]),
                CAST(:c_at AS timestamptz[]), CAST(:c_leaders AS text[])) AS t(i, code, a, u, p, v, at, l)
    ON CONFLICT (case_id) DO UPDATE SET case_code = coalesce(excluded.case_code, {SCHEMA}.cases.case_code),
        assignment_id = coalesce(excluded.assignment_id, {SCHEMA}.cases.assignment_id),
        unit_id = coalesce(excluded.unit_id, {SCHEMA}.cases.unit_id),
        unit_path = CASE WHEN excluded.assignment_id IS NOT NULL OR cardinality({SCHEMA}.cases.unit_path) = 0
                         THEN excluded.unit_path ELSE {SCHEMA}.cases.unit_path END,
        leader_id = coalesce(excluded.leader_id, {SCHEMA}.cases.leader_id), updated_at = excluded.updated_at,
        visible_units = ARRAY(SELECT DISTINCT u FROM unnest({SCHEMA}.cases.visible_units || excluded.visible_units) u
                              ORDER BY u)
), r AS (
    INSERT INTO {SCHEMA}.reminders (id, assignment_id, case_id, unit_id, clock, fraction, start_at, due_at, fire_at,
                                    status)
    SELECT i, a, c, u, k, f, s, d, x, '{ReminderStatus.PENDING.value}'
    FROM unnest(CAST(:r_ids AS uuid[]), CAST(:r_assignments AS uuid[]), CAST(:r_cases AS uuid[]),
                CAST(:r_units AS text[]), CAST(:r_clocks AS text[]), CAST(:r_fractions AS float8[]),
                CAST(:r_starts AS timestamptz[]), CAST(:r_dues AS timestamptz[]), CAST(:r_fires AS timestamptz[]))
         AS t(i, a, c, u, k, f, s, d, x)
    ON CONFLICT ON CONSTRAINT uq_reminder_point DO NOTHING
), input AS (
    SELECT * FROM unnest({_UNNEST}) AS t({", ".join(_DELIVERY_COLUMNS)})
), d AS (
    INSERT INTO {SCHEMA}.deliveries (id, trigger_ce_id, trigger_type, rule_id, channel, recipient_id, case_id,
                                     template_key, template_version, title, body, status, attempts, next_attempt_at,
                                     created_at, delivered_at)
    SELECT id, trigger_ce_id, trigger_type, rule_id, channel, recipient_id, case_id, template_key, template_version,
           title, body,
           CASE WHEN channel = '{_INBOX}' THEN '{DeliveryStatus.DELIVERED.value}'
                ELSE '{DeliveryStatus.PENDING.value}' END,
           CASE WHEN channel = '{_INBOX}' THEN 1 ELSE 0 END, due, at, CASE WHEN channel = '{_INBOX}' THEN at END
    FROM input
    ON CONFLICT ON CONSTRAINT uq_delivery_once DO NOTHING
    RETURNING id
), new AS (
    SELECT input.* FROM input JOIN d USING (id)
), items AS (
    INSERT INTO {SCHEMA}.inbox_items (id, user_id, event_id, kind, case_id, case_code, title, body, created_at)
    SELECT item_id, recipient_id, event_id, kind, case_id, case_code, left(title, 200), body, at
    FROM new WHERE channel = '{_INBOX}'
    ON CONFLICT ON CONSTRAINT uq_inbox_user_event DO NOTHING
), events AS (
    {_DELIVERED_EVENTS}
)
SELECT 'n', CAST(count(*) AS text) FROM new
UNION ALL SELECT 'i', CAST(id AS text) FROM new WHERE channel = '{_INBOX}'
UNION ALL SELECT 'w', '' FROM (SELECT 1 FROM new WHERE channel <> '{_INBOX}' LIMIT 1) w
""")


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def merge_case(earlier: CaseRow | None, row: CaseRow) -> CaseRow:
    """``row`` applied after ``earlier`` (the batch statement's upsert, in Python): an assignment's unit and path
    replace the earlier ones, a registration's path fills an empty one, the other facts keep their last value."""
    if earlier is None:
        return row
    keep_path = row.assignment_id is None and bool(earlier.unit_path)
    return CaseRow(row.case_id, row.case_code or earlier.case_code, row.assignment_id or earlier.assignment_id,
                   row.unit_id or earlier.unit_id, earlier.unit_path if keep_path else row.unit_path,
                   earlier.visible_units | row.visible_units, row.at, row.leader_id or earlier.leader_id)


def _merged_cases(cases: list[CaseRow]) -> list[tuple[Any, ...]]:
    """One row per case (an upsert cannot touch a row twice): the case's rows of the batch merged in order, as
    upserts one after the other would leave it."""
    by_case: dict[uuid.UUID, CaseRow] = {}
    for row in cases:
        by_case[row.case_id] = merge_case(by_case.get(row.case_id), row)
    return [(c.case_id, c.case_code, c.assignment_id, c.unit_id, json.dumps(list(c.unit_path)),
             json.dumps(sorted(c.visible_units)), c.at, c.leader_id) for c in by_case.values()]


class Written(NamedTuple):
    deliveries: int  # new deliveries
    pushes: list[str]  # the live streams' payloads of the new inbox items
    to_send: bool  # a new delivery the worker sends (not inbox)


async def write_batch(session: AsyncSession, items: list[BatchItem]) -> Written:
    """Write ``items`` in one statement; the ORM's pending changes go first (the raw statement bypasses
    autoflush, and they came first)."""
    cases: list[CaseRow] = []
    reminders: list[ReminderRow] = []
    deliveries: list[DeliveryRow] = []
    for item in items:
        if type(item) is DeliveryRow:
            deliveries.append(item)
        elif type(item) is ReminderRow:
            reminders.append(item)
        else:
            cases.append(item)  # type: ignore[arg-type]
    if session.new or session.dirty or session.deleted:
        await session.flush()
    c = _columns(_merged_cases(cases), 8)
    r = _columns(reminders, 9)
    d = _columns(deliveries, len(_DELIVERY_COLUMNS))
    params: dict[str, Any] = {
        "c_ids": c[0], "c_codes": c[1], "c_assignments": c[2], "c_units": c[3], "c_paths": c[4], "c_visible": c[5],
        "c_at": c[6], "c_leaders": c[7], "r_ids": r[0], "r_assignments": r[1], "r_cases": r[2], "r_units": r[3],
        "r_clocks": r[4], "r_fractions": r[5], "r_starts": r[6], "r_dues": r[7], "r_fires": r[8],
        "o_topic": NotificationDelivered.topic, "o_type": NotificationDelivered.ce_type}
    params.update({f"d_{name}": col for name, col in zip(_DELIVERY_COLUMNS, d, strict=True)})
    rows = await BATCH_SQL.fetch(session, params)
    count, new_inbox, to_send = 0, set(), False
    for k, v in rows:
        if k == "i":
            new_inbox.add(v)
        elif k == "n":
            count = int(v)
        else:
            to_send = True
    pushes = [row.push for row in deliveries if row.push is not None and str(row.id) in new_inbox]
    return Written(count, pushes, to_send)


class BatchWriter:
    """The pending kind handlers queue ``BatchItem``s under, and what this replica does once they are committed:
    ``push`` hands the new inbox items to the live streams, ``send`` wakes the delivery worker."""

    def __init__(self, push: Callable[[list[str]], None], send: Callable[[], None]) -> None:
        self.push, self.send = push, send
        self.kind: pending.PendingKind[BatchItem] = pending.PendingKind("notify.batch", self.write)

    async def write(self, session: AsyncSession, items: list[BatchItem]) -> None:
        written = await write_batch(session, items)
        if written.pushes:
            pending.mark_outbox_written(session)  # each new inbox item's delivered event
            pending.on_commit(session, partial(self.push, written.pushes))
        if written.to_send:
            pending.on_commit(session, self.send)

    def queue(self, session: AsyncSession, item: BatchItem) -> None:
        pending.queue(session, self.kind, item)
