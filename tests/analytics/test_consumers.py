"""Analytics' event map: every case event the fold knows reaches the projection's batch, the org's units theirs."""

from __future__ import annotations

from analytics_svc.consumers import CONSUMERS
from analytics_svc.domain.fold import FOLDS
from analytics_svc.handlers import facts, units
from shared.events import UnitUpserted


def test_every_folded_event_is_consumed_into_the_batch() -> None:
    assert {e for e, h in CONSUMERS.items() if h is facts.on_case_event} == set(FOLDS)
    assert CONSUMERS[UnitUpserted] is units.on_unit_upserted
    assert set(CONSUMERS) == {*FOLDS, UnitUpserted}
