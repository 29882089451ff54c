"""A case merged after it was routed counts in no on-time figure (按时签收率, 签收时长), whether the merge reaches
analytics after the case's assignment or before it; the rollups agree with the fact rows. Real bus, real service."""

from __future__ import annotations

from typing import Any

from analytics_svc.domain.increments import Rollup
from shared.auth import Role
from shared.events.case import CancelReason, CaseAssignmentCancelled, DeadlineClock, Level
from tests.analytics.conftest import Lab
from tests.analytics.scenario import org
from tests.analytics.script import Script, t
from tests.analytics.test_increments import rollup_differences
from tests.support import auth

DAY = "2025-04-08"  # a Tuesday


async def kpis(lab: Lab, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = await lab.stack.analytics.get("/api/v1/kpis", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_merged_cases_count_in_no_on_time_figure(lab: Lab) -> None:
    o = org()
    primary = (Script(o).received(t(DAY, "09:00"), grid="G1").assign(t(DAY, "09:01"), "G1")
               .accept(t(DAY, "09:30"), resolve_due=t("2025-04-15", "09:30")))
    # merged after routing, after a late acceptance: routing then ends its assignment (assignment_cancelled)
    late = (Script(o).received(t(DAY, "10:00"), grid="G1").assign(t(DAY, "10:01"), "G1", accept_hours=1)
            .accept(t(DAY, "16:00"), resolve_due=t("2025-04-15", "16:00")))
    # merged at intake while routing had already assigned it: the merge reaches analytics before the assignment
    early = Script(o).received(t(DAY, "11:00"), grid="G1").merged(t(DAY, "11:00"), into=primary)
    early.assign(t(DAY, "11:01"), "G1", accept_hours=1).overdue(t(DAY, "13:01"), DeadlineClock.ACCEPT,
                                                                  escalated=False)
    await lab.applied(await lab.emit(lab.routing, o.events()), "org applied")
    ids = await lab.emit(lab.intake, [*primary.intake, *late.intake, *early.intake])
    await lab.published(lab.intake)
    ids += await lab.emit(lab.routing, [*primary.routing, *late.routing, *early.routing])
    await lab.published(lab.routing)
    await lab.applied(ids, "the routed cases applied")
    street = auth(Role.STREET_ADMIN, o.id("S"))
    before = await kpis(lab, street, **{"from": DAY, "to": DAY})
    assert before["counts"]["accept_counted"] == 2 and before["accepted_on_time_rate"] == 0.5  # early is merged

    late.merged(t(DAY, "17:00"), into=primary)
    ids = await lab.emit(lab.intake, late.intake[-1:])
    await lab.published(lab.intake)
    assert late.assignment is not None
    ids += await lab.emit(lab.routing, [CaseAssignmentCancelled(
        case_id=late.case_id, at=t(DAY, "17:00"), assignment_id=late.assignment, unit_id=o.id("G1"),
        level=Level.GRID, reason=CancelReason.MERGED, primary_case_id=primary.case_id, cancelled_by="merge:op")])
    await lab.applied(ids, "the merge after routing applied")

    whole_days = await kpis(lab, street, **{"from": DAY, "to": DAY})  # read from the rollups
    window = await kpis(lab, street, **{"from": f"{DAY}T08:00:00+08:00", "to": f"{DAY}T18:00:00+08:00"})  # facts
    for k in (whole_days, window):
        assert k["received"] == 1
        assert (k["counts"]["accept_counted"], k["counts"]["accepted_on_time"]) == (1, 1)
        assert k["accepted_on_time_rate"] == 1.0 and k["median_accept_minutes"] == 29.0
    rows = await lab.analytics_sql("SELECT assignment_id, merged, left_at FROM assignment_facts "
                                   "WHERE case_id = ANY(CAST(:ids AS uuid[]))",
                                   ids=[str(late.case_id), str(early.case_id), str(primary.case_id)])
    merged = {a: m for a, m, _ in rows}
    assert merged == {late.assignment: True, early.assignment: True, primary.assignment: False}
    assert next(left for a, _, left in rows if a == late.assignment) == t(DAY, "17:00")
    async with lab.stack.apps["analytics"].state.runtime.session() as s:
        assert (await rollup_differences(s))[Rollup.ASSIGN.value] == ([], [])
