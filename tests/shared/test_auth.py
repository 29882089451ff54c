"""Bearer tokens: the shared-secret dev issuer and an OIDC provider's JWKS (a real local HTTP server)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import UNIT_ID_PATTERN, TokenVerifier, mint_token
from shared.problems import Problem
from shared.settings import ServiceSettings

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "idp-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "u1", "name": "张三", "roles": ["mediator"], "unit_id": "C1", "iss": "https://idp.test",
            "aud": "fengqiao", "iat": now, "exp": now + 60, **extra}


def test_tokens_from_an_oidc_provider_are_verified_against_its_jwks(jwks_url: str) -> None:
    settings = ServiceSettings(env="test", jwt_jwks_url=jwks_url, jwt_issuer="https://idp.test",
                               pii_transport_key="x" * 44)
    verifier = TokenVerifier(settings)
    token = jwt.encode(_claims(), KEY, algorithm="RS256", headers={"kid": "idp-1"})
    principal = verifier.verify(token)
    assert (principal.sub, principal.unit_id, principal.roles) == ("u1", "C1", frozenset({"mediator"}))

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Problem) as e:
        verifier.verify(jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "idp-1"}))
    assert e.value.status == 401 and e.value.code == "invalid_token"
    with pytest.raises(Problem) as e:
        verifier.verify(jwt.encode(_claims(exp=int(time.time()) - 10), KEY, algorithm="RS256",
                                   headers={"kid": "idp-1"}))
    assert e.value.code == "token_expired"


def test_shared_secret_tokens_check_issuer_and_audience() -> None:
    settings = ServiceSettings(env="dev")
    verifier = TokenVerifier(settings)
    assert verifier.verify(mint_token(settings, sub="a", roles=["operator"], unit_id="S1")).unit_id == "S1"
    wrong_aud = jwt.encode(_claims(iss=settings.jwt_issuer, aud="another-app"), settings.jwt_secret, "HS256")
    with pytest.raises(Problem, match=r"(?i)audience"):
        verifier.verify(wrong_aud)


DROP = object()  # a claim left out of the token


def _dev_token(settings: ServiceSettings, **claims: object) -> str:
    now = int(time.time())
    base: dict[str, object] = {"sub": "u1", "name": "张三", "roles": ["mediator"], "unit_id": "C1",
                               "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now, "exp": now + 60}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not DROP}, settings.jwt_secret, algorithm="HS256")


@pytest.mark.parametrize(("claims", "claim"), [
    ({"roles": 7}, "roles"),
    ({"roles": [["mediator"]]}, "roles"),
    ({"roles": {"admin": True}}, "roles"),  # an object is not read as its keys
    ({"roles": "admin"}, "roles"),  # a list, not one string
    ({"roles": ["mediator", "superuser"]}, "roles"),  # only the roles we know
    ({"roles": None}, "roles"),
    ({"unit_id": 7}, "unit_id"),
    ({"unit_id": ""}, "unit_id"),
    ({"unit_id": "C1 OR 1=1"}, "unit_id"),
    ({"unit_id": ["C1"]}, "unit_id"),
    ({"sub": ""}, "sub"),
    ({"name": 5}, "name"),
])
def test_malformed_claims_are_an_invalid_token_naming_the_claim(claims: dict[str, object], claim: str) -> None:
    settings = ServiceSettings(env="dev")
    with pytest.raises(Problem) as e:
        TokenVerifier(settings).verify(_dev_token(settings, **claims))
    assert (e.value.status, e.value.code) == (401, "invalid_token")
    assert claim in e.value.detail
    assert e.value.errors and {err["field"].split(".")[1] for err in e.value.errors} == {claim}
    assert all("input" not in err for err in e.value.errors) and "superuser" not in e.value.detail  # no value echoed


def test_well_formed_claims_are_read_as_they_are() -> None:
    settings = ServiceSettings(env="dev")
    verifier = TokenVerifier(settings)
    p = verifier.verify(_dev_token(settings, roles=["grid_worker", "mediator"], unit_id="B-G01-1", tenant="x"))
    assert (p.sub, p.name, p.roles, p.unit_id) == ("u1", "张三", frozenset({"grid_worker", "mediator"}), "B-G01-1")
    assert all(type(r) is str for r in p.roles) and p.claims["tenant"] == "x"
    # optional claims: no roles (sees nothing), no unit (403 no_unit where a unit is needed), no name
    p = verifier.verify(_dev_token(settings, roles=DROP, unit_id=DROP, name=DROP))
    assert (p.roles, p.unit_id, p.name) == (frozenset(), None, "")
    with pytest.raises(Problem) as e:
        p.scope_unit()
    assert (e.value.status, e.value.code) == (403, "no_unit")
    assert verifier.verify(_dev_token(settings, unit_id=None)).unit_id is None  # what mint_token sends for admins


def test_the_unit_id_pattern_is_the_orgs() -> None:
    from routing_svc.schemas import ID_PATTERN

    assert UNIT_ID_PATTERN == ID_PATTERN
