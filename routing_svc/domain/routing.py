"""Where a case goes: the one decision that real routing (first routing, re-routing after a return) and the dry
run (``POST /api/v1/rules/evaluate``) both make. Pure, no I/O.

The case's facts are read from the facts document routing keeps of a case (``facts_doc``); the rules decide a
level (or a unit); the case then goes to the nearest unit at or above that level on the located unit's path —
never below the located unit, and a building hands its cases to its grid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from routing_svc.domain.locate import UnitInfo, grid_of
from routing_svc.domain.org import RANK
from routing_svc.domain.rules import CaseFacts, Decision
from shared.clock import SHANGHAI
from shared.events import CaseReceived
from shared.events.case import Level, Track


@dataclass(frozen=True)
class Routed:
    decision: Decision
    target: UnitInfo  # the unit the case is assigned to


def facts_doc(event: CaseReceived) -> dict[str, Any]:
    """What routing keeps of a case to re-route it later: facts and the (still sealed) location."""
    return {
        "channel": event.channel.value, "request_type": event.request_type.value, "category": event.category,
        "risk_level": event.risk_level.value, "risk_signals": sorted(event.risk_signals),
        "people_involved": event.people_involved, "amount_involved": event.amount_involved,
        "urgent": event.urgent, "deadline_days": event.deadline_days,
        "location": event.location.model_dump(), "received_unit_id": event.received_unit_id,
    }


def case_facts(doc: Mapping[str, Any], unit: UnitInfo, at: datetime, working_time: bool) -> CaseFacts:
    """What the rules read of a case (its facts document) located at ``unit`` and arriving at ``at``."""
    return CaseFacts(
        category=doc.get("category"), request_type=doc["request_type"], risk_level=doc["risk_level"],
        risk_signals=frozenset(doc.get("risk_signals") or ()), channel=doc["channel"],
        people_involved=doc.get("people_involved"), amount_involved=doc.get("amount_involved"),
        unit_path=tuple(unit.path), unit_level=unit.level, local_time=at.astimezone(SHANGHAI),
        working_time=working_time, deadline_days=doc.get("deadline_days"), urgent=bool(doc.get("urgent")),
    )


def climb_to(unit: UnitInfo, level: Level, units: Mapping[str, UnitInfo]) -> UnitInfo:
    """The nearest unit at or above ``level`` on ``unit``'s path (a community target also takes a village; with no
    community above a grid, the street). A unit already at or above ``level`` stays where it is (cases never climb
    down), and so does one without such an ancestor; a building resolves to its grid first."""
    unit = grid_of(unit, units)
    want = RANK[level]
    for uid in reversed(unit.path):
        u = units.get(uid)
        if u is not None and RANK[u.level] <= want:
            return u
    return unit


def target_unit(units: Mapping[str, UnitInfo], located: UnitInfo, decision: Decision) -> UnitInfo:
    """The decided unit, or the located unit climbed to the decided level."""
    if decision.unit_id and decision.unit_id in units:
        return units[decision.unit_id]
    if decision.level is None:
        return grid_of(located, units)
    return climb_to(located, Level(decision.level), units)


def route(evaluate: Callable[[CaseFacts], Decision], doc: Mapping[str, Any], located: UnitInfo,
          units: Mapping[str, UnitInfo], *, at: datetime, working_time: bool) -> Routed:
    """The routing decision: the rules (``evaluate``: a rule set's, or a cached one) over the case's facts, and the
    unit that follows from it."""
    decision = evaluate(case_facts(doc, located, at, working_time))
    return Routed(decision, target_unit(units, located, decision))


class Reevaluation(StrEnum):
    """What routing did when a case's facts changed after it was routed (risk raised, reclassified)."""

    UNCHANGED = "unchanged"  # the rules still say this unit and track
    REROUTED = "rerouted"  # not accepted yet and the rules say a unit above: handed over (提级, reason rule)
    KEPT = "kept"  # the rules say otherwise, but the unit keeps the case (see ``reevaluate``)


@dataclass(frozen=True)
class Choice:
    outcome: Reevaluation
    why: str


def reevaluate(current: UnitInfo, track: Track, accepted: bool, routed: Routed) -> Choice:
    """The choice after a re-evaluation: the current unit and track against the rules' (``route`` over the changed
    facts). A case not accepted yet goes to the rules' unit when that unit is above the current one; a case a
    handler already accepted (签收) stays with its unit — the handler's work is not taken away, and the choice is
    recorded on the assignment; a case never climbs down (a lowered risk keeps its unit), and the track stays with
    the unit (a new track comes with a new assignment only)."""
    target, wanted = routed.target, routed.decision.track
    if target.id == current.id and Track(wanted) == track:
        return Choice(Reevaluation.UNCHANGED, "the rules still say this unit and track")
    if target.id == current.id:
        return Choice(Reevaluation.KEPT, f"the rules say this unit with the {Track(wanted).value} track: the unit "
                                         f"keeps the case on its {track.value} track")
    if RANK[target.level] >= RANK[current.level]:
        return Choice(Reevaluation.KEPT, f"the rules say {target.id} ({target.level.value}, {Track(wanted).value}), "
                                         "not above the current unit: a case never climbs down, the unit keeps it")
    if accepted:
        return Choice(Reevaluation.KEPT, f"the rules say {target.id} ({target.level.value}, {Track(wanted).value}), "
                                         "but the handling unit already accepted the case: it keeps it")
    return Choice(Reevaluation.REROUTED, f"the rules say {target.id} ({target.level.value}, {Track(wanted).value})")
