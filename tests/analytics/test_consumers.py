"""Analytics' event map: every case event the fold knows reaches the projection's batch, the org's units theirs, and
the closures and 回头看 recurrences reach 复发率's rows."""

from __future__ import annotations

from analytics_svc.consumers import CONSUMERS
from analytics_svc.domain.fold import FOLDS
from analytics_svc.handlers import facts, recurrence, units
from shared.events import CaseClosed, LookbackRecurred, UnitUpserted


def test_every_folded_event_is_consumed_into_the_batch() -> None:
    assert {e for e, h in CONSUMERS.items() if h is facts.on_case_event} == set(FOLDS) - {CaseClosed}
    assert CONSUMERS[CaseClosed] is recurrence.on_case_closed  # folds it (facts.on_case_event) and records the closure
    assert CONSUMERS[LookbackRecurred] is recurrence.on_lookback_recurred
    assert CONSUMERS[UnitUpserted] is units.on_unit_upserted
    assert set(CONSUMERS) == {*FOLDS, UnitUpserted, LookbackRecurred}
