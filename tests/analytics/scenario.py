"""A scripted week (Mon 2025-03-03 … Sun 2025-03-09, Asia/Shanghai) of cases with known outcomes.

Org: D › S › C1 › G1 (› building B1), G2;  D › S › C2 › G3;  D › S2 › C3 › G4. Each grid has an area, a
square side by side from west to east (G1 … G4), for the big screen's map.
The expected values in the tests are worked out by hand from these scripts (see each case's comment).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.case import Channel, CloseReason, EscalationReason, FeedbackResult, Level, Outcome, RiskLevel
from tests.analytics.conftest import Lab
from tests.analytics.script import Org, Script, t

WEEK = {"from": "2025-03-03", "to": "2025-03-09"}


def square(i: int) -> list[list[float]]:
    """The i-th of a row of 0.02° squares (a closed GeoJSON ring of [lng, lat])."""
    w, s, side = 120.30 + 0.02 * i, 36.05, 0.02
    return [[w, s], [w + side, s], [w + side, s + side], [w, s + side], [w, s]]


def org() -> Org:
    o = Org()
    o.add("D", Level.DISTRICT, None, "测试区")
    o.add("S", Level.STREET, "D", "测试街道")
    o.add("S2", Level.STREET, "D", "另一街道")
    o.add("C1", Level.COMMUNITY, "S", "一社区")
    o.add("C2", Level.COMMUNITY, "S", "二社区")
    o.add("C3", Level.COMMUNITY, "S2", "三社区")
    o.add("G1", Level.GRID, "C1", "一网格", square(0))
    o.add("G2", Level.GRID, "C1", "二网格", square(1))
    o.add("G3", Level.GRID, "C2", "三网格", square(2))
    o.add("G4", Level.GRID, "C3", "四网格", square(3))
    o.add("B1", Level.BUILDING, "G1", "一号楼")
    return o


@dataclass
class Week:
    org: Org
    cases: dict[str, Script]


def week(o: Org) -> Week:
    d = "2025-03-0"
    c: dict[str, Script] = {}
    # A: grid G1, accepted in 55 min, resolved at the grid on time (25 working hours), satisfied, closed
    c["A"] = (Script(o).received(t(d + "3", "09:00"), grid="G1", applicant="k1", address="addr-1")
              .assign(t(d + "3", "09:05"), "G1", building="B1")
              .accept(t(d + "3", "10:00"), resolve_due=t(d + "6", "10:00"))
              .resolve(t(d + "4", "10:00")).feedback(t(d + "5", "10:00"), FeedbackResult.SATISFIED)
              .close(t(d + "5", "10:01")))
    # B: G1 misses its accept deadline → escalated to C1 (accepted in 54 min), resolved; unsatisfied → reopened
    # at C1 (59 min), resolved; unsatisfied → reopened one level up at S (59 min), resolved there; satisfied;
    # closed. Counted once in the reopen rate; three answers, one satisfied; 95 working hours.
    b = Script(o).received(t(d + "3", "10:00"), grid="G1", category="neighbor.noise", risk=RiskLevel.YELLOW)
    b.assign(t(d + "3", "10:05"), "G1", building="B1").overdue(t(d + "3", "12:05"))  # placed in building B1
    b.escalate(t(d + "3", "12:06"), "C1", EscalationReason.TIMEOUT).accept(t(d + "3", "13:00"),
                                                                         resolve_due=t(d + "5", "13:00"))
    b.resolve(t(d + "5", "11:00")).feedback(t(d + "5", "12:00"), FeedbackResult.UNSATISFIED)
    b.reopen(t(d + "5", "12:01")).accept(t(d + "5", "13:00"), resolve_due=t(d + "7", "13:00"))
    b.resolve(t(d + "6", "10:00")).feedback(t(d + "6", "11:00"), FeedbackResult.UNSATISFIED)
    b.reopen(t(d + "6", "11:01"), to="S").accept(t(d + "6", "12:00"), resolve_due=t("2025-03-10", "12:00"))
    b.resolve(t(d + "7", "09:00")).feedback(t(d + "7", "10:00"), FeedbackResult.SATISFIED).close(t(d + "7", "10:01"))
    c["B"] = b
    # C: G2 accepts late (175 min); the resolve deadline 03-05 12:00 is extended to 03-07 12:00; resolved
    # 03-06 15:00 — on time only because of the extension; 54 working hours; no feedback yet
    c["C"] = (Script(o).received(t(d + "4", "09:00"), grid="G2", applicant="k3")
              .assign(t(d + "4", "09:05"), "G2").accept(t(d + "4", "12:00"), resolve_due=t(d + "5", "12:00"))
              .extend(t(d + "5", "09:00"), t(d + "5", "12:00"), t(d + "7", "12:00"))
              .resolve(t(d + "6", "15:00")))
    # D: G3 (C2) accepts in 60 min; no extension; failed and referred after the deadline (late); the follow-up
    # reached nobody; closed for no answer; 48 working hours
    c["D"] = (Script(o).received(t(d + "5", "09:00"), grid="G3", category="labor.wage_arrears", risk=RiskLevel.RED)
              .assign(t(d + "5", "09:05"), "G3").accept(t(d + "5", "10:05"), resolve_due=t(d + "6", "10:05"))
              .resolve(t(d + "7", "09:00"), Outcome.FAILED_REFERRED, on_time_flag=False)
              .feedback(t(d + "7", "10:00"), FeedbackResult.UNREACHED)
              .close(t(d + "7", "10:01"), CloseReason.NO_ANSWER))
    # E: G3 accepts (55 min), asks to escalate to C2, which misses its deadline → S (59 min) → the district by
    # rule (60 min); resolved at the district (credited to D, not to S); satisfied; closed
    e = Script(o).received(t(d + "5", "10:00"), grid="G3", category="labor.wage_arrears",
                           risk=RiskLevel.YELLOW)
    e.assign(t(d + "5", "10:05"), "G3").accept(t(d + "5", "11:00"), resolve_due=t(d + "6", "11:00"))
    e.escalate(t(d + "5", "14:00"), "C2").overdue(t(d + "5", "16:00"))
    e.escalate(t(d + "5", "16:01"), "S", EscalationReason.TIMEOUT).accept(t(d + "5", "17:00"),
                                                                         resolve_due=t(d + "7", "17:00"))
    e.escalate(t(d + "6", "09:00"), "D", EscalationReason.RULE).accept(t(d + "6", "10:00"),
                                                                      resolve_due=t("2025-03-10", "10:00"))
    e.resolve(t(d + "7", "15:00")).feedback(t(d + "7", "16:00"), FeedbackResult.SATISFIED).close(t(d + "7", "16:01"))
    c["E"] = e
    # F: received Sunday evening in G1 by applicant k1 again (a repeat applicant), assigned, not yet accepted
    c["F"] = (Script(o).received(t(d + "9", "19:00"), grid="G1", applicant="k1")
              .assign(t(d + "9", "19:05"), "G1", accept_hours=14))
    # G: a second report of A's matter, merged into it: not counted (一件事只立一案)
    c["G"] = Script(o).merged(t(d + "6", "10:00"), c["A"])
    # H: a 12345 order on Friday 17:00 in G2, accepted Monday 09:05: 960 working minutes (the weekend does not
    # count); resolved at the grid on time (41 working hours); satisfied
    c["H"] = (Script(o).received(t(d + "7", "17:00"), grid="G2", channel=Channel.HOTLINE_12345, applicant="k2")
              .assign(t(d + "7", "17:05"), "G2", accept_hours=72)
              .accept(t("2025-03-10", "09:05"), resolve_due=t("2025-03-12", "09:05"))
              .resolve(t("2025-03-11", "10:00")).feedback(t("2025-03-11", "11:00"), FeedbackResult.SATISFIED))
    # K: received, never assigned: in no unit's numbers, only in the global ones
    c["K"] = Script(o).received(t(d + "8", "10:00"))
    # L: the other street
    c["L"] = (Script(o).received(t(d + "4", "10:00"), grid="G4")
              .assign(t(d + "4", "10:05"), "G4").accept(t(d + "4", "10:30"), resolve_due=t(d + "5", "10:30"))
              .resolve(t(d + "4", "16:00")))
    # I: the week before (环比)
    c["I"] = (Script(o).received(t("2025-02-26", "09:00"), grid="G1")
              .assign(t("2025-02-26", "09:05"), "G1").accept(t("2025-02-26", "09:35"),
                                                              resolve_due=t("2025-02-27", "09:35"))
              .resolve(t("2025-02-26", "15:00")))
    # J: a year earlier (同比)
    c["J"] = (Script(o).received(t("2024-03-05", "09:00"), grid="G2")
              .assign(t("2024-03-05", "09:05"), "G2").accept(t("2024-03-05", "09:30"),
                                                              resolve_due=t("2024-03-06", "09:30"))
              .resolve(t("2024-03-05", "12:00"), Outcome.FAILED_REFERRED))
    return Week(o, c)


async def load(lab: Lab, w: Week) -> None:
    """Org first, then each case's intake events, then (once those are on the topic) the workflow events."""
    await lab.applied(await lab.emit(lab.routing, w.org.events()), "org applied")
    intake_ids = await lab.emit(lab.intake, [e for s in w.cases.values() for e in s.intake])
    await lab.published(lab.intake)
    routing_ids = await lab.emit(lab.routing, [e for s in w.cases.values() for e in s.routing])
    await lab.applied(intake_ids + routing_ids, "scripted week applied")
