"""Cases: register (the hot path), list, read, the timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import or_, select

from intake_svc.deps import Deps
from intake_svc.domain.case import CaseStatus
from intake_svc.handlers import case_file, cohandling, registration
from intake_svc.schemas import CaseCreate, CasePublic, CaseSummary, TimelineItem
from intake_svc.store.registration import REGISTRATION_POOL
from intake_svc.tables import SCHEMA, Case
from shared import idempotency
from shared.auth import CurrentUser, Principal, Role, require_roles
from shared.events.case import Channel, RequestType, RiskLevel
from shared.pagination import Page, keyset_page
from shared.problems import require_aware
from shared.runtime import ServiceRuntime, SessionDep

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["cases"])

CAN_REGISTER = require_roles(Role.OPERATOR, Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN,
                             Role.STREET_ADMIN, Role.SERVICE)


@router.post("/cases", status_code=201, response_model=CasePublic, dependencies=[CAN_REGISTER],
             responses={409: {"description": "same Idempotency-Key still in progress"},
                        422: {"description": "invalid body, or Idempotency-Key reused with another body"}})
async def create_case(
    body: CaseCreate,
    request: Request,
    user: CurrentUser,
    deps: Deps,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register a case from any channel (一口受理). Emits ``fq.case.received.v1``."""
    # a staff token naming no unit: 403 no_unit (the case would be visible to admins only); global roles register
    # with or without one
    user.scope_unit()
    # the hot path: a connection of the registration pool, no ORM session (its unit of work is not needed for
    # two statements, and costs as much CPU as they do); the write commits on its own, then wakes the relay
    runtime: ServiceRuntime = request.app.state.runtime
    pool: asyncpg.Pool = runtime.state[REGISTRATION_POOL]
    claimed = False
    try:
        async with pool.acquire() as conn:
            if idempotency_key:  # the key's claim commits at once: a concurrent request with the key gets 409
                earlier = await idempotency.claim(conn, SCHEMA, idempotency_key, user.sub,
                                                  registration.request_hash(body), deps.clock.now())
                if earlier is not None:
                    return earlier.response()
                claimed = True
            created = await registration.create_case(conn, deps, body, user, runtime.waker, idempotency_key)
    except BaseException:
        if claimed and idempotency_key:  # nothing was created: free the key so the client can retry
            await _release(pool, idempotency_key, user)
        raise
    return _created(created)


async def _release(pool: asyncpg.Pool, key: str, user: Principal) -> None:
    """Once the failed request's connection is back in the pool (it may be unusable: a statement cancelled
    mid-way; and holding it while waiting for another could starve the pool). If this fails too, the claim counts
    as abandoned after ``IDEMPOTENCY_ABANDONED`` and the key can be used again."""
    try:
        async with pool.acquire() as conn:
            await idempotency.release(conn, SCHEMA, key, user.sub)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("idempotency_release_failed", error=repr(exc))


def _created(created: registration.CreatedCase) -> Response:
    return Response(created.body, status_code=201, media_type="application/json",
                    headers=registration.created_headers(created.id, created.version))


@router.get("/cases", response_model=Page[CaseSummary])
async def list_cases(
    session: SessionDep,
    user: CurrentUser,
    status: CaseStatus | None = None,
    category: Annotated[str | None, Query(max_length=64, description="a code or its top-level prefix")] = None,
    channel: Channel | None = None,
    unit_id: Annotated[str | None, Query(max_length=64, description="cases handled in this unit's subtree")] = None,
    risk_level: RiskLevel | None = None,
    request_type: RequestType | None = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="text in title or description")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CaseSummary]:
    """Cases in the caller's scope, newest first, with a cursor that neither skips nor repeats rows."""
    own = user.scope_unit()
    stmt = select(Case)
    if own is not None:
        stmt = stmt.where(Case.visible_units.contains([own]))  # type: ignore[attr-defined]
    if unit_id:
        stmt = stmt.where(Case.visible_units.contains([unit_id]))  # type: ignore[attr-defined]
    for column, value in ((Case.status, status), (Case.channel, channel), (Case.risk_level, risk_level),
                          (Case.request_type, request_type)):
        if value is not None:
            stmt = stmt.where(column == value.value)
    if category:
        stmt = stmt.where(or_(Case.category == category, Case.category.startswith(f"{category}.")))  # type: ignore[union-attr]
    require_aware(from_, "query.from")
    require_aware(to, "query.to")
    if from_:
        stmt = stmt.where(Case.created_at >= from_)  # type: ignore[operator]
    if to:
        stmt = stmt.where(Case.created_at < to)  # type: ignore[operator]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Case.title.ilike(pattern), Case.description.ilike(pattern)))  # type: ignore[attr-defined]
    rows, next_cursor = await keyset_page(session, stmt, Case, cursor, limit)
    return Page(items=[CaseSummary.model_validate(c, from_attributes=True) for c in rows], next_cursor=next_cursor)


@router.get("/cases/{case_id}", response_model=CasePublic)
async def get_case(case_id: uuid.UUID, session: SessionDep, user: CurrentUser, deps: Deps,
                   response: Response) -> CasePublic:
    """The case file, personal data masked; 404 outside the caller's scope (a co-handling member reads the case
    it co-handles)."""
    case = await cohandling.readable_case(session, case_id, user)
    response.headers["ETag"] = f'"{case.version}"'
    return case_file.to_public(case, deps)


@router.get("/cases/{case_id}/timeline", response_model=list[TimelineItem])
async def case_timeline(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[TimelineItem]:
    """Everything that happened to the case, oldest first (staff view: includes internal entries)."""
    entries = await case_file.case_timeline(session, case_id, user)
    return [TimelineItem.model_validate(e, from_attributes=True) for e in entries]
