"""The citizen progress page: its rate limit keyed by the real client address, and no hint that a code exists."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import event

from intake_svc.app import create_app
from services.registry import SERVICES
from shared.auth import Role
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, auth, case_body, settings_for

OPERATOR = auth(Role.OPERATOR, "S1", "op-public")
UNKNOWN_CODE = "FQ-20200101-999999"


def _xff(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i}"}


@asynccontextmanager
async def _intake(stack: Stack, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An API-only intake replica of its own (its own limiter), with these settings, on the session's database."""
    svc = next(s for s in SERVICES if s.name == "intake")
    app = create_app(settings_for(svc, stack.database_url, stack.bootstrap, run_relay=False, run_consumer=False,
                                  **settings))
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:  # from 127.0.0.1
        yield client


async def _statuses(client: httpx.AsyncClient, headers: list[dict[str, str]]) -> list[int]:
    return [(await client.get(f"/api/v1/public/cases/{UNKNOWN_CODE}", params={"phone_last4": "0000"},
                              headers=h)).status_code for h in headers]


async def test_forwarded_for_from_an_unconfigured_address_does_not_change_the_rate_limit_key(stack: Stack) -> None:
    for settings in ({}, {"forwarded_allow_ips": "10.9.8.7, 192.0.2.0/24"}):  # none; proxies that are not us
        async with _intake(stack, **settings) as client:
            statuses = await _statuses(client, [_xff(i) for i in range(11)])
            assert statuses == [404] * 10 + [429], settings


async def test_forwarded_for_from_a_configured_proxy_is_the_client(stack: Stack) -> None:
    async with _intake(stack, forwarded_allow_ips="127.0.0.1") as client:
        assert await _statuses(client, [_xff(i) for i in range(15)]) == [404] * 15  # 15 clients behind the proxy
        # one client behind the proxy is limited, whatever it claims before the proxy's own entry
        spoofed = [{"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.99"} for i in range(11)]
        assert await _statuses(client, spoofed) == [404] * 10 + [429]
        limited = await client.get(f"/api/v1/public/cases/{UNKNOWN_CODE}", params={"phone_last4": "0000"},
                                   headers=_xff(99))
        assert_problem(limited, 429, "rate_limited")
        # the proxy's own requests (no header) are a client of their own
        assert await _statuses(client, [{}]) == [404]


@contextmanager
def _work(stack: Stack) -> Iterator[dict[str, list[Any]]]:
    """What a request costs intake: the SQL it sends and the personal data it decrypts."""
    app = stack.apps["intake"]
    seen: dict[str, list[Any]] = {"sql": [], "opened": []}
    pii = app.state.deps.pii
    real_open = pii.open

    def counting_open(sealed: str, aad: bytes = b"") -> str:
        seen["opened"].append(len(sealed))
        return real_open(sealed, aad)

    def on_sql(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen["sql"].append(statement)

    engine = app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_sql)
    pii.open = counting_open
    try:
        yield seen
    finally:
        del pii.open
        event.remove(engine, "before_cursor_execute", on_sql)


async def test_a_wrong_code_costs_the_same_work_as_a_wrong_phone(stack: Stack) -> None:
    stack.apps["intake"].state.deps.public_limiter._hits.clear()
    case = (await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()
    last4 = case["parties"][0]["phone"][-4:]
    wrong = "0000" if last4 != "0000" else "1111"
    costs = []
    for code, phone in ((case["code"], wrong), (UNKNOWN_CODE, wrong), (UNKNOWN_CODE, last4)):
        with _work(stack) as seen:
            r = await stack.intake.get(f"/api/v1/public/cases/{code}", params={"phone_last4": phone})
        assert_problem(r, 404, "case_not_found")
        costs.append(seen)
    wrong_phone, wrong_code, wrong_code_right_phone = costs
    assert len(wrong_phone["opened"]) == 1  # the applicant's phone, decrypted
    assert wrong_code["opened"] == wrong_phone["opened"]  # a sealed phone of the same length, decrypted too
    assert wrong_code["sql"] == wrong_phone["sql"] == wrong_code_right_phone["sql"]
    with _work(stack) as seen:
        ok = await stack.intake.get(f"/api/v1/public/cases/{case['code']}", params={"phone_last4": last4})
    assert ok.status_code == 200, ok.text
    assert seen["sql"][:len(wrong_phone["sql"])] == wrong_phone["sql"]  # the same lookup, then the timeline
    stack.apps["intake"].state.deps.public_limiter._hits.clear()
