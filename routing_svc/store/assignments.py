"""The hot path's one statement: every case a consumer batch routed, written at once before the batch commits.

A routing handler queues the assignment with its ``fq.case.assigned.v1`` (``queue_routed``); the consumer flushes
the queue (``shared.bus.pending``) and ``write_routed`` writes the assignments (a case that has one already is
skipped: a re-delivery under another event id) and the outbox rows of those written, in order, in one statement.
An assignment with forces or a red risk also queues its follow-up (``RoutingDeps.follow_ups``: its co-handling tasks
and default 包案领导, written by ``handlers.follow_up``), run after the assignments are written, before the same
commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.tables import SCHEMA
from shared.bus import pending
from shared.bus.outbox import outbox_row
from shared.bus.rows import rows_with_events, write_rows_with_events
from shared.dictionaries import FORCE
from shared.events import CaseAssigned
from shared.events.case import RiskLevel

if TYPE_CHECKING:
    from routing_svc.deps import RoutingDeps

# the predicate of the partial unique index "one current assignment per case" (migration 0003)
# (literal SQL: with bound parameters a generic plan cannot infer the partial index)
CURRENT_PREDICATE = "status IN ('assigned', 'accepted', 'suspended', 'resolved', 'closed')"

_COLUMNS = ("id uuid, case_id uuid, case_code text, unit_id text, unit_path text[], level text, track text, "
            "forces text[], status text, accept_due_at timestamptz, rule_id text, explanation text, "
            "created_at timestamptz, updated_at timestamptz, version bigint, cause text, previous_assignment_id uuid, "
            "task_force jsonb, resolve_span jsonb, escalate_on_resolve_overdue boolean, facts jsonb")
INSERT_ROUTED = rows_with_events(SCHEMA, "assignments", _COLUMNS, f"(case_id) WHERE {CURRENT_PREDICATE}")


async def write_routed(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """The pending writer of ``ROUTED``: a transaction's routed cases in one statement."""
    await write_rows_with_events(session, INSERT_ROUTED, rows)


ROUTED: pending.PendingKind[dict[str, Any]] = pending.PendingKind("routing.assignments", write_routed)


def queue_routed(session: AsyncSession, values: dict[str, Any], event: CaseAssigned, *, source: str) -> None:
    """Queue an assignment (its column values) and its assigned event; written with the batch before commit."""
    row = {k: str(x) if isinstance(x, (uuid.UUID, datetime)) else x for k, x in values.items()}
    out = outbox_row(event, source=source)
    pending.queue(session, ROUTED, {**row, **out, "event_id": str(out["event_id"])})


@dataclass(frozen=True, slots=True)
class NewAssignment:
    """What a new assignment's follow-up reads of it: the hot path writes assignments without ORM objects."""

    id: uuid.UUID
    case_id: uuid.UUID
    case_code: str
    unit_id: str
    unit_path: list[str]
    track: str
    forces: list[str]
    facts: dict[str, Any] | None

    @classmethod
    def of(cls, v: dict[str, Any]) -> NewAssignment:
        """From an assignment's column values (``handlers.routing._assignment_values``)."""
        return cls(id=v["id"], case_id=v["case_id"], case_code=v["case_code"], unit_id=v["unit_id"],
                   unit_path=list(v["unit_path"]), track=v["track"], forces=list(v["forces"]), facts=v["facts"])


def needs_follow_up(forces: list[str], facts: dict[str, Any] | None) -> bool:
    """Whether a new assignment brings co-handling tasks (a known force) or a default 包案领导 (a red case)."""
    return any(f in FORCE for f in forces) or (facts or {}).get("risk_level") == RiskLevel.RED.value


def queue_follow_up(session: AsyncSession, deps: RoutingDeps, values: dict[str, Any]) -> None:
    """Queue a new assignment's follow-up (its tasks and default leader) when it has any; queue it after the
    assignment itself (the writers run in the order their kinds were first queued)."""
    if needs_follow_up(values["forces"], values["facts"]):
        if deps.follow_ups is None:
            raise RuntimeError("RoutingDeps.follow_ups is not set (routing_svc.app.create_app gives it)")
        pending.queue(session, deps.follow_ups, (deps, NewAssignment.of(values)))
