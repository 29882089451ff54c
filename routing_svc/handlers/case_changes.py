"""What intake's changes to a routed case do to its assignment: merged into another case (并案), risk changed
(红黄蓝), reclassified. The consumer owns the transaction."""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import OPEN, Action, AssignmentStatus
from routing_svc.domain.assignment import transition as next_state
from routing_svc.domain.explain import explain_zh
from routing_svc.domain.routing import Reevaluation, reevaluate
from routing_svc.handlers.assignments import apply, record, state_of
from routing_svc.handlers.leaders import default_leader
from routing_svc.handlers.lifecycle import current_assignment
from routing_svc.handlers.routing import context, locate_case, start_assignment, task_force_for, unit_of
from routing_svc.handlers.tasks import open_tasks
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.bus.outbox import add_event
from shared.events import CaseMerged, CaseReclassified, RiskChanged
from shared.events.case import (
    AssignCause,
    CancelReason,
    CaseAssignmentCancelled,
    CaseEscalated,
    EscalationReason,
    Level,
    Track,
)

log = structlog.get_logger(__name__)

REEVALUATE = "reevaluate"  # the log action of a re-evaluation
MERGE = "merge"  # the log action of a merge


async def on_case_merged(ctx: EventContext[RoutingDeps], event: CaseMerged) -> None:
    """A routed case merged into another: its live assignment ends as ``merged`` (no clocks, no escalation) with
    ``fq.case.assignment_cancelled.v1``. A case merged at intake was never routed; a closed one keeps its close."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)  # a case routed earlier in this batch is visible
    a = await current_assignment(session, event.case_id, for_update=True)
    if a is None or a.status == AssignmentStatus.CLOSED.value:
        log.info("merge_ignored", status=a.status if a else None)
        return
    now = deps.clock.now()
    actor = f"merge:{event.linked_by}"
    apply(a, next_state(state_of(a), Action.MERGE), now)
    record(session, a, now, MERGE, actor, primary_case_id=str(event.primary_case_id))
    await add_event(session, CaseAssignmentCancelled(
        case_id=a.case_id, at=now, assignment_id=a.id, unit_id=a.unit_id, level=Level(a.level),
        reason=CancelReason.MERGED, primary_case_id=event.primary_case_id, cancelled_by=actor,
    ), source=deps.source)


async def on_risk_changed(ctx: EventContext[RoutingDeps], event: RiskChanged) -> None:
    await _reevaluate(ctx, event.case_id, {"risk_level": event.to_level.value}, "risk_changed", event.changed_by)


async def on_reclassified(ctx: EventContext[RoutingDeps], event: CaseReclassified) -> None:
    changed = {"category": event.to_category, "request_type": event.to_request_type.value}
    await _reevaluate(ctx, event.case_id, changed, "reclassified", event.changed_by)


async def _reevaluate(ctx: EventContext[RoutingDeps], case_id: uuid.UUID, changed: dict[str, Any], trigger: str,
                      actor: str) -> None:
    """The case's facts changed: the one routing decision again over the new facts. Not accepted yet and the rules
    say a unit above → handed over (提级, reason ``rule``) with the rules' track, forces and deadlines; otherwise the
    unit keeps the case, and the choice is recorded on the assignment's history (``domain.routing.reevaluate``)."""
    session, deps = ctx.session, ctx.deps
    await pending.flush(session)
    a = await current_assignment(session, case_id, for_update=True)
    if a is None or a.facts is None or a.status not in {s.value for s in OPEN}:
        log.info("reevaluation_skipped", trigger=trigger, status=a.status if a else None)
        return
    facts = {**a.facts, **changed}
    a.facts = facts  # a new dict: the JSONB column sees the change; later re-routing (a return) reads it
    rc = await context(session, deps)
    current = unit_of(rc, a.unit_id)
    located = locate_case(facts, deps, a.case_id, rc.units)
    now = deps.clock.now()
    routed = rc.route(facts, located.unit if located else current, now)
    choice = reevaluate(current, Track(a.track), a.status != AssignmentStatus.ASSIGNED.value, routed)
    decision, target = routed.decision, routed.target
    record(session, a, now, REEVALUATE, actor, trigger=trigger, choice=choice.outcome.value, why=choice.why,
           rule_id=decision.rule_id, rule_unit_id=target.id, rule_level=target.level.value,
           rule_track=Track(decision.track).value, **changed)
    log.info("case_reevaluated", trigger=trigger, choice=choice.outcome.value, rule_id=decision.rule_id)
    if choice.outcome != Reevaluation.REROUTED:
        a.version += 1
        added = [f for f in decision.forces if f not in a.forces]
        if added:  # the unit keeps the case; the forces the new facts call in get their 协办 tasks
            a.forces = [*a.forces, *added]
            await open_tasks(session, deps, a, added)
        await default_leader(session, deps, a)  # raised to red: the case gets its 包案领导 as a red case does
        return
    apply(a, next_state(state_of(a), Action.ESCALATE), now)
    note = f"{trigger}: {decision.rule_id}"
    await add_event(session, CaseEscalated(
        case_id=a.case_id, at=now, assignment_id=a.id, from_unit_id=a.unit_id, from_level=Level(a.level),
        assignee_id=a.assignee_id,
        to_unit_id=target.id, to_level=target.level, reason=EscalationReason.RULE, note=note, escalated_by=actor,
    ), source=deps.source)
    await start_assignment(
        session, deps, rc, previous=a, unit=target, track=decision.track, forces=list(decision.forces),
        deadlines=decision.deadlines, rule_id=decision.rule_id,
        explanation=explain_zh(None, decision, target, "escalated"), cause=AssignCause.ESCALATED,
        task_force=task_force_for(decision, rc, now),
    )

