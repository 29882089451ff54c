"""The people of a case over HTTP: its 包案领导 (``/cases/{id}/leader``) and its 专班 (``/cases/{id}/task-force``).

Creating POSTs take ``Idempotency-Key``; updates need ``If-Match`` with the ETag read (428 without, 412 stale).
A case outside the caller's scope answers 404 as an unknown one does."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from routing_svc.deps import Deps
from routing_svc.handlers import leaders, task_forces
from routing_svc.schemas_people import (
    CaseLeaderPublic,
    LeaderBody,
    TaskForceCreate,
    TaskForcePublic,
    TaskForceUpdate,
)
from routing_svc.tables_people import CaseLeader
from shared.auth import CurrentUser
from shared.bus import pending
from shared.idempotency import Answer, Idempotent
from shared.preconditions import IfMatch, etag
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["people"])

CREATED: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller's role may not do this"},
    404: {"description": "no such case in your scope"},
    409: {"description": "it exists already (change it with If-Match), or a request with the same Idempotency-Key "
                         "is still in progress"},
    422: {"description": "invalid body (naming the field), or Idempotency-Key reused with another body"}}
UPDATED: dict[int | str, dict[str, Any]] = {
    403: {"description": "the caller's role may not do this"}, 404: {"description": "no such case in your scope"},
    412: {"description": "stale If-Match"}, 422: {"description": "invalid body, naming the field"},
    428: {"description": "If-Match missing"}}


def _leader(row: CaseLeader) -> CaseLeaderPublic:
    return CaseLeaderPublic.model_validate(row, from_attributes=True)


@router.get("/cases/{case_id}/leader", response_model=CaseLeaderPublic,
            responses={404: {"description": "no such case in your scope, or it has no 包案领导"}})
async def get_leader(case_id: uuid.UUID, session: SessionDep, user: CurrentUser, response: Response
                     ) -> CaseLeaderPublic:
    """包案领导: the leader answerable for the case (a red case gets its unit's responsible leader by default)."""
    row = await leaders.get_leader(session, case_id, user)
    response.headers["ETag"] = etag(row.version)
    return _leader(row)


@router.post("/cases/{case_id}/leader", status_code=201, response_model=CaseLeaderPublic, responses=CREATED)
async def give_leader(case_id: uuid.UUID, body: LeaderBody, session: SessionDep, deps: Deps, user: CurrentUser,
                      idem: Idempotent) -> Response:
    """Give a red, specialist or special case its 包案领导 (street or district admins of its subtree, or a
    responsible leader of the handling unit or above): a member of the handling unit or of a unit above it.
    Emits ``fq.case.leader_set.v1``; the leader is told of escalations, overdue clocks and extension requests."""
    async def work() -> Answer:
        row, _ = await leaders.set_leader(session, deps, case_id, user, body, None)
        return Answer(201, _leader(row), {"ETag": etag(row.version)})

    return await idem.run(session, work)


@router.put("/cases/{case_id}/leader", response_model=CaseLeaderPublic, responses=UPDATED)
async def change_leader(case_id: uuid.UUID, body: LeaderBody, session: SessionDep, deps: Deps, user: CurrentUser,
                        response: Response, if_match: IfMatch) -> CaseLeaderPublic:
    """Change the case's 包案领导 (e.g. the automatic default); emits ``fq.case.leader_set.v1``."""
    async with pending.transaction(session):
        row, _ = await leaders.set_leader(session, deps, case_id, user, body, if_match)
        out = _leader(row)
    response.headers["ETag"] = etag(out.version)
    return out


@router.get("/cases/{case_id}/task-force", response_model=TaskForcePublic,
            responses={404: {"description": "no such case in your scope, or it has no 专班"}})
async def get_task_force(case_id: uuid.UUID, session: SessionDep, user: CurrentUser, response: Response
                         ) -> TaskForcePublic:
    """专班: lead, members, the work plan and its deadline (overdue once the scheduler marked it), milestones."""
    tf = await task_forces.get(session, case_id, user)
    response.headers["ETag"] = etag(tf.version)
    return task_forces.to_public(tf)


@router.post("/cases/{case_id}/task-force", status_code=201, response_model=TaskForcePublic, responses=CREATED)
async def form_task_force(case_id: uuid.UUID, body: TaskForceCreate, session: SessionDep, deps: Deps,
                          user: CurrentUser, idem: Idempotent) -> Response:
    """Form the case's 专班: a lead and members (members of the handling unit, above or below it); the plan's
    deadline defaults to the one the routing rule set. Emits ``fq.case.task_force_set.v1``."""
    async def work() -> Answer:
        tf = await task_forces.create(session, deps, case_id, user, body)
        return Answer(201, task_forces.to_public(tf), {"ETag": etag(tf.version)})

    return await idem.run(session, work)


@router.patch("/cases/{case_id}/task-force", response_model=TaskForcePublic, responses=UPDATED)
async def update_task_force(case_id: uuid.UUID, body: TaskForceUpdate, session: SessionDep, deps: Deps,
                            user: CurrentUser, response: Response, if_match: IfMatch) -> TaskForcePublic:
    """Change the people, hand the plan in (``plan``), move its deadline, or replace the milestones (each
    ``{title, due_at, done}``; send ``id`` back to keep one). The lead may do this too."""
    async with pending.transaction(session):
        tf = await task_forces.update(session, deps, case_id, user, body, if_match)
        out = task_forces.to_public(tf)
    response.headers["ETag"] = etag(out.version)
    return out
