"""The case file's changes by staff: 回访, risk level, category, merge and unmerge, the parties revealed and the access
log. Creating POSTs honour ``Idempotency-Key``; the category override needs ``If-Match`` (the case's ETag); every
transaction is redone on a deadlock (``pending.run``)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from intake_svc.deps import Deps, IntakeDeps
from intake_svc.handlers import case_file, duplicates
from intake_svc.schemas import (
    CasePublic,
    FeedbackCreate,
    FeedbackPublic,
    MergeRequest,
    PiiAccessPublic,
    Reclassify,
    RevealedCase,
    RevealRequest,
    RiskChange,
    UnmergeRequest,
)
from intake_svc.tables import Case
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.idempotency import Answer, Idempotent
from shared.preconditions import IfMatch, etag
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["cases"])

STAFF = require_roles(Role.OPERATOR, Role.MEDIATOR, Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


IDEMPOTENT: dict[int | str, dict[str, Any]] = {
    409: {"description": "a request with the same Idempotency-Key is still in progress"},
    422: {"description": "invalid body, or Idempotency-Key reused with another body"}}


def _case_answer(case: Case, deps: IntakeDeps, status_code: int = 200) -> Answer:
    return Answer(status_code, case_file.to_public(case, deps), {"ETag": etag(case.version)})


@router.post("/cases/{case_id}/feedback", status_code=201, response_model=FeedbackPublic, dependencies=[STAFF],
             responses=IDEMPOTENT)
async def record_feedback(case_id: uuid.UUID, body: FeedbackCreate, session: SessionDep, deps: Deps,
                          user: CurrentUser, idem: Idempotent) -> Response:
    """回访 result recorded by staff for a resolved case. Emits ``fq.case.feedback_received.v1``. With an
    ``Idempotency-Key`` a repeated submission is stored and counted once (the first answer is replayed)."""
    async def work() -> Answer:
        feedback = await case_file.record_feedback(session, deps, case_id, body, user)
        await session.flush()
        return Answer(201, FeedbackPublic.model_validate(feedback, from_attributes=True))

    return await idem.run(session, work)


@router.post("/cases/{case_id}/risk", response_model=CasePublic, dependencies=[STAFF], responses=IDEMPOTENT)
async def change_risk(case_id: uuid.UUID, body: RiskChange, session: SessionDep, deps: Deps,
                      user: CurrentUser, idem: Idempotent) -> Response:
    """Raise the risk level (红黄蓝); lowering it needs a street admin. Emits ``fq.case.risk_changed.v1``."""
    async def work() -> Answer:
        return _case_answer(await case_file.change_risk(session, deps, case_id, body, user), deps)

    return await idem.run(session, work)


@router.post("/cases/{case_id}/parties/reveal", response_model=RevealedCase,
             dependencies=[require_roles(*case_file.PII_READERS)])
async def reveal_parties(case_id: uuid.UUID, body: RevealRequest, session: SessionDep, deps: Deps,
                         user: CurrentUser) -> RevealedCase:
    """Full names, phones, ID numbers and address, for a stated purpose. Every call is written to the access log."""
    return await pending.run(session, lambda: case_file.reveal_parties(session, deps, case_id, body, user))


@router.get("/cases/{case_id}/access-log", response_model=list[PiiAccessPublic],
            dependencies=[require_roles(Role.STREET_ADMIN)])
async def access_log(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[PiiAccessPublic]:
    """Who read this case's personal data in full, when and why."""
    rows = await case_file.pii_access_log(session, case_id, user)
    return [PiiAccessPublic.model_validate(r, from_attributes=True) for r in rows]


@router.put("/cases/{case_id}/category", response_model=CasePublic, dependencies=[STAFF],
            responses={412: {"description": "the case changed since you read it (If-Match)"},
                       428: {"description": "If-Match missing"}})
async def reclassify(case_id: uuid.UUID, body: Reclassify, session: SessionDep, deps: Deps, user: CurrentUser,
                     version: IfMatch) -> Response:
    """Override the (auto-)classification. Emits ``fq.case.reclassified.v1`` and adds a timeline entry. Needs
    ``If-Match`` with the case's ETag (``GET /cases/{id}``)."""
    async def work() -> Answer:
        return _case_answer(await case_file.reclassify(session, deps, case_id, body, user, version), deps)

    return (await pending.run(session, work)).response()


@router.post("/cases/{case_id}/merge", response_model=CasePublic, dependencies=[STAFF],
             responses={**IDEMPOTENT, 409: {"description": "the case or the primary is not open; or the same "
                                                          "Idempotency-Key is still in progress"}})
async def merge_case(case_id: uuid.UUID, body: MergeRequest, session: SessionDep, deps: Deps,
                     user: CurrentUser, idem: Idempotent) -> Response:
    """Merge this case into ``primary_case_id`` (一件事只立一案), e.g. a suggested duplicate candidate: it follows
    its primary. Emits ``fq.case.merged.v1`` with ``linked_by`` = the caller."""
    async def work() -> Answer:
        return _case_answer(await duplicates.merge_case(session, deps, case_id, body, user), deps)

    return await idem.run(session, work)


@router.post("/cases/{case_id}/unmerge", response_model=CasePublic, dependencies=[STAFF],
             responses={**IDEMPOTENT, 409: {"description": "not merged, or merged by staff (final); or the same "
                                                          "Idempotency-Key is still in progress"}})
async def unmerge_case(case_id: uuid.UUID, body: UnmergeRequest, session: SessionDep, deps: Deps,
                       user: CurrentUser, idem: Idempotent) -> Response:
    """Undo an automatic link: the report becomes a case of its own (status ``received``) and is routed and
    counted now. Emits ``fq.case.received.v1`` with everything the case had (urgency, the channel's deadline)."""
    async def work() -> Answer:
        return _case_answer(await duplicates.unmerge_case(session, deps, case_id, body, user), deps)

    return await idem.run(session, work)
