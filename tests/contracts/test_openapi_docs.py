"""The committed OpenAPI documents (docs/openapi/): current, complete where it can be checked, one owner per path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared import openapi_export
from shared.openapi import BEARER, HMAC

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
SERVICES = ("intake", "routing", "notify", "analytics")
# every service answers these itself; the gateway does not route them (each pod is probed on its own)
PER_SERVICE = {"/healthz", "/readyz", "/metrics"}


def _committed() -> dict[str, dict[str, Any]]:
    return {name: json.loads((DOCS / f"{name}.json").read_text()) for name in SERVICES}


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_the_committed_documents_are_current() -> None:
    """``make lint`` runs the same check; ``make docs`` regenerates them."""
    assert openapi_export.main(["--check"]) == 0, "docs/openapi/ is stale: run `make docs`"


def test_the_check_fails_on_a_stale_document(tmp_path: Path) -> None:
    for name, body in openapi_export.render().items():
        (tmp_path / name).write_text(body)
    assert openapi_export.main(["--check", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "routing.json").read_text())
    doc["paths"].pop("/api/v1/rules")
    (tmp_path / "routing.json").write_text(json.dumps(doc))
    assert openapi_export.main(["--check", "--out", str(tmp_path)]) == 1


def test_no_path_is_claimed_by_two_documents() -> None:
    owners: dict[str, list[str]] = {}
    for name, doc in _committed().items():
        for path in doc["paths"]:
            if path not in PER_SERVICE:
                owners.setdefault(path, []).append(name)
    twice = {p: names for p, names in owners.items() if len(names) > 1}
    assert not twice, f"paths in more than one document: {twice}"
    # the split the gateway relies on: routing's two case subpaths, intake's case file
    assert owners["/api/v1/cases/{case_id}/routing"] == ["routing"]
    assert owners["/api/v1/cases/{case_id}/reopen"] == ["routing"]
    assert owners["/api/v1/cases/{case_id}"] == ["intake"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_documents_its_security_and_problems(name: str) -> None:
    doc = _committed()[name]
    assert set(doc["components"]["securitySchemes"]) == {BEARER, HMAC}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids))
    for method, path, op in _operations(doc):
        where = f"{method} {path}"
        assert "_api_v1_" not in op["operationId"], where  # readable, not FastAPI's generated id
        assert op.get("tags"), where
        responses = op["responses"]
        for status in ("422", "503"):
            assert responses[status]["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"}, where
        security = op.get("security")
        if path.startswith("/api/v1/") and not path.startswith(("/api/v1/public/", "/api/v1/surveys/",
                                                                "/api/v1/inbox/stream")):
            assert security in ([{BEARER: []}], [{HMAC: []}]), f"{where} declares no security"
        if security == [{BEARER: []}]:
            assert {"401", "403"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in op.get("parameters", [])):
            assert {"409", "412", "428"} <= set(responses), where
    hotline = [op for _, path, op in _operations(doc) if path.startswith("/api/v1/hotline/orders")
               and op.get("security") == [{HMAC: []}]]
    assert (len(hotline) > 0) == (name == "intake")
