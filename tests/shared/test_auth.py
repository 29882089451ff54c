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

from shared.auth import TokenVerifier, mint_token
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
