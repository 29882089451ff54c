"""Intake REST API: thin routes that parse, authorize, call a handler and shape the response."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Header, Path, Query, Request, Response
from sqlalchemy import or_, select

from intake_svc import handlers
from intake_svc.domain import CaseStatus
from intake_svc.handlers import IntakeDeps
from intake_svc.schemas import (
    CaseCreate,
    CasePublic,
    CaseSummary,
    FeedbackCreate,
    FeedbackPublic,
    MergeRequest,
    PiiAccessPublic,
    PublicProgress,
    Reclassify,
    RevealedCase,
    RevealRequest,
    RiskChange,
    TimelineItem,
    UnmergeRequest,
)
from intake_svc.tables import Case
from shared.auth import CurrentUser, Principal, Role, require_roles
from shared.events.case import Channel, RequestType, RiskLevel
from shared.pagination import Page, keyset_page
from shared.problems import Problem, require_aware
from shared.ratelimit import RateLimiter, client_address
from shared.runtime import SessionDep

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1", tags=["cases"])

CAN_REGISTER = require_roles(Role.OPERATOR, Role.GRID_WORKER, Role.MEDIATOR, Role.COMMUNITY_ADMIN,
                             Role.STREET_ADMIN, Role.SERVICE)


def _deps(request: Request) -> IntakeDeps:
    deps: IntakeDeps = request.app.state.deps
    return deps


@router.post("/cases", status_code=201, response_model=CasePublic, dependencies=[CAN_REGISTER],
             responses={409: {"description": "same Idempotency-Key still in progress"},
                        422: {"description": "invalid body, or Idempotency-Key reused with another body"}})
async def create_case(
    body: CaseCreate,
    request: Request,
    user: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register a case from any channel (一口受理). Emits ``fq.case.received.v1``."""
    deps = _deps(request)
    # the hot path: a connection of the registration pool, no ORM session (its unit of work is not needed for
    # two statements, and costs as much CPU as they do); the write commits on its own, then wakes the relay
    pool: asyncpg.Pool = request.app.state.registration_pool
    claimed = False
    try:
        async with pool.acquire() as conn:
            if idempotency_key:  # the key's claim commits at once: a concurrent request with the key gets 409
                earlier = await handlers.claim_idempotency_key(conn, deps, idempotency_key, user,
                                                               handlers.request_hash(body))
                if earlier is not None:
                    return Response(earlier.body, status_code=earlier.status_code, media_type="application/json",
                                    headers={"Idempotent-Replayed": "true"})
                claimed = True
            created = await handlers.create_case(conn, deps, body, user, idempotency_key,
                                                 wake=request.app.state.outbox_waker)
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
            await handlers.release_idempotency_key(conn, key, user)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("idempotency_release_failed", error=repr(exc))


def _created(created: handlers.CreatedCase) -> Response:
    return Response(created.body, status_code=201, media_type="application/json", headers={
        "Location": f"/api/v1/cases/{created.id}", "ETag": f'"{created.version}"'})


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
    stmt = select(Case)
    own = user.scope_unit()
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
async def get_case(case_id: uuid.UUID, request: Request, session: SessionDep, user: CurrentUser,
                   response: Response) -> CasePublic:
    """The case file, personal data masked; 404 outside the caller's scope."""
    case = await handlers.get_case_in_scope(session, case_id, user)
    response.headers["ETag"] = f'"{case.version}"'
    return handlers.to_public(case, _deps(request))


STAFF = require_roles(Role.OPERATOR, Role.MEDIATOR, Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


@router.get("/cases/{case_id}/timeline", response_model=list[TimelineItem])
async def case_timeline(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[TimelineItem]:
    """Everything that happened to the case, oldest first (staff view: includes internal entries)."""
    await handlers.get_case_in_scope(session, case_id, user)
    entries = await handlers.case_timeline(session, case_id, public_only=False)
    return [TimelineItem.model_validate(e, from_attributes=True) for e in entries]


@router.post("/cases/{case_id}/feedback", status_code=201, response_model=FeedbackPublic, dependencies=[STAFF])
async def record_feedback(case_id: uuid.UUID, body: FeedbackCreate, request: Request, session: SessionDep,
                          user: CurrentUser) -> FeedbackPublic:
    """回访 result recorded by staff for a resolved case. Emits ``fq.case.feedback_received.v1``."""
    async with session.begin():
        feedback = await handlers.record_feedback(session, _deps(request), case_id, body, user)
    return FeedbackPublic.model_validate(feedback, from_attributes=True)


@router.post("/cases/{case_id}/risk", response_model=CasePublic, dependencies=[STAFF])
async def change_risk(case_id: uuid.UUID, body: RiskChange, request: Request, session: SessionDep,
                      user: CurrentUser, response: Response) -> CasePublic:
    """Raise the risk level (红黄蓝); lowering it needs a street admin. Emits ``fq.case.risk_changed.v1``."""
    deps = _deps(request)
    async with session.begin():
        case = await handlers.change_risk(session, deps, case_id, body, user)
    response.headers["ETag"] = f'"{case.version}"'
    return handlers.to_public(case, deps)


@router.post("/cases/{case_id}/parties/reveal", response_model=RevealedCase,
             dependencies=[require_roles(*handlers.PII_READERS)])
async def reveal_parties(case_id: uuid.UUID, body: RevealRequest, request: Request, session: SessionDep,
                         user: CurrentUser) -> RevealedCase:
    """Full names, phones, ID numbers and address, for a stated purpose. Every call is written to the access log."""
    async with session.begin():
        return await handlers.reveal_parties(session, _deps(request), case_id, body, user)


@router.get("/cases/{case_id}/access-log", response_model=list[PiiAccessPublic],
            dependencies=[require_roles(Role.STREET_ADMIN)])
async def access_log(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[PiiAccessPublic]:
    """Who read this case's personal data in full, when and why."""
    rows = await handlers.pii_access_log(session, case_id, user)
    return [PiiAccessPublic.model_validate(r, from_attributes=True) for r in rows]


public_router = APIRouter(prefix="/api/v1/public", tags=["public"])


@public_router.get("/cases/{code}", response_model=PublicProgress)
async def public_progress(
    code: Annotated[str, Path(max_length=32, pattern=r"^FQ-\d{8}-\d{6,}$")],
    phone_last4: Annotated[str, Query(pattern=r"^\d{4}$", description="last four digits of the applicant's phone")],
    request: Request,
    session: SessionDep,
) -> PublicProgress:
    """Citizen progress page (no login): status and a plain-Chinese timeline, no personal data. Rate-limited per
    client address (``X-Forwarded-For`` only from the proxies configured, see ``client_address``); an unknown code
    and a wrong phone get the same answer after the same work."""
    limiter: RateLimiter = request.app.state.public_limiter
    allowed, retry = limiter.allow(await client_address(request))
    if not allowed:
        raise Problem(429, "rate_limited", "查询过于频繁，请稍后再试", headers={"Retry-After": str(int(retry) + 1)})
    return await handlers.public_progress(session, _deps(request), code, phone_last4)


@router.put("/cases/{case_id}/category", response_model=CasePublic, dependencies=[STAFF])
async def reclassify(case_id: uuid.UUID, body: Reclassify, request: Request, session: SessionDep, user: CurrentUser,
                     response: Response) -> CasePublic:
    """Override the (auto-)classification. Emits ``fq.case.reclassified.v1`` and adds a timeline entry."""
    deps = _deps(request)
    async with session.begin():
        case = await handlers.reclassify(session, deps, case_id, body, user)
    response.headers["ETag"] = f'"{case.version}"'
    return handlers.to_public(case, deps)


@router.post("/cases/{case_id}/merge", response_model=CasePublic, dependencies=[STAFF],
             responses={409: {"description": "the case or the primary is not open"}})
async def merge_case(case_id: uuid.UUID, body: MergeRequest, request: Request, session: SessionDep,
                     user: CurrentUser, response: Response) -> CasePublic:
    """Merge this case into ``primary_case_id`` (一件事只立一案), e.g. a suggested duplicate candidate: it follows
    its primary. Emits ``fq.case.merged.v1`` with ``linked_by`` = the caller."""
    deps = _deps(request)
    async with session.begin():
        case = await handlers.merge_case(session, deps, case_id, body, user)
    response.headers["ETag"] = f'"{case.version}"'
    return handlers.to_public(case, deps)


@router.post("/cases/{case_id}/unmerge", response_model=CasePublic, dependencies=[STAFF],
             responses={409: {"description": "not merged, or merged by staff (final)"}})
async def unmerge_case(case_id: uuid.UUID, body: UnmergeRequest, request: Request, session: SessionDep,
                       user: CurrentUser, response: Response) -> CasePublic:
    """Undo an automatic link: the report becomes a case of its own (status ``received``) and is routed and
    counted now. Emits ``fq.case.received.v1``."""
    deps = _deps(request)
    async with session.begin():
        case = await handlers.unmerge_case(session, deps, case_id, body, user)
    response.headers["ETag"] = f'"{case.version}"'
    return handlers.to_public(case, deps)
