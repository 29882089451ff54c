"""Notify keeps a case's facts — code, assignment, units, 包案领导 — as upserts queued on the consumer batch (one
statement per batch). A routed red case's received, assigned and leader_set events usually share a batch: the
leader must still be on the row, and a later handler of the same batch must read it, over the real database."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from notify_svc.handlers import cases, people
from notify_svc.tables import CaseInfo, Delivery
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.clock import FrozenClock
from shared.events import CaseEscalated, CaseLeaderSet, CaseReceived, Envelope, Event, envelope_for
from shared.events.case import Channel, EscalationReason, Level, LocationRef, RequestType, RiskLevel
from shared.events.case_people import LeaderHow
from tests.notify.conftest import notify_deps
from tests.notify.test_inbox import assigned
from tests.support import Stack


def _ctx(session: object, s: Stack, event: Event) -> EventContext:
    env = envelope_for(event, "/fengqiao/test")
    return EventContext(session, Envelope(**env.model_dump()), notify_deps(s))  # type: ignore[arg-type]


async def _row(s: Stack, case_id: uuid.UUID) -> CaseInfo:
    async with s.apps["notify"].state.runtime.session() as session:
        info = await session.get(CaseInfo, case_id)
    assert info is not None
    return info


async def test_received_assigned_and_leader_in_one_batch_and_an_escalation_after_them(
        nstack: Stack, clock: FrozenClock) -> None:
    a = assigned(unit="G01", clock=clock).model_copy(update={"case_code": "FQ-T-LEAD"})
    received = CaseReceived(case_id=a.case_id, at=clock.now(), code="FQ-T-LEAD", channel=Channel.WALK_IN,
                            request_type=RequestType.DISPUTE, risk_level=RiskLevel.RED,
                            location=LocationRef(grid_id="G02"))
    leader = CaseLeaderSet(case_id=a.case_id, at=clock.now(), assignment_id=a.assignment_id, case_code="FQ-T-LEAD",
                           leader_id="U-S1-1", title="街道书记", how=LeaderHow.AUTO, set_by="routing")
    escalated = CaseEscalated(case_id=a.case_id, at=clock.now(), assignment_id=a.assignment_id, from_unit_id="G01",
                              from_level=Level.GRID, to_unit_id="C1", to_level=Level.COMMUNITY,
                              reason=EscalationReason.REQUEST, escalated_by="U-G01-1")
    runtime = nstack.apps["notify"].state.runtime
    async with runtime.session() as session, pending.transaction(session):
        await cases.on_case_received(_ctx(session, nstack, received), received)
        await cases.on_case_assigned(_ctx(session, nstack, a), a)
        await people.on_case_leader_set(_ctx(session, nstack, leader), leader)
        # nothing was written early for the leader: the batch's facts are still queued
        assert pending.has_pending(session)
        await cases.on_case_escalated(_ctx(session, nstack, escalated), escalated)

    info = await _row(nstack, a.case_id)
    # the assignment's unit and path replace the received grid's; both join the units that read the log
    assert (info.case_code, info.assignment_id, info.unit_id) == ("FQ-T-LEAD", a.assignment_id, "G01")
    assert list(info.unit_path) == ["D1", "S1", "C1", "G01"] and {"G01", "G02"} <= set(info.visible_units)
    assert info.leader_id == "U-S1-1"
    async with runtime.session() as session:
        told = {(d.rule_id, d.recipient_id) for d in (await session.execute(
            select(Delivery).where(Delivery.case_id == a.case_id))).scalars()}
    assert {("leader_set.leader", "U-S1-1"), ("escalated.leader", "U-S1-1")} <= told


async def test_a_late_registration_keeps_the_assigned_path_and_a_leader_keeps_the_rest(
        nstack: Stack, clock: FrozenClock) -> None:
    """Each event its own batch: a received event after the assignment (its facts came first) changes only the
    code; a leader set later changes only the leader."""
    a = assigned(unit="G01", clock=clock)
    received = CaseReceived(case_id=a.case_id, at=clock.now(), code="FQ-T-LATE", channel=Channel.PHONE,
                            request_type=RequestType.DISPUTE, location=LocationRef(grid_id="G02"))
    leader = CaseLeaderSet(case_id=a.case_id, at=clock.now(), assignment_id=a.assignment_id,
                           case_code="FQ-T-LATE", leader_id="U-C1-1", how=LeaderHow.MANUAL, set_by="U-S1-1")
    runtime = nstack.apps["notify"].state.runtime
    for handler, event in ((cases.on_case_assigned, a), (cases.on_case_received, received),
                           (people.on_case_leader_set, leader)):
        async with runtime.session() as session, pending.transaction(session):
            await handler(_ctx(session, nstack, event), event)  # type: ignore[operator]
    info = await _row(nstack, a.case_id)
    assert (info.case_code, info.assignment_id, info.unit_id, info.leader_id) == (
        "FQ-T-LATE", a.assignment_id, "G01", "U-C1-1")
    assert list(info.unit_path) == ["D1", "S1", "C1", "G01"]
