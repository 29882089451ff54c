"""Routing a case to a unit: locating, the one routing decision (``domain.routing``), working-time deadlines,
and the new assignment with its ``fq.case.assigned.v1`` (first routing, and every handover).

The first routing of a consumer batch is queued and written in one statement before the batch commits (the hot
path, ``store.assignments``); handovers (return, escalation, dispatch, reopen) write through the ORM in the
caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.domain.explain import explain_zh
from routing_svc.domain.locate import Located, UnitInfo, locate
from routing_svc.domain.routing import Routed, facts_doc, route
from routing_svc.domain.rules import CaseFacts, Deadlines, Decision, RuleSet
from routing_svc.store.assignments import queue_follow_up, queue_routed
from routing_svc.tables import Assignment, Member
from shared.auth import Role
from shared.bus.handlers import EventContext
from shared.bus.outbox import add_event
from shared.events import CaseAssigned, CaseReceived
from shared.events.case import AssignCause, Level, Track
from shared.problems import Problem
from shared.worktime import WorkCalendar, WorkSpan

log = structlog.get_logger(__name__)

HANDLER_ROLES = (Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN)


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

    def route(self, doc: dict[str, Any], located: UnitInfo, now: datetime, units: dict[str, UnitInfo] | None = None
              ) -> Routed:
        """The one routing decision (``domain.routing.route``) with this transaction's rules and calendar."""
        return route(self.decide, doc, located, self.units if units is None else units, at=now,
                     working_time=self.is_working_time(now))


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
    if span is None:
        return None
    if span.same_day:  # 当天: {"same_day": true, "cutoff": "16:00" | null}
        return {"days": 0, "hours": 0, "same_day": True,
                "cutoff": span.cutoff.strftime("%H:%M") if span.cutoff else None}
    return {"days": span.days, "hours": span.hours}


def span_of(doc: dict[str, Any]) -> WorkSpan:
    if doc.get("same_day"):
        return WorkSpan(same_day=True, cutoff=time.fromisoformat(doc["cutoff"]) if doc.get("cutoff") else None)
    return WorkSpan(hours=float(doc.get("hours", 0)), days=int(doc.get("days", 0)))


# --- routing a received case ---------------------------------------------------------------------------


def locate_case(doc: dict[str, Any], deps: RoutingDeps, case_id: uuid.UUID, units: dict[str, UnitInfo]
                ) -> Located | None:
    loc = doc.get("location") or {}
    address = None
    if loc.get("address_sealed"):
        address = deps.transport.open(loc["address_sealed"], str(case_id).encode())
    return locate(loc.get("grid_id"), address, units, lat=loc.get("lat"), lng=loc.get("lng"),
                  received_unit_id=doc.get("received_unit_id"))


async def on_case_received(ctx: EventContext[RoutingDeps], event: CaseReceived) -> None:
    """Locate the case, decide (the rules, then the unit at the decided level) and assign with working-time clocks.

    The hot path: nothing is written here; the batch's assignments and their outbox rows are written in one
    statement before the consumer commits the batch (``store.assignments.ROUTED``)."""
    session, deps = ctx.session, ctx.deps
    rc = await context(session, deps)
    doc = facts_doc(event)
    located = locate_case(doc, deps, event.case_id, rc.units)
    if located is None:
        raise LookupError("no org units imported yet: cannot route")  # retried, then dead-lettered
    now = deps.clock.now()
    routed = rc.route(doc, located.unit, now)
    decision, unit = routed.decision, routed.target
    values = _assignment_values(
        rc, now, case_id=event.case_id, case_code=event.code, unit=unit, track=decision.track,
        forces=list(decision.forces), deadlines=decision.deadlines, rule_id=decision.rule_id,
        explanation=explain_zh(located, decision, unit), cause=AssignCause.ROUTED, previous=None,
        task_force=task_force_for(decision, rc, now), facts=doc,
    )
    queue_routed(session, values, _assigned(values, unit, located.building), source=deps.source)
    queue_follow_up(session, deps, values)
    log.debug("case_routed", unit_id=unit.id, rule_id=decision.rule_id, method=located.method)


def task_force_for(decision: Decision, ctx: Context, now: datetime) -> dict[str, Any] | None:
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
    queue_follow_up(session, deps, values)
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

