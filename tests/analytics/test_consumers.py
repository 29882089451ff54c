"""Analytics' event map: every case event the fold knows reaches the projection's batch, the org's units theirs, and
the closures and 回头看 recurrences reach 复发率's rows."""

from __future__ import annotations

from analytics_svc.consumers import CONSUMERS
from analytics_svc.domain.fold import FOLDS
from analytics_svc.handlers import facts, people, records, recurrence, units
from shared.events import (
    AgreementSigned,
    CaseAssigned,
    CaseAssigneeSet,
    CaseClosed,
    CaseResolved,
    JudicialConfirmationRecorded,
    LookbackRecurred,
    PerformanceRecorded,
    UnitUpserted,
)

# folded events whose handler folds them (facts.on_case_event) and records something more
WRAPPED = {CaseClosed: recurrence.on_case_closed, CaseAssigned: records.on_case_assigned,
           CaseResolved: people.on_case_resolved}
RECORDS = {AgreementSigned, JudicialConfirmationRecorded, PerformanceRecorded}


def test_every_folded_event_is_consumed_into_the_batch() -> None:
    assert {e for e, h in CONSUMERS.items() if h is facts.on_case_event} == set(FOLDS) - set(WRAPPED)
    assert {e: CONSUMERS[e] for e in WRAPPED} == WRAPPED
    assert CONSUMERS[CaseAssigneeSet] is people.on_assignee_set
    assert CONSUMERS[LookbackRecurred] is recurrence.on_lookback_recurred
    assert CONSUMERS[UnitUpserted] is units.on_unit_upserted
    assert set(CONSUMERS) == {*FOLDS, UnitUpserted, LookbackRecurred, CaseAssigneeSet, *RECORDS}
