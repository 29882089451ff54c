from __future__ import annotations

import pytest
from pydantic import ValidationError

from intake_svc.settings import IntakeSettings
from shared.events import CATALOG, CaseReceived, Envelope, envelope_for
from shared.settings import ServiceSettings


def test_default_secrets_are_refused_outside_dev() -> None:
    assert ServiceSettings(env="dev").jwt_secret  # dev may use them
    with pytest.raises(ValidationError, match="jwt_secret"):
        ServiceSettings(env="prod", pii_transport_key="x" * 44)
    with pytest.raises(ValidationError, match="pii_keys"):
        IntakeSettings(env="test", jwt_secret="s" * 40, pii_transport_key="x" * 44)


def test_service_prefix_beats_shared_prefix_beats_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://plain/db")
    assert IntakeSettings().database_url == "postgresql://plain/db"
    monkeypatch.setenv("FQ_DATABASE_URL", "postgresql://shared/db")
    assert IntakeSettings().database_url == "postgresql://shared/db"
    monkeypatch.setenv("INTAKE_DATABASE_URL", "postgresql://own/db")
    assert IntakeSettings().database_url == "postgresql://own/db"
    monkeypatch.setenv("PORT", "1")  # plain names other than the two infrastructure ones are ignored
    assert IntakeSettings().port == 8101


def test_catalog_types_and_envelope_headers() -> None:
    assert all(t.startswith("fq.") and t.split(".")[-1].startswith("v") for t in CATALOG)
    event = CaseReceived.model_validate({
        "case_id": "8d3f1c1e-0000-4000-8000-000000000001", "at": "2026-11-23T01:00:00Z", "code": "FQ-1",
        "channel": "phone", "request_type": "help", "location": {},
    })
    env = envelope_for(event, "/fengqiao/intake")
    again = Envelope.from_headers(env.headers())
    assert again.type == "fq.case.received.v1" and again.partitionkey == str(event.case_id) == event.key()
    assert again.id == env.id
