"""Pure parts of the hotline adapter: the city mapping, request signing, back-off and handler composition."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from intake_svc.consumers import CONSUMERS
from intake_svc.handlers import workflow
from intake_svc.hotline import signing
from intake_svc.hotline.handlers import callbacks
from intake_svc.hotline.mapping import HotlineMapping, MappingError
from intake_svc.hotline.sender import SenderSettings, backoff
from services.hotline_sim import sign_headers
from shared.bus.handlers import bind, merge
from shared.events import CaseAccepted, CaseAssigned, CaseExtensionRequested, CaseResolved, CaseReturned
from shared.taxonomy import Taxonomy
from tests.hotline.conftest import ORDERS

MAPPING = HotlineMapping.load("qinglan")


def test_every_sample_order_maps_without_errors() -> None:
    for order in ORDERS:
        fields, errors = MAPPING.order.apply(order)
        assert errors == [], (order["order_no"], errors)
        assert fields["order_no"] == order["order_no"] and fields["description"] == order["content"]
        assert fields["caller_name"] == order["caller"]["name"] and fields["address"] == order["address"]
    urgent = [MAPPING.order.apply(o)[0] for o in ORDERS if o["urgency"] == "urgent"]
    assert urgent and all(f["urgent"] is True and f["deadline_days"] == 1 for f in urgent)


def test_mapped_categories_are_taxonomy_codes() -> None:
    taxonomy = Taxonomy.default()
    spec = next(f for f in MAPPING.order.fields if f.target == "category")
    assert spec.values and all(taxonomy.is_valid(code) for code in spec.values.values())


def test_errors_name_the_platform_field() -> None:
    order = {**ORDERS[0], "caller": {"phone": 1}, "urgency": "asap", "deadline_days": True}
    del order["title"]
    _, errors = MAPPING.order.apply(order)
    assert {e["field"] for e in errors} == {"title", "caller.name", "caller.phone", "urgency", "deadline_days"}
    _, errors = MAPPING.order.apply([order])
    assert errors == [{"field": "body", "reason": "must be a JSON object", "code": "object_type"}]


def test_another_city_is_a_new_mapping_not_new_code() -> None:
    other = HotlineMapping.parse({
        "name": "haibin",
        "order": {"order_no": {"from": "gdbh", "required": True}, "request_type": {"from": "sqlx", "values": {
            "1": "complaint", "2": "consult"}}, "title": {"from": "bt"}, "description": {"from": "nr"},
                  "caller_name": {"from": "ldr.xm"}, "address": {"from": "dz"}},
        "callback": {"actions": {"accepted": "QS", "returned": "TD", "extension_requested": "YQ", "progress": "JD",
                                 "resolved": "BJ"}, "fields": {"order_no": "gdbh", "action": "czlx", "text": "nr"}},
    })
    fields, errors = other.order.apply({"gdbh": "HB-1", "sqlx": 2, "bt": "咨询", "nr": "内容", "ldr": {"xm": "某"},
                                        "dz": "海滨区"})
    assert errors == [] and fields["request_type"] == "consult" and fields["caller_name"] == "某"
    body = other.callback_body({"order_no": "HB-1", "action": "resolved", "seq": 3, "text": "已办结", "unit": None})
    assert body == {"gdbh": "HB-1", "czlx": "BJ", "nr": "已办结"}
    with pytest.raises(MappingError):
        HotlineMapping.parse({"name": "broken", "order": {"order_no": {"from": "x"}},
                              "callback": {"actions": {}, "fields": {}}})


def test_our_callbacks_in_the_platform_words() -> None:
    body = MAPPING.callback_body({"order_no": "12345-1", "action": "accepted", "seq": 1,
                                  "at": "2026-11-23T01:00:00+00:00", "case_code": "FQ-20261123-000001",
                                  "unit": "松涛社区第一网格", "text": None})
    assert body == {"order_no": "12345-1", "action_type": "签收", "seq": 1, "action_time": "2026-11-23T01:00:00+00:00",
                    "street_case_no": "FQ-20261123-000001", "handling_unit": "松涛社区第一网格"}


def _headers(**kw: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in sign_headers("c1", "s" * 20, "POST", "/p", b"{}", **kw).items()}


def test_signature_of_the_simulator_verifies_and_every_refusal_has_its_code() -> None:
    now = 1_800_000_000
    ok = signing.verify(_headers(timestamp=now), {"c1": "s" * 20}, "POST", "/p", b"{}", now, 300)
    assert ok.client_id == "c1"
    refusals = {
        "bad_signature": (_headers(timestamp=now), "POST", "/p", b'{"x":1}', now),
        "stale_timestamp": (_headers(timestamp=now - 301), "POST", "/p", b"{}", now),
        "signature_missing": ({}, "POST", "/p", b"{}", now),
    }
    for code, (headers, method, path, body, at) in refusals.items():
        with pytest.raises(signing.SignatureError) as err:
            signing.verify(headers, {"c1": "s" * 20}, method, path, body, at, 300)
        assert err.value.code == code and err.value.status == 401
    with pytest.raises(signing.SignatureError) as err:
        signing.verify(_headers(timestamp=now), {"c2": "s" * 20}, "POST", "/p", b"{}", now, 300)
    assert err.value.code == "unknown_client"
    with pytest.raises(signing.SignatureError) as err:  # the method is signed too
        signing.verify(_headers(timestamp=now), {"c1": "s" * 20}, "PUT", "/p", b"{}", now, 300)
    assert err.value.code == "bad_signature"
    ours = signing.signed_headers("c1", "s" * 20, "POST", "/p", b"{}", now)
    assert signing.verify({k.lower(): v for k, v in ours.items()}, {"c1": "s" * 20}, "POST", "/p", b"{}", now, 300)


def test_backoff_doubles_and_is_capped() -> None:
    s = SenderSettings(backoff_seconds=2, backoff_max_seconds=30)
    assert [backoff(s, n) for n in (1, 2, 3, 4, 5, 6)] == [timedelta(seconds=x) for x in (2, 4, 8, 16, 30, 30)]


async def test_composed_handlers_run_in_order_for_shared_types() -> None:
    calls: list[str] = []

    def step(name: str) -> Any:
        async def run(ctx: Any, event: Any) -> None:
            calls.append(name)
        return run

    merged = merge({CaseAssigned: step("intake-a"), CaseAccepted: step("intake-b")},
                   {CaseAssigned: step("hotline-a"), CaseReturned: step("hotline-c")})
    handlers = bind(merged, None)
    assert set(handlers) == {CaseAssigned.ce_type, CaseAccepted.ce_type, CaseReturned.ce_type}
    for t in (CaseAssigned, CaseAccepted, CaseReturned):
        await handlers[t.ce_type](None, None, None)  # type: ignore[arg-type]
    assert calls == ["intake-a", "hotline-a", "intake-b", "hotline-c"]
    assert json.dumps(calls)  # plain data
    # intake's map: its own handler first, the 12345 adapter's second, for every type both handle
    assert CONSUMERS[CaseAssigned] == (workflow.on_case_assigned, callbacks.on_case_assigned)
    assert CONSUMERS[CaseResolved] == (workflow.on_case_resolved, callbacks.on_case_resolved)
    assert CONSUMERS[CaseExtensionRequested] == (callbacks.on_extension_requested,)
