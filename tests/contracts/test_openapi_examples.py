"""Examples in the four documents (issue 18): every JSON request body and every JSON 2xx response of every operation
has one (``<service>/examples.py``, merged by ``shared.openapi.merge_examples``), and every example validates
against its schema (JSON Schema 2020-12 as OpenAPI 3.1 embeds it, formats checked), so a wrong example fails here.
Users' texts in the examples are Chinese (the checker of test_no_english)."""

from __future__ import annotations

import importlib
import json
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from services.registry import SERVICES as SERVICE_INFOS
from shared.openapi import api_routes, merge_examples
from tests.contracts.test_no_english import english

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
SERVICES = ("intake", "routing", "notify", "analytics")
# fields whose values are codes, ids, addresses of machines or rule sources, not text a user reads
CJK = re.compile(r"[\u4e00-\u9fff]")
PHRASE = re.compile(r"[A-Za-z]{2,}[,.]? +[A-Za-z]{2,}")  # words and a space: dotted or snake codes are one token
EXTENSION = re.compile(r"\.[a-z0-9]{2,4}\b")  # 现场照片.jpg
CODE_FIELDS = {"address", "url", "link", "secret", "sha256", "content_type", "trigger_type", "on", "template",
               "idempotency_key", "address_key", "applicant_key", "when", "then", "deadlines", "changes"}


def _doc(name: str) -> dict[str, Any]:
    return dict(json.loads((DOCS / f"{name}.json").read_text()))


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _component(doc: dict[str, Any], schema: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The component a body's schema names: itself, an array's items, or the non-null branch of ``X | None``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name, doc["components"]["schemas"][name]
    if schema.get("type") == "array":
        return _component(doc, schema.get("items", {}))
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    return _component(doc, branches[0]) if len(branches) == 1 else None


def _bodies(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, JSON media type object) of every request body and 2xx response."""
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                if _is_json(media_type):
                    yield f"{method.upper()} {path} request {media_type}", media
            for status, response in op["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    if status.startswith("2") and _is_json(media_type):
                        yield f"{method.upper()} {path} {status} {media_type}", media


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    # the document as the root, so "#/components/schemas/…" references resolve
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]},
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _errors(doc: dict[str, Any], schema: dict[str, Any], example: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in _validator(doc, schema).iter_errors(example)]


def _texts(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and key not in CODE_FIELDS:
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in CODE_FIELDS:
                yield from _texts(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v, key)


@pytest.mark.parametrize("name", SERVICES)
def test_every_body_and_2xx_response_has_an_example(name: str) -> None:
    doc = _doc(name)
    missing, checked = [], 0
    for where, media in _bodies(doc):
        component = _component(doc, media.get("schema", {}))
        has = "example" in media or "examples" in media or (component is not None and component[1].get("examples"))
        checked += 1
        if not has:
            missing.append(where)
    assert checked > 3
    assert not missing, f"{name}: no example for:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", SERVICES)
def test_every_example_validates_against_its_schema(name: str) -> None:
    doc = _doc(name)
    wrong, count = [], 0
    for schema_name, schema in doc["components"]["schemas"].items():
        for example in schema.get("examples", []):
            count += 1
            wrong += [f"components.schemas.{schema_name}: {e}" for e in _errors(doc, schema, example)]
    for where, media in _bodies(doc):
        if "example" in media:
            count += 1
            wrong += [f"{where}: {e}" for e in _errors(doc, media.get("schema", {}), media["example"])]
    assert count > 3
    assert not wrong, "examples not matching their schemas:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", SERVICES)
def test_the_examples_users_read_are_chinese(name: str) -> None:
    """A text (a string with Chinese in it) has no English word but ids and codes; a string of several ASCII words
    is an English text. A single token (``walk_in``, ``U-G01-1``, a uuid) is a code."""
    doc = _doc(name)
    found, english_texts = 0, []
    examples = [(n, e) for n, s in doc["components"]["schemas"].items() for e in s.get("examples", [])]
    examples += [(where, media["example"]) for where, media in _bodies(doc) if "example" in media]
    for where, example in examples:
        for key, text in _texts(example):
            if CJK.search(text):
                found += 1
                if english(EXTENSION.sub("", text)):
                    english_texts.append(f"{where}.{key}: {text!r} {english(text)}")
            elif PHRASE.search(text):
                english_texts.append(f"{where}.{key}: {text!r}")
    assert found > 3
    assert not english_texts, english_texts


def test_a_wrong_example_is_caught() -> None:
    """The check above can fail: an example with a wrong type, a bad date-time, an unknown field and a bad
    enumeration value is refused, and an example for a schema the document does not have stops the document."""
    doc = _doc("intake")
    schema = doc["components"]["schemas"]["CaseCreate"]
    good = schema["examples"][0]
    assert _errors(doc, schema, good) == []
    for bad in ({**good, "title": 3}, {**good, "occurred_at": "yesterday"}, {**good, "colour": "red"},
                {**good, "channel": "carrier_pigeon"}, {k: v for k, v in good.items() if k != "description"}):
        assert _errors(doc, schema, bad), bad
    with pytest.raises(ValueError, match="NoSuchSchema"):
        merge_examples(_doc("intake"), {"NoSuchSchema": {}})
    with pytest.raises(ValueError, match="no_such_operation"):
        merge_examples(_doc("intake"), {}, {"no_such_operation": {"200": {}}})


@pytest.mark.parametrize("svc", SERVICE_INFOS, ids=[s.name for s in SERVICE_INFOS])
def test_every_request_example_is_accepted_by_the_service_itself(svc: Any) -> None:
    """Beyond the schema: each request body example passes the route's own body model (its validators too), and the
    rules documents pass the services' rule parsers, so a frontend copying an example gets no 422."""
    app = importlib.import_module(f"{svc.package}.app").create_app()
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    checked = 0
    for route in api_routes(app):  # the routes as the document sees them (routers are included lazily)
        if route.body_field is None:
            continue
        annotation = route.body_field.field_info.annotation
        models = [t for t in (annotation, *typing.get_args(annotation)) if isinstance(t, type)
                  and issubclass(t, BaseModel) and t.__name__ in schemas]
        for model in models:
            if model.__name__.startswith("Body_"):  # multipart: a file part, not JSON
                continue
            for example in schemas[model.__name__]["examples"]:
                model.model_validate(example)
                checked += 1
    assert checked >= {"intake": 10, "routing": 10, "notify": 3, "analytics": 0}[svc.name]
    ops = {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}
    if svc.name == "routing":
        from routing_svc.domain.rules import RuleSet

        RuleSet.parse(ops["put_rules"]["requestBody"]["content"]["application/json"]["example"])
        RuleSet.parse(schemas["RulesPublic"]["examples"][0]["document"])
    if svc.name == "notify":
        from notify_svc.domain.rules import RuleSet as NotifyRules
        from notify_svc.domain.templates import SPECS

        NotifyRules.parse(ops["put_rules"]["requestBody"]["content"]["application/json"]["example"],
                          frozenset(SPECS))
