"""Co-handling tasks (协办) over HTTP: the lead unit's view of a case's tasks, one task, and its member's accept and
complete, the lead's close. POSTs take ``Idempotency-Key``; the state changes need ``If-Match`` (the task's ETag)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Response

from routing_svc.deps import Deps
from routing_svc.handlers import assignments, tasks
from routing_svc.schemas_tasks import TaskAcceptBody, TaskCloseBody, TaskCompleteBody, TaskPublic
from routing_svc.store.tasks import case_tasks
from shared.auth import CurrentUser
from shared.idempotency import Answer, Idempotent
from shared.preconditions import etag
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["tasks"])

IfMatch = Annotated[str | None, Header(max_length=64, description='the task\'s ETag, e.g. "2" (428 without, 412 '
                                                                  "when it moved on)")]
STATE_CHANGE = {404: {"description": "no such task in your scope"}, 409: {"description": "not allowed in its "
                "state"}, 412: {"description": "stale If-Match"}, 428: {"description": "If-Match missing"}}


def _answer(task: TaskPublic) -> Answer:
    return Answer(200, task, {"ETag": etag(task.version)})


@router.get("/assignments/{assignment_id}/tasks", response_model=list[TaskPublic])
async def assignment_tasks(assignment_id: uuid.UUID, deps: Deps, session: SessionDep,
                           user: CurrentUser) -> list[TaskPublic]:
    """Every co-handling task of the assignment's case, with its state (the lead unit, 主办, sees them all)."""
    a = await assignments.get_assignment(session, assignment_id, user)
    lead = assignments.may_act(a, user)
    return [tasks.to_public(t, deps, t.member_id == user.sub, lead) for t in await case_tasks(session, a.case_id)]


@router.get("/tasks/{task_id}", response_model=TaskPublic)
async def get_task(task_id: uuid.UUID, deps: Deps, session: SessionDep, user: CurrentUser,
                   response: Response) -> TaskPublic:
    """One task: its member and the lead unit see it; anyone else gets 404."""
    task, mine, lead = await tasks.load(session, task_id, user)
    response.headers["ETag"] = etag(task.version)
    return tasks.to_public(task, deps, mine, lead)


@router.post("/tasks/{task_id}/accept", response_model=TaskPublic, responses=STATE_CHANGE)
async def accept_task(task_id: uuid.UUID, deps: Deps, session: SessionDep, user: CurrentUser, idem: Idempotent,
                      body: TaskAcceptBody | None = None, if_match: IfMatch = None) -> Response:
    """接收: the responsible member takes the task on. Emits ``fq.case.cohandling_task_accepted.v1``."""
    async def work() -> Answer:
        return _answer(await tasks.accept(session, deps, task_id, user, if_match))
    return await idem.run(session, work)


@router.post("/tasks/{task_id}/complete", response_model=TaskPublic, responses=STATE_CHANGE)
async def complete_task(task_id: uuid.UUID, body: TaskCompleteBody, deps: Deps, session: SessionDep,
                        user: CurrentUser, idem: Idempotent, if_match: IfMatch = None) -> Response:
    """反馈: the member reports what the force did (staff text, no phone or ID numbers; 422 naming ``report``).
    Emits ``fq.case.cohandling_task_completed.v1``."""
    async def work() -> Answer:
        return _answer(await tasks.complete(session, deps, task_id, user, body, if_match))
    return await idem.run(session, work)


@router.post("/tasks/{task_id}/close", response_model=TaskPublic, responses=STATE_CHANGE)
async def close_task(task_id: uuid.UUID, body: TaskCloseBody, deps: Deps, session: SessionDep, user: CurrentUser,
                     idem: Idempotent, if_match: IfMatch = None) -> Response:
    """The lead unit closes a task it no longer waits for, with a reason: it stops holding back 办结.
    Emits ``fq.case.cohandling_task_closed.v1``."""
    async def work() -> Answer:
        return _answer(await tasks.close(session, deps, task_id, user, body, if_match))
    return await idem.run(session, work)
