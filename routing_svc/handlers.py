"""Routing handlers: one function per command or event. The caller owns the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.assignment import Action, AssignmentStatus, IllegalTransition, transition
from routing_svc.domain.locate import locate
from routing_svc.org import UnitCache, import_org
from routing_svc.rules import CalendarCache, RulesCache
from routing_svc.schemas import AcceptBody, ResolveBody
from routing_svc.tables import Assignment
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.clock import Clock
from shared.crypto import Sealer
from shared.events import CaseAccepted, CaseAssigned, CaseReceived, CaseResolved, Envelope
from shared.events.case import Level, Outcome, Track
from shared.problems import Problem

log = structlog.get_logger(__name__)
__all__ = ["UnitCache", "import_org"]  # the org handlers live in routing_svc.org

DEFAULT_RULE = "default.grid"


@dataclass
class RoutingDeps:
    clock: Clock
    pii: Sealer  # members' contact data at rest
    transport: Sealer  # opens the address sealed by intake
    source: str
    accept_hours: float
    resolve_hours: float
    units: UnitCache = field(default_factory=lambda: UnitCache())
    rules: RulesCache = field(default_factory=lambda: RulesCache())
    calendar: CalendarCache = field(default_factory=lambda: CalendarCache())


# --- events --------------------------------------------------------------------------------------------


async def on_case_received(deps: RoutingDeps, session: AsyncSession, event: CaseReceived, env: Envelope) -> None:
    """Locate the case and assign it (skeleton: one default rule — the located unit, general track)."""
    already = (await session.execute(
        select(Assignment.id).where(Assignment.case_id == event.case_id).limit(1)
    )).first()
    if already is not None:
        return
    address = None
    if event.location.address_sealed:
        address = deps.transport.open(event.location.address_sealed, str(event.case_id).encode())
    units = await deps.units.get(session)
    located = locate(event.location.grid_id, address, units)
    if located is None:
        raise LookupError("no org units imported yet: cannot route")  # retried, then dead-lettered
    now = deps.clock.now()
    unit = located.unit
    assignment = Assignment(
        case_id=event.case_id, case_code=event.code, unit_id=unit.id, unit_path=list(unit.path),
        level=unit.level.value, track=Track.GENERAL.value, forces=[], status=AssignmentStatus.ASSIGNED.value,
        accept_due_at=now + timedelta(hours=deps.accept_hours), rule_id=DEFAULT_RULE,
        explanation=f"{DEFAULT_RULE}: {located.explanation}", created_at=now, updated_at=now,
    )
    session.add(assignment)
    await add_event(session, CaseAssigned(
        case_id=event.case_id, at=now, assignment_id=assignment.id, case_code=event.code, unit_id=unit.id,
        unit_name=unit.name, unit_path=list(unit.path), level=unit.level, track=Track.GENERAL, forces=[],
        accept_due_at=assignment.accept_due_at, rule_id=DEFAULT_RULE, explanation=assignment.explanation,
    ), source=deps.source)
    log.info("case_assigned", unit_id=unit.id, method=located.method)


# --- assignment commands -------------------------------------------------------------------------------


async def get_assignment(session: AsyncSession, assignment_id: uuid.UUID, user: Principal,
                         *, for_update: bool = False) -> Assignment:
    stmt = select(Assignment).where(Assignment.id == assignment_id)
    if for_update:
        stmt = stmt.with_for_update()
    a = (await session.execute(stmt)).scalar_one_or_none()
    if a is None or not user.can_see(a.unit_path):
        raise Problem(404, "assignment_not_found", f"no assignment {assignment_id} in your scope")
    structlog.contextvars.bind_contextvars(case_id=str(a.case_id))
    return a


def _apply(a: Assignment, action: Action, if_match: int | None) -> None:
    if if_match is not None and if_match != a.version:
        raise Problem(412, "version_mismatch", f"the assignment is at version {a.version}, not {if_match}",
                      current_version=a.version)
    try:
        a.status = transition(AssignmentStatus(a.status), action).value
    except IllegalTransition as exc:
        raise Problem(409, "illegal_transition", str(exc), allowed_actions=exc.allowed) from exc
    a.version += 1


async def accept(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                 body: AcceptBody, if_match: int | None) -> Assignment:
    a = await get_assignment(session, assignment_id, user, for_update=True)
    _apply(a, Action.ACCEPT, if_match)
    now = deps.clock.now()
    a.accepted_by, a.accepted_at, a.updated_at = user.sub, now, now
    a.resolve_due_at = now + timedelta(hours=deps.resolve_hours)
    await add_event(session, CaseAccepted(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, accepted_by=user.sub,
        resolve_due_at=a.resolve_due_at, accepted_on_time=now <= a.accept_due_at,
    ), source=deps.source)
    return a


async def resolve(session: AsyncSession, deps: RoutingDeps, assignment_id: uuid.UUID, user: Principal,
                  body: ResolveBody, if_match: int | None) -> Assignment:
    a = await get_assignment(session, assignment_id, user, for_update=True)
    _apply(a, Action.RESOLVE, if_match)
    now = deps.clock.now()
    a.resolved_by, a.resolved_at, a.updated_at = user.sub, now, now
    a.outcome, a.outcome_note = body.outcome.value, body.note
    await add_event(session, CaseResolved(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, level=Level(a.level),
        outcome=Outcome(body.outcome), resolved_by=user.sub,
        resolved_on_time=a.resolve_due_at is None or now <= a.resolve_due_at,
        mediation_agreement=body.mediation_agreement, judicial_confirmation=body.judicial_confirmation,
    ), source=deps.source)
    return a
