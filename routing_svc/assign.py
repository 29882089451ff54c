"""Routing a case to a unit: locating, the rules' decision, climbing to the decided level, working-time
deadlines, and the new assignment with its ``fq.case.assigned.v1`` (first routing, and every handover).

The first routing of a consumer batch is written in one statement when the batch commits (the hot path);
handovers (return, escalation, dispatch, reopen) write through the ORM in the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.domain.locate import Located, UnitInfo, locate
from routing_svc.domain.rules import CaseFacts, Deadlines, Decision, RuleSet
from routing_svc.tables import SCHEMA, Assignment, Member
from shared.auth import Role
from shared.bus.outbox import add_event
from shared.bus.tables import notify_channel
from shared.clock import SHANGHAI
from shared.events import CaseAssigned, CaseReceived, encode, envelope_for
from shared.events.case import AssignCause, Level, Track
from shared.problems import Problem
from shared.worktime import WorkCalendar, WorkSpan

if TYPE_CHECKING:
    from routing_svc.handlers import RoutingDeps

log = structlog.get_logger(__name__)

HANDLER_ROLES = (Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)
# district 0 … building 4; a village is a community-level unit
# the predicate of the partial unique index "one current assignment per case" (migration 0003)
# (literal SQL: with bound parameters a generic plan cannot infer the partial index)
CURRENT_PREDICATE = "status IN ('assigned', 'accepted', 'suspended', 'resolved', 'closed')"
RANK = {Level.DISTRICT: 0, Level.STREET: 1, Level.COMMUNITY: 2, Level.VILLAGE: 2, Level.GRID: 3, Level.BUILDING: 4}


@dataclass
class Context:
    """What routing decisions need, loaded once per transaction (a consumer batch, a request, a scheduler tick).

    Deadlines are computed from the start truncated to the second, and cached for the transaction: a consumer
    batch of cases received within the same second computes each deadline once. Decisions are cached per rule
    set on every fact a rule can match (time only through the weekday and whether it is working time).
    """

    rules: RuleSet
    calendar: WorkCalendar
    units: dict[str, UnitInfo]
    _adds: dict[tuple[datetime, WorkSpan], datetime] = field(default_factory=dict)
    _working: dict[datetime, bool] = field(default_factory=dict)

    def add(self, start: datetime, span: WorkSpan) -> datetime:
        key = (start.replace(microsecond=0), span)
        due = self._adds.get(key)
        if due is None:
            due = self._adds[key] = self.calendar.add(key[0], span)
        return due

    def is_working_time(self, at: datetime) -> bool:
        key = at.replace(microsecond=0)
        working = self._working.get(key)
        if working is None:
            working = self._working[key] = self.calendar.is_working_time(key)
        return working

    def decide(self, facts: CaseFacts) -> Decision:
        return _decide(self.rules, replace(facts, local_time=facts.local_time.replace(hour=0, minute=0, second=0,
                                                                                     microsecond=0)))


@lru_cache(maxsize=4096)
def _decide(rules: RuleSet, facts: CaseFacts) -> Decision:
    """The rules see the time only as weekday and working time: facts at midnight of the same day decide alike."""
    return rules.evaluate(facts)


async def context(session: AsyncSession, deps: RoutingDeps) -> Context:
    ctx: Context | None = session.info.get("routing_ctx")
    if ctx is None:
        ctx = Context(await deps.rules.get(session), await deps.calendar.get(session), await deps.units.get(session))
        session.info["routing_ctx"] = ctx
    return ctx


def span_doc(span: WorkSpan | None) -> dict[str, Any] | None:
    return None if span is None else {"days": span.days, "hours": span.hours}


def span_of(doc: dict[str, Any]) -> WorkSpan:
    return WorkSpan(hours=float(doc.get("hours", 0)), days=int(doc.get("days", 0)))


# --- routing a received case ---------------------------------------------------------------------------


def facts_doc(event: CaseReceived) -> dict[str, Any]:
    """What routing keeps of a case to re-route it later: facts and the (still sealed) location."""
    return {
        "channel": event.channel.value, "request_type": event.request_type.value, "category": event.category,
        "risk_level": event.risk_level.value, "risk_signals": sorted(event.risk_signals),
        "people_involved": event.people_involved, "amount_involved": event.amount_involved,
        "urgent": event.urgent, "deadline_days": event.deadline_days,
        "location": event.location.model_dump(), "received_unit_id": event.received_unit_id,
    }


def case_facts(doc: dict[str, Any], unit: UnitInfo, now: datetime, ctx: Context) -> CaseFacts:
    return CaseFacts(
        category=doc.get("category"), request_type=doc["request_type"], risk_level=doc["risk_level"],
        risk_signals=frozenset(doc.get("risk_signals") or ()), channel=doc["channel"],
        people_involved=doc.get("people_involved"), amount_involved=doc.get("amount_involved"),
        unit_path=tuple(unit.path), unit_level=unit.level, local_time=now.astimezone(SHANGHAI),
        working_time=ctx.is_working_time(now),
        deadline_days=doc.get("deadline_days"), urgent=bool(doc.get("urgent")),
    )


def target_unit(units: dict[str, UnitInfo], located: UnitInfo, decision: Decision) -> UnitInfo:
    """The decided unit, or the located unit's ancestor at the decided level (never below the located unit)."""
    if decision.unit_id and decision.unit_id in units:
        return units[decision.unit_id]
    unit = located
    if unit.level == Level.BUILDING and unit.parent_id in units:
        unit = units[unit.parent_id]
    if decision.level is None:
        return unit
    want = RANK[Level(decision.level)]
    for uid in reversed(unit.path):
        u = units.get(uid)
        if u is not None and RANK[u.level] <= want:
            return u
    return unit


def locate_case(doc: dict[str, Any], deps: RoutingDeps, case_id: uuid.UUID, units: dict[str, UnitInfo]
                ) -> Located | None:
    loc = doc.get("location") or {}
    address = None
    if loc.get("address_sealed"):
        address = deps.transport.open(loc["address_sealed"], str(case_id).encode())
    return locate(loc.get("grid_id"), address, units, lat=loc.get("lat"), lng=loc.get("lng"),
                  received_unit_id=doc.get("received_unit_id"))


async def on_case_received(deps: RoutingDeps, session: AsyncSession, event: CaseReceived, _env: object) -> None:
    """Locate the case, evaluate the active rules, climb to the decided level and assign with working-time clocks.

    The hot path: nothing is written here; the batch's assignments and their outbox rows are written in one
    statement when the consumer commits the batch (``_INSERT_ROUTED``)."""
    ctx = await context(session, deps)
    doc = facts_doc(event)
    located = locate_case(doc, deps, event.case_id, ctx.units)
    if located is None:
        raise LookupError("no org units imported yet: cannot route")  # retried, then dead-lettered
    now = deps.clock.now()
    decision = ctx.decide(case_facts(doc, located.unit, now, ctx))
    unit = target_unit(ctx.units, located.unit, decision)
    values = _assignment_values(
        ctx, now, case_id=event.case_id, case_code=event.code, unit=unit, track=decision.track,
        forces=list(decision.forces), deadlines=decision.deadlines, rule_id=decision.rule_id,
        explanation=f"{located.explanation}; {decision.explanation}", cause=AssignCause.ROUTED, previous=None,
        task_force=_task_force(decision, ctx, now), facts=doc,
    )
    _queue_routed(session, deps, values, unit, building=located.building)
    log.debug("case_routed", unit_id=unit.id, rule_id=decision.rule_id, method=located.method)


def _task_force(decision: Decision, ctx: Context, now: datetime) -> dict[str, Any] | None:
    tf = decision.task_force
    return None if tf is None else {"lead": tf.lead, "plan_due_at": ctx.add(now, tf.plan)}


def _assignment_values(
    ctx: Context, now: datetime, *, case_id: uuid.UUID, case_code: str, unit: UnitInfo, track: Track,
    forces: list[str], deadlines: Deadlines, rule_id: str, explanation: str, cause: AssignCause,
    previous: Assignment | None, task_force: dict[str, Any] | None, facts: dict[str, Any] | None,
) -> dict[str, Any]:
    return dict(
        id=uuid.uuid4(), case_id=case_id, case_code=case_code, unit_id=unit.id, unit_path=list(unit.path),
        level=unit.level.value, track=Track(track).value, forces=forces, status=AssignmentStatus.ASSIGNED.value,
        accept_due_at=ctx.add(now, deadlines.accept), rule_id=rule_id[:64], explanation=explanation,
        created_at=now, updated_at=now, version=1, cause=cause.value,
        previous_assignment_id=previous.id if previous else None, resolve_span=span_doc(deadlines.resolve),
        escalate_on_resolve_overdue=deadlines.escalate_on_resolve_overdue,
        task_force={**task_force, "plan_due_at": task_force["plan_due_at"].isoformat()} if task_force else None,
        facts=facts,
    )


_COLUMNS = ("id uuid, case_id uuid, case_code text, unit_id text, unit_path text[], level text, track text, "
            "forces text[], status text, accept_due_at timestamptz, rule_id text, explanation text, "
            "created_at timestamptz, updated_at timestamptz, version bigint, cause text, previous_assignment_id uuid, "
            "task_force jsonb, resolve_span jsonb, escalate_on_resolve_overdue boolean, facts jsonb")
_NAMES = ", ".join(c.split()[0] for c in _COLUMNS.split(", "))
# Every case a consumer batch routed, in one statement at commit: the assignments (a case that has one already is
# skipped: a re-delivery under another event id), the fq.case.assigned.v1 outbox rows of those written, in order,
# and the relay's wake-up.
_INSERT_ROUTED = text(f"""
WITH r AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({_COLUMNS}, event_id uuid, topic text, key text,
        ce_type text, headers text, payload text, ord int)
), a AS (
    INSERT INTO {SCHEMA}.assignments ({_NAMES})
    SELECT {_NAMES} FROM (SELECT * FROM r ORDER BY ord) AS s
    ON CONFLICT (case_id) WHERE {CURRENT_PREDICATE} DO NOTHING
    RETURNING id
), o AS (
    INSERT INTO {SCHEMA}.outbox (event_id, topic, key, ce_type, headers, payload)
    SELECT r.event_id, r.topic, r.key, r.ce_type, CAST(r.headers AS jsonb), CAST(r.payload AS jsonb)
    FROM r JOIN a ON a.id = r.id ORDER BY r.ord
    RETURNING 1
)
SELECT (SELECT count(*) FROM o), pg_notify(:channel, '')
""")
_PENDING = "routing_pending_assignments"


def _queue_routed(session: AsyncSession, deps: RoutingDeps, v: dict[str, Any], unit: UnitInfo, *,
                  building: UnitInfo | None = None) -> None:
    """Queue the assignment and its event; they are written with the rest of the batch when it commits."""
    pending: list[dict[str, Any]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        sync = session.sync_session
        sa_event.listen(sync, "before_commit", _write_before_commit)
        sa_event.listen(sync, "after_rollback", _drop_after_rollback)
    event = _assigned(v, unit, building)
    env = envelope_for(event, deps.source)
    row = {k: str(x) if isinstance(x, (uuid.UUID, datetime)) else x for k, x in v.items()}
    pending.append({
        **row, "event_id": env.id, "topic": event.topic, "key": event.key(), "ce_type": event.ce_type,
        "headers": json.dumps([[k, h.decode()] for k, h in env.headers()]), "payload": encode(event).decode(),
        "ord": len(pending),
    })


def _take(info: dict[str, Any]) -> dict[str, Any] | None:
    pending: list[dict[str, Any]] = info.get(_PENDING) or []
    if not pending:
        return None
    rows = json.dumps(pending, ensure_ascii=False)
    pending.clear()
    return {"rows": rows, "channel": notify_channel(SCHEMA)}


def _write_before_commit(sync_session: Session) -> None:
    params = _take(sync_session.info)
    if params is not None:
        sync_session.execute(_INSERT_ROUTED, params)  # runs inside the async session's greenlet


def _drop_after_rollback(sync_session: Session) -> None:
    (sync_session.info.get(_PENDING) or []).clear()


async def write_routed(session: AsyncSession) -> None:
    """Write the queued assignments now (a handler that reads assignments in the same transaction calls this)."""
    params = _take(session.info)
    if params is not None:
        await session.execute(_INSERT_ROUTED, params)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _assigned(v: dict[str, Any], unit: UnitInfo, building: UnitInfo | None = None) -> CaseAssigned:
    return CaseAssigned(
        case_id=v["case_id"], at=v["created_at"], assignment_id=v["id"], case_code=v["case_code"], unit_id=unit.id,
        unit_name=unit.name, unit_path=list(unit.path), level=unit.level, track=Track(v["track"]),
        forces=v["forces"], accept_due_at=v["accept_due_at"], rule_id=v["rule_id"], explanation=v["explanation"],
        cause=AssignCause(v["cause"]), previous_assignment_id=v["previous_assignment_id"],
        task_force=v["task_force"] is not None, building_id=building.id if building else None,
    )


async def _assigned_event(session: AsyncSession, deps: RoutingDeps, v: dict[str, Any], unit: UnitInfo) -> None:
    await add_event(session, _assigned(v, unit), source=deps.source)


async def start_assignment(
    session: AsyncSession, deps: RoutingDeps, ctx: Context, *, previous: Assignment, unit: UnitInfo, track: Track,
    forces: list[str], deadlines: Deadlines, rule_id: str, explanation: str, cause: AssignCause,
    task_force: dict[str, Any] | None = None,
) -> Assignment:
    """The assignment that takes over from ``previous`` (handed on in this transaction), and its assigned event."""
    await session.flush()  # the previous assignment leaves the "current" set before the new one enters it
    values = _assignment_values(
        ctx, deps.clock.now(), case_id=previous.case_id, case_code=previous.case_code, unit=unit, track=track,
        forces=forces, deadlines=deadlines, rule_id=rule_id, explanation=explanation, cause=cause,
        previous=previous, task_force=task_force, facts=previous.facts,
    )
    a = Assignment(**values)
    session.add(a)
    await _assigned_event(session, deps, values, unit)
    return a


async def handover(session: AsyncSession, deps: RoutingDeps, ctx: Context, a: Assignment, unit: UnitInfo,
                    cause: AssignCause, explanation: str) -> Assignment:
    """A new assignment of the same case to ``unit``, keeping its track and forces; deadlines for its level."""
    deadlines = ctx.rules.deadlines_for(unit.level, Track(a.track))
    return await start_assignment(
        session, deps, ctx, previous=a, unit=unit, track=Track(a.track), forces=list(a.forces),
        deadlines=deadlines, rule_id=a.rule_id, explanation=explanation, cause=cause, task_force=task_force_of(a),
    )


def task_force_of(a: Assignment) -> dict[str, Any] | None:
    if not a.task_force:
        return None
    return {"lead": a.task_force["lead"], "plan_due_at": datetime.fromisoformat(a.task_force["plan_due_at"])}


def unit_of(ctx: Context, unit_id: str) -> UnitInfo:
    unit = ctx.units.get(unit_id)
    if unit is None:
        raise Problem(409, "unit_inactive", f"unit {unit_id} is not an active unit")
    return unit


async def next_level_up(session: AsyncSession, ctx: Context, unit_path: list[str]) -> UnitInfo | None:
    """The nearest active ancestor that has members with a handling role (a unit without handlers is skipped)."""
    ancestors = [u for u in reversed(unit_path[:-1]) if u in ctx.units]
    if not ancestors:
        return None
    staffed = set((await session.execute(
        select(Member.unit_id).where(Member.unit_id.in_(ancestors), Member.active.is_(True),  # type: ignore[attr-defined]
                                     Member.roles.overlap([r.value for r in HANDLER_ROLES]))  # type: ignore[attr-defined]
    )).scalars())
    return next((ctx.units[u] for u in ancestors if u in staffed), None)


def street_of(ctx: Context, unit_path: list[str]) -> UnitInfo | None:
    street = next((ctx.units[u] for u in reversed(unit_path) if u in ctx.units
                   and ctx.units[u].level == Level.STREET), None)
    if street is None:
        street = next(iter(sorted((u for u in ctx.units.values() if u.level == Level.STREET), key=lambda u: u.id)),
                      None)
    return street

