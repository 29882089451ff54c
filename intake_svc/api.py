"""Intake REST API: thin routes that parse, authorize, call a handler and shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from intake_svc import handlers
from intake_svc.handlers import IntakeDeps
from intake_svc.schemas import CaseCreate, CasePublic, FeedbackCreate, FeedbackPublic, RiskChange, TimelineItem
from shared.auth import CurrentUser, Role, require_roles
from shared.runtime import SessionDep

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
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Register a case from any channel (一口受理). Emits ``fq.case.received.v1``."""
    deps = _deps(request)
    async with session.begin():
        if idempotency_key:
            earlier = await handlers.claim_idempotency_key(
                session, deps, idempotency_key, user, handlers.request_hash(body))
            if earlier is not None:
                return JSONResponse(earlier.response, status_code=earlier.status_code,
                                    headers={"Idempotent-Replayed": "true"})
        case = await handlers.create_case(session, deps, body, user)
        public = jsonable_encoder(handlers.to_public(case, deps))
        if idempotency_key:
            await handlers.store_idempotent_response(session, idempotency_key, user, 201, public)
    return JSONResponse(public, status_code=201, headers={
        "Location": f"/api/v1/cases/{case.id}", "ETag": f'"{case.version}"'})


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
