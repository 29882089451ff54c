"""Bearer JWT authentication, roles and unit-subtree scope (design section 8)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from shared.observability import PRINCIPAL_STATE
from shared.problems import Problem
from shared.settings import ServiceSettings


class Role(StrEnum):
    OPERATOR = "operator"  # 受理窗口
    GRID_WORKER = "grid_worker"
    MEDIATOR = "mediator"
    COMMUNITY_ADMIN = "community_admin"
    STREET_ADMIN = "street_admin"
    DISTRICT_VIEWER = "district_viewer"
    DISTRICT_ADMIN = "district_admin"  # 区综治中心: handles escalated cases and decides streets' 延期
    ADMIN = "admin"
    SERVICE = "service"


# The org's unit ids (routing's ``ID_PATTERN``, at most 64 characters): a token's ``unit_id`` is one of them.
UNIT_ID_PATTERN = r"^[A-Za-z0-9_\-]+$"

# Roles that see everything regardless of unit.
GLOBAL_ROLES = frozenset({Role.ADMIN, Role.SERVICE})


@dataclass(frozen=True)
class Principal:
    sub: str
    name: str
    roles: frozenset[str]
    unit_id: str | None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_global(self) -> bool:
        return self.has_any(*GLOBAL_ROLES)

    def scope_unit(self) -> str | None:
        """The unit whose subtree bounds what the caller sees: None for global roles; 403 for a token naming none."""
        if self.is_global:
            return None
        if self.unit_id is None:
            raise Problem(403, "no_unit", "your token names no unit, so nothing is in your scope")
        return self.unit_id

    def can_see(self, unit_path: list[str] | None) -> bool:
        """In scope when the caller's unit is the unit or one of its ancestors (``unit_path`` root→unit)."""
        if self.is_global:
            return True
        return bool(self.unit_id and unit_path and self.unit_id in unit_path)


class Claims(BaseModel):
    """The claims our services read, as a signed token must carry them; other claims pass through unread.

    Strict: ``roles`` is a list of known roles (not a string, an object or a nested list), ``unit_id`` a unit id
    string, ``sub`` a non-empty string. A token that breaks this is refused as a whole (401 ``invalid_token``)
    rather than read half-way."""

    model_config = ConfigDict(extra="allow", frozen=True)

    sub: StrictStr = Field(min_length=1, max_length=255)
    name: StrictStr | None = Field(default=None, max_length=200)
    roles: list[Role] = Field(default_factory=list, max_length=50)
    unit_id: StrictStr | None = Field(default=None, min_length=1, max_length=64, pattern=UNIT_ID_PATTERN)


def _claims_problem(exc: ValidationError) -> Problem:
    """401 naming the claims that are wrong, never echoing their values (a claim may hold a name)."""
    errors = [{"field": "claims." + ".".join(str(x) for x in e["loc"]), "reason": e["msg"], "code": e["type"]}
              for e in exc.errors(include_url=False, include_input=False)]
    names = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
    return _unauthenticated("invalid_token", f"the bearer token's claims are not valid: {', '.join(names)}",
                            errors=errors[:20])


class TokenVerifier:
    # a verified token is remembered for at most this long (and never past its exp): one signature check per
    # token and minute instead of one per request
    CACHE_SECONDS = 60.0
    CACHE_SIZE = 10_000

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True) if settings.jwt_jwks_url else None
        self._verified: dict[str, tuple[float, Principal]] = {}

    @property
    def uses_jwks(self) -> bool:
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() < hit[0]:
                return hit[1]
            self._verified.pop(token, None)
        principal = self._verify(token)
        exp = principal.claims.get("exp")
        if isinstance(exp, int | float):
            if len(self._verified) >= self.CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = (min(float(exp), time.time() + self.CACHE_SECONDS), principal)
        return principal

    def _verify(self, token: str) -> Principal:
        s = self.settings
        try:
            if self._jwks is not None:
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256"]
            else:
                key, algorithms = s.jwt_secret, [s.jwt_algorithm]
            claims = jwt.decode(token, key, algorithms=algorithms, audience=s.jwt_audience, issuer=s.jwt_issuer,
                                options={"require": ["sub", "exp"]})
        except jwt.ExpiredSignatureError as exc:
            raise _unauthenticated("token_expired", "the bearer token has expired") from exc
        except jwt.PyJWKClientConnectionError as exc:
            raise Problem(503, "identity_provider_unreachable", "cannot fetch the signing keys to check the token"
                          ) from exc
        except jwt.PyJWTError as exc:
            raise _unauthenticated("invalid_token", f"the bearer token is not valid: {exc}") from exc
        try:
            valid = Claims.model_validate(claims)
        except ValidationError as exc:
            raise _claims_problem(exc) from None
        return Principal(sub=valid.sub, name=valid.name or "", roles=frozenset(r.value for r in valid.roles),
                         unit_id=valid.unit_id, claims=claims)


def mint_token(settings: ServiceSettings, *, sub: str, roles: list[str], unit_id: str | None,
               name: str = "", ttl_seconds: int = 12 * 3600) -> str:
    """The dev issuer: a signed HS256 token with the claims our services read."""
    now = int(time.time())
    claims = {"sub": sub, "name": name or sub, "roles": roles, "unit_id": unit_id, "iat": now,
              "exp": now + ttl_seconds, "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)


def _unauthenticated(code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> Problem:
    return Problem(401, code, detail, errors=errors, headers={"WWW-Authenticate": 'Bearer realm="fengqiao"'})


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthenticated("missing_token", "send an Authorization: Bearer <token> header")
    verifier: TokenVerifier = request.app.state.runtime.verifier
    if verifier.uses_jwks:  # may fetch the key set over HTTP: keep it off the event loop
        principal = await asyncio.to_thread(verifier.verify, token.strip())
    else:
        principal = verifier.verify(token.strip())
    setattr(request.state, PRINCIPAL_STATE, principal)  # the caller in the access log
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def scoped_principal(user: CurrentUser) -> Principal:
    """The caller, for an endpoint that needs a unit: 403 ``no_unit`` (``Principal.scope_unit``) for a token of a
    non-global role that names none."""
    user.scope_unit()
    return user


# a caller whose scope is known: a global role, or a token naming its unit
ScopedUser = Annotated[Principal, Depends(scoped_principal)]


def require_roles(*roles: str) -> Any:
    """A dependency that answers 403 unless the caller has one of ``roles`` (admins always pass)."""

    async def check(user: CurrentUser) -> Principal:  # async: no threadpool hop per request
        if not user.has_any(*roles, Role.ADMIN):
            raise Problem(403, "forbidden_role", f"this action needs one of the roles: {', '.join(roles)}")
        return user

    return Depends(check)
