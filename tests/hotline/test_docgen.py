"""The 12345 interface document (docs/hotline/*.md) and the order schema in intake's OpenAPI document: the
signature test vector holds against the real verifier, the sample orders validate and broken ones do not, every
error code the signed endpoints raise is documented, and the committed files are current."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from intake_svc.hotline import contract, docgen, signing
from intake_svc.hotline.mapping import HotlineMapping

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "hotline" / "qinglan.md"
ORDERS = ROOT / "services" / "data" / "hotline_orders_dev.jsonl"
# the signature of the vector, fixed here: a change of the scheme (or of the vector) shows in this test
EXPECTED_SIGNATURE = "47d44d9eea2a8d5d0b386f299760f26deb0c330d20a4640b0c0a92738fd723b8"


def _vector() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    names = "密钥|平台编号|方法|路径|时间戳|随机数|请求体 SHA-256|签名"
    rows = dict(re.findall(rf"^\| ({names}) \| `([^`]*)` \|$", text, re.M))
    body = re.search(r"请求体（UTF-8 字节[^\n]*\n\n```json\n(.*?)\n```", text, re.S)
    assert body is not None and len(rows) == 8, rows
    return {**rows, "body": body.group(1)}


def test_signature_vector_verifies_with_the_real_verifier() -> None:
    v = _vector()
    assert v["签名"] == EXPECTED_SIGNATURE
    body = v["body"].encode()
    assert hashlib.sha256(body).hexdigest() == v["请求体 SHA-256"]
    # an integrator's own implementation of the documented string, independently of signing.canonical
    string = "\n".join([v["方法"], v["路径"], v["时间戳"], v["随机数"], v["请求体 SHA-256"]])
    assert hmac.new(v["密钥"].encode(), string.encode(), hashlib.sha256).hexdigest() == EXPECTED_SIGNATURE
    headers = {signing.CLIENT_HEADER.lower(): v["平台编号"], signing.TIMESTAMP_HEADER.lower(): v["时间戳"],
               signing.NONCE_HEADER.lower(): v["随机数"], signing.SIGNATURE_HEADER.lower(): v["签名"]}
    secrets = {v["平台编号"]: v["密钥"]}
    signed = signing.verify(headers, secrets, v["方法"], v["路径"], body, now=int(v["时间戳"]) + 10, skew_seconds=300)
    assert signed.client_id == v["平台编号"] and signed.nonce == v["随机数"]
    with pytest.raises(signing.SignatureError) as refused:
        signing.verify(headers, secrets, v["方法"], v["路径"], body.replace(b"13", b"14", 1),
                       now=int(v["时间戳"]), skew_seconds=300)
    assert refused.value.code == "bad_signature"


def _order_schema_in_openapi() -> dict[str, Any]:
    doc = json.loads((ROOT / "docs" / "openapi" / "intake.json").read_text(encoding="utf-8"))
    schema: dict[str, Any] = doc["paths"]["/api/v1/hotline/orders"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    return schema


def _samples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in ORDERS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_openapi_order_schema_is_the_mappings() -> None:
    schema = _order_schema_in_openapi()
    assert schema != {"type": "object"}
    assert schema == contract.order_schema(HotlineMapping.load("qinglan"))
    assert {"order_no", "request_type", "title", "content", "caller", "address"} <= set(schema["required"])


def test_sample_orders_validate_and_broken_ones_do_not() -> None:
    validator = jsonschema.Draft202012Validator(_order_schema_in_openapi(),
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    mapping = HotlineMapping.load("qinglan")
    samples = _samples()
    assert len(samples) >= 20
    for order in samples:
        assert not list(validator.iter_errors(order)), order["order_no"]
        assert mapping.order.apply(order)[1] == []  # and the mapping takes it
    good = samples[0]

    def broken(change: Any) -> dict[str, Any]:
        doc = copy.deepcopy(good)
        change(doc)
        return doc

    cases = {
        "no caller name": broken(lambda d: d["caller"].pop("name")),
        "no order_no": broken(lambda d: d.pop("order_no")),
        "unknown request type": broken(lambda d: d.update(request_type="抱怨")),
        "deadline out of range": broken(lambda d: d.update(deadline_days=0)),
        "deadline not an integer": broken(lambda d: d.update(deadline_days="13")),
        "time without offset": broken(lambda d: d.update(received_at="2026-11-01T08:41:15")),
        "title too long": broken(lambda d: d.update(title="长" * 201)),
        "bad order number": broken(lambda d: d.update(order_no="12 345")),
        "callback_ok not a boolean": broken(lambda d: d["caller"].update(callback_ok="yes")),
    }
    for why, doc in cases.items():
        assert list(validator.iter_errors(doc)), why
        assert mapping.order.apply(doc)[1], why  # the schema refuses what the adapter refuses


def test_every_error_code_of_the_signed_endpoints_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    hotline = ROOT / "intake_svc" / "hotline"
    raised = set()
    for path in [hotline / "api.py", hotline / "store.py", hotline / "handlers" / "orders.py",
                 hotline / "handlers" / "messages.py"]:
        raised |= set(re.findall(r'Problem\(\d{3}, "([a-z_]+)"', path.read_text()))
    raised -= {"forbidden_role"}  # staff's reconciliation by bearer token, not the platform's
    raised |= set(re.findall(r'SignatureError\(\d{3}, "([a-z_]+)"', (hotline / "signing.py").read_text()))
    documented = set(re.findall(r"^\| \d{3} \| `([a-z_]+)` \|", text, re.M))
    assert raised and raised <= documented, raised - documented
    source = (hotline / "mapping.py").read_text() + (hotline / "handlers" / "orders.py").read_text()
    field_codes = set(re.findall(r'_problem\(spec, .*?, "([a-z_]+)"\)|"code": "([a-z_]+)"}', source))
    field_codes = {a or b for a, b in field_codes} - {"nonce_replayed"}  # a header's, in the table above
    assert field_codes <= set(docgen.FIELD_ERRORS), field_codes - set(docgen.FIELD_ERRORS)


def test_callback_examples_use_the_platforms_words() -> None:
    mapping = HotlineMapping.load("qinglan")
    examples = docgen.callback_examples(mapping)
    assert {b["action_type"] for b in examples.values()} == {"签收", "退单", "延期申请", "阶段回复", "办结"}
    assert examples[next(a for a in examples if a.value == "extension_requested")]["requested_deadline"]
    text = DOC.read_text(encoding="utf-8")
    for body in examples.values():
        assert json.dumps(body, ensure_ascii=False, indent=2) in text


def test_the_committed_documents_are_current(tmp_path: Path) -> None:
    assert docgen.main(["--check"]) == 0
    (tmp_path / "qinglan.md").write_text(DOC.read_text(encoding="utf-8").replace("签收", "接收"), encoding="utf-8")
    assert docgen.main(["--check", "--out", str(tmp_path)]) == 1
