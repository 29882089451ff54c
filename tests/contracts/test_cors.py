"""CORS on the four services (``FQ_CORS_ORIGINS``, shared/runtime.py): a browser app on an allowed origin gets its
preflight and its simple requests answered with that origin; a foreign origin gets no CORS header, so its browser
refuses the answer; in production settings no origin at all is allowed unless configured (behind the one origin,
deploy/k8s/ingress.yaml, a browser never needs CORS)."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import pytest

from services.registry import SERVICES
from shared.auth import Role
from tests.support import auth, settings_for

ALLOWED = "https://app.fengqiao.example.gov.cn"
FOREIGN = "https://evil.example.com"
# a protected operation per service: answered 401 without a token, before any database is needed
PROTECTED = {"intake": "/api/v1/cases", "routing": "/api/v1/me", "notify": "/api/v1/inbox",
             "analytics": "/api/v1/kpis"}
NOWHERE = ("postgresql://nobody@127.0.0.1:1/none", "127.0.0.1:1")


def _client(svc: Any, **overrides: Any) -> httpx.AsyncClient:
    """The service's real app (no lifespan: nothing here reaches the database or the broker)."""
    app = importlib.import_module(f"{svc.package}.app").create_app(settings_for(svc, *NOWHERE, **overrides))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{svc.name}")


def _preflight(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key, if-match"}


@pytest.mark.parametrize("svc", SERVICES, ids=[s.name for s in SERVICES])
async def test_an_allowed_origin_passes_and_a_foreign_one_does_not(svc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FQ_CORS_ORIGINS", f'["{ALLOWED}"]')  # the variable itself, as deployed
    path = PROTECTED[svc.name]
    async with _client(svc) as client:
        assert client._transport.app.state.settings.cors_origins == [ALLOWED]  # type: ignore[attr-defined]
        ok = await client.options(path, headers=_preflight(ALLOWED))
        assert ok.status_code == 200, ok.text
        assert ok.headers["access-control-allow-origin"] == ALLOWED
        allowed_headers = ok.headers["access-control-allow-headers"].lower()
        for header in ("authorization", "content-type", "idempotency-key", "if-match"):
            assert header in allowed_headers
        assert "POST" in ok.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in ok.headers  # bearer tokens, no cookies

        foreign = await client.options(path, headers=_preflight(FOREIGN))
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers

        # simple requests: the answer (a problem, here) carries the origin only for the allowed one
        simple = await client.get(path, headers={"Origin": ALLOWED})
        assert simple.status_code == 401 and simple.headers["content-type"].startswith("application/problem+json")
        assert simple.headers["access-control-allow-origin"] == ALLOWED
        exposed = simple.headers["access-control-expose-headers"].lower()
        assert {"etag", "location", "retry-after"} <= {h.strip() for h in exposed.split(",")}
        served = await client.get("/healthz", headers={"Origin": ALLOWED, **auth(Role.ADMIN, None)})
        assert served.status_code == 200 and served.headers["access-control-allow-origin"] == ALLOWED
        other = await client.get(path, headers={"Origin": FOREIGN})
        assert other.status_code == 401
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("svc", SERVICES, ids=[s.name for s in SERVICES])
async def test_no_origin_is_allowed_by_default_in_production(svc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FQ_CORS_ORIGINS", raising=False)
    async with _client(svc, env="prod") as client:
        settings = client._transport.app.state.settings  # type: ignore[attr-defined]
        assert settings.env == "prod" and settings.cors_origins == []
        for origin in (ALLOWED, FOREIGN, "http://localhost:3000"):
            preflight = await client.options(PROTECTED[svc.name], headers=_preflight(origin))
            assert preflight.status_code in (400, 405)
            assert not any(h.startswith("access-control-") for h in preflight.headers), preflight.headers
            simple = await client.get(PROTECTED[svc.name], headers={"Origin": origin})
            assert simple.status_code == 401
            assert not any(h.startswith("access-control-") for h in simple.headers), simple.headers
