"""Malformed claims in a correctly signed token, sent to each of the four services over the real stack: a 401
``invalid_token`` naming the claim (never a 500, never a half-read token); and a token naming no unit gets the
same 403 ``no_unit`` on notify's inbox as everywhere else."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from shared.settings import ServiceSettings
from tests.support import JWT_SECRET, Stack, auth, eventually

# one protected endpoint per service, each answering 200 to a well-formed token
ENDPOINTS = {"intake": "/api/v1/cases", "routing": "/api/v1/assignments", "notify": "/api/v1/inbox",
             "analytics": "/api/v1/kpis"}
MALFORMED = [({"roles": 7}, "roles"), ({"roles": [["street_admin"]]}, "roles"),
             ({"roles": {"street_admin": True}}, "roles"), ({"unit_id": 7}, "unit_id")]


def _signed(**claims: object) -> dict[str, str]:
    settings = ServiceSettings(env="test", jwt_secret=JWT_SECRET, pii_transport_key="x" * 44)
    now = int(time.time())
    body = {"sub": "claims-probe", "name": "探针", "roles": ["street_admin"], "unit_id": "S1",
            "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now, "exp": now + 300, **claims}
    return {"Authorization": f"Bearer {jwt.encode(body, JWT_SECRET, algorithm='HS256')}"}


async def test_a_well_formed_token_passes_everywhere(stack: Stack) -> None:
    for service, path in ENDPOINTS.items():
        async def ok(service: str = service, path: str = path) -> httpx.Response | None:
            r: httpx.Response = await getattr(stack, service).get(path, headers=_signed())
            return r if r.status_code == 200 else None

        # analytics knows S1 once the org's events reached it
        await eventually(ok, timeout=60, what=f"200 from {service}")


@pytest.mark.parametrize(("claims", "claim"), MALFORMED, ids=["roles-int", "roles-nested", "roles-object",
                                                              "unit_id-int"])
async def test_malformed_claims_are_401_on_every_service(stack: Stack, claims: dict[str, object],
                                                         claim: str) -> None:
    for service, path in ENDPOINTS.items():
        r = await getattr(stack, service).get(path, headers=_signed(**claims))
        assert r.status_code == 401, (service, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["code"] == "invalid_token" and claim in body["detail"], (service, body)
        assert {tuple(e["field"].split(".")[:2]) for e in body["errors"]} == {("claims", claim)}
        assert r.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_naming_no_unit_is_403_no_unit_on_the_inbox(stack: Stack) -> None:
    no_unit = auth("grid_worker", None, "no-unit-probe")
    for path in ("/api/v1/inbox", "/api/v1/inbox/unread-count", "/api/v1/inbox/stream"):
        r = await stack.notify.get(path, headers=no_unit)
        assert (r.status_code, r.json()["code"]) == (403, "no_unit"), (path, r.text)
    r = await stack.notify.post("/api/v1/inbox/00000000-0000-0000-0000-000000000000/read", headers=no_unit)
    assert (r.status_code, r.json()["code"]) == (403, "no_unit"), r.text
    r = await stack.notify.get("/api/v1/notifications", params={"case_id": "00000000-0000-0000-0000-000000000000"},
                               headers=auth("community_admin", None, "no-unit-admin-probe"))
    assert (r.status_code, r.json()["code"]) == (403, "no_unit"), r.text
    # as on the other services
    r = await stack.intake.get("/api/v1/cases", headers=no_unit)
    assert (r.status_code, r.json()["code"]) == (403, "no_unit"), r.text
    # a global role needs no unit
    r = await stack.notify.get("/api/v1/inbox", headers=auth("admin", None, "admin-probe"))
    assert r.status_code == 200, r.text
