"""Inbound work orders over the real stack: signatures, validation, idempotency and what the case carries.

Requests are signed with the simulator's signing code (written apart from intake's), so both are checked.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx

from services.hotline_sim import sign_headers
from shared.auth import Role
from shared.db import asyncpg_dsn
from tests.hotline.conftest import CLIENT_ID, SECRET, HotlineEnv
from tests.shared.test_api_rules import assert_problem
from tests.support import auth, unique_phone

PATH = "/api/v1/hotline/orders"


def make_order(**overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    # a flat of its own (a home is never a shared place, so test orders are not one matter: 一件事只立一案)
    order: dict[str, Any] = {
        "order_no": f"12345-T-{tag}", "received_at": "2026-11-20T09:00:00+08:00", "request_type": "求助",
        "category_hint": "排水设施", "title": "小区下水道堵塞",
        "content": f"市民来电反映下水道堵塞外溢，请求疏通。{tag}",
        "caller": {"name": "测试某", "phone": unique_phone(), "callback_ok": True},
        "address": f"青澜区鹭鸣街道桂园新村14号楼{int(tag, 16) % 900000 + 100}室",
        "deadline_days": 5, "urgency": "normal",
    }
    order.update(overrides)
    return order


async def post_signed(env: HotlineEnv, body: bytes, path: str = PATH, *, secret: str = SECRET,
                      client_id: str = CLIENT_ID, headers: dict[str, str] | None = None, **sign: Any
                      ) -> httpx.Response:
    signed = headers or sign_headers(client_id, secret, "POST", path, body, **sign)
    return await env.intake.post(path, content=body, headers={**signed, "Content-Type": "application/json"})


def encode(order: dict[str, Any]) -> bytes:
    return json.dumps(order, ensure_ascii=False).encode()


async def test_an_order_becomes_a_hotline_case_and_a_repush_returns_the_same_case(env: HotlineEnv) -> None:
    order = make_order(urgency="urgent", deadline_days=1, request_type="投诉")
    r = await post_signed(env, encode(order))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["order_no"] == order["order_no"] and first["repeated"] is False
    again = await post_signed(env, encode(order))  # a new nonce: the platform pushing the order again
    assert again.status_code == 200, again.text
    assert again.json()["case_id"] == first["case_id"] and again.json()["repeated"] is True

    case = await env.case(first["case_id"])
    assert case["channel"] == "hotline_12345" and case["request_type"] == "complaint"
    assert case["category"] == "municipal.drainage"  # the platform's hint, mapped declaratively
    assert case["external_ref"] == order["order_no"]
    applicant = case["parties"][0]
    assert applicant["role"] == "applicant" and applicant["phone"] == order["caller"]["phone"][:3] + "****" + \
        order["caller"]["phone"][-4:]  # protected like every party
    conn = await asyncpg.connect(asyncpg_dsn(env.database_url))
    try:
        row = await conn.fetchrow("SELECT payload FROM intake.outbox WHERE key = $1 AND ce_type = $2",
                                  first["case_id"], "fq.case.received.v1")
    finally:
        await conn.close()
    payload = json.loads(row["payload"])
    assert payload["channel"] == "hotline_12345"
    assert payload["urgent"] is True and payload["deadline_days"] == 1
    assert order["caller"]["phone"] not in row["payload"] and "测试某" not in row["payload"]


async def test_concurrent_pushes_of_one_order_make_one_case(env: HotlineEnv) -> None:
    body = encode(make_order())
    answers = await asyncio.gather(*(post_signed(env, body) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["case_id"] for a in answers}) == 1


async def test_wrong_signature_is_401(env: HotlineEnv) -> None:
    r = await post_signed(env, encode(make_order()), secret="not-the-platform-secret-000000")
    body = assert_problem(r, 401, "bad_signature")
    assert body["errors"][0]["field"] == "header.x-hotline-signature"


async def test_a_body_changed_after_signing_is_401(env: HotlineEnv) -> None:
    order = make_order()
    headers = sign_headers(CLIENT_ID, SECRET, "POST", PATH, encode(order))
    order["deadline_days"] = 30
    assert_problem(await post_signed(env, encode(order), headers=headers), 401, "bad_signature")


async def test_a_signature_for_another_path_is_401(env: HotlineEnv) -> None:
    body = encode(make_order())
    headers = sign_headers(CLIENT_ID, SECRET, "POST", "/api/v1/hotline/orders/x/urge", body)
    assert_problem(await post_signed(env, body, headers=headers), 401, "bad_signature")


async def test_stale_timestamps_are_401(env: HotlineEnv) -> None:
    for shift in (-400, 400):  # the allowed skew is ±300 s
        r = await post_signed(env, encode(make_order()), timestamp=int(time.time()) + shift)
        assert assert_problem(r, 401, "stale_timestamp")["errors"][0]["field"] == "header.x-hotline-timestamp"


async def test_replayed_nonce_is_409(env: HotlineEnv) -> None:
    body = encode(make_order())
    headers = sign_headers(CLIENT_ID, SECRET, "POST", PATH, body)
    assert (await post_signed(env, body, headers=headers)).status_code == 201
    body2 = assert_problem(await post_signed(env, body, headers=headers), 409, "nonce_replayed")
    assert body2["errors"][0]["field"] == "header.x-hotline-nonce"


async def test_unknown_client_and_missing_headers_are_401(env: HotlineEnv) -> None:
    assert_problem(await post_signed(env, encode(make_order()), client_id="other-city"), 401, "unknown_client")
    r = await env.intake.post(PATH, content=encode(make_order()), headers={"Content-Type": "application/json"})
    assert_problem(r, 401, "signature_missing")
    # a staff token is no way in either
    r = await env.intake.post(PATH, content=encode(make_order()), headers=auth(Role.ADMIN, None))
    assert_problem(r, 401, "signature_missing")


async def test_malformed_bodies_are_422_naming_the_platform_field(env: HotlineEnv) -> None:
    cases: list[tuple[bytes, str]] = [
        (b"{not json", "body"),
        (encode([1, 2]), "body"),
        (encode({k: v for k, v in make_order().items() if k != "title"}), "title"),
        (encode(make_order(request_type="表扬")), "request_type"),
        (encode(make_order(caller={"name": "测试某", "phone": "12345"})), "caller.phone"),
        (encode(make_order(caller={"phone": unique_phone()})), "caller.name"),
        (encode(make_order(deadline_days="three")), "deadline_days"),
        (encode(make_order(deadline_days=0)), "deadline_days"),
        (encode(make_order(received_at="2026-11-20 09:00")), "received_at"),
        (encode(make_order(urgency="very")), "urgency"),
        (encode(make_order(order_no="工单/1")), "order_no"),
    ]
    for body, field in cases:
        r = await post_signed(env, body)
        problem = assert_problem(r, 422, "validation_failed")
        assert field in [e["field"] for e in problem["errors"]], (field, problem)


async def test_an_unknown_category_hint_is_classified_from_the_text(env: HotlineEnv) -> None:
    r = await post_signed(env, encode(make_order(category_hint="其他", title="邻居装修噪音",
                                                 content=f"楼上装修噪音很大，深夜施工扰民。{uuid.uuid4().hex}")))
    assert r.status_code == 201, r.text
    case = await env.case(r.json()["case_id"])
    assert case["classified_by"] == "classifier" and case["category"]
