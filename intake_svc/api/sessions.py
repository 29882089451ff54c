"""调解 sessions (调解记录) of a case: schedule, list, read, record minutes and result (改期 with the new time); and
the internal read notify makes to send the 调解通知 SMS."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from intake_svc.api.case_file import IDEMPOTENT
from intake_svc.api.notes import STAFF
from intake_svc.api.preconditions import IfMatch, etag, version
from intake_svc.deps import Deps
from intake_svc.handlers import sessions
from intake_svc.schemas_sessions import NoticeRequest, SessionCreate, SessionNotice, SessionPublic, SessionUpdate
from shared.auth import CurrentUser, Role
from shared.bus import pending
from shared.idempotency import Answer, Idempotent
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["sessions"])


@router.post("/cases/{case_id}/sessions", status_code=201, response_model=SessionPublic, dependencies=[STAFF],
             responses=IDEMPOTENT)
async def schedule_session(case_id: uuid.UUID, body: SessionCreate, session: SessionDep, deps: Deps,
                           user: CurrentUser, idem: Idempotent) -> Response:
    """Schedule a 调解 session: time, place, mediators (member ids), the case's parties expected (their ``id``)
    and the forces present (codes of the forces dictionary). ``notify_parties``: the parties are told the time and
    place by SMS. With an ``Idempotency-Key`` a repeat schedules once (the first answer is replayed)."""
    async def work() -> Answer:
        s = sessions.to_public(await sessions.schedule(session, deps, case_id, body, user))
        return Answer(201, s, {"ETag": etag(s.version), "Location": f"/api/v1/cases/{case_id}/sessions/{s.id}"})

    return await idem.run(session, work)


@router.get("/cases/{case_id}/sessions", response_model=list[SessionPublic])
async def list_sessions(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[SessionPublic]:
    """The case's sessions in the order they are held (place and minutes masked)."""
    return [sessions.to_public(s) for s in await sessions.list_sessions(session, case_id, user)]


@router.get("/cases/{case_id}/sessions/{session_id}", response_model=SessionPublic)
async def get_session(case_id: uuid.UUID, session_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                      response: Response) -> SessionPublic:
    s = sessions.to_public(await sessions.get_session(session, case_id, session_id, user))
    response.headers["ETag"] = etag(s.version)
    return s


@router.patch("/cases/{case_id}/sessions/{session_id}", response_model=SessionPublic, dependencies=[STAFF],
              responses={412: {"description": "stale If-Match"}, 428: {"description": "If-Match missing"}})
async def update_session(case_id: uuid.UUID, session_id: uuid.UUID, body: SessionUpdate, session: SessionDep,
                         deps: Deps, user: CurrentUser, response: Response,
                         if_match: IfMatch = None) -> SessionPublic:
    """Record the minutes (调解笔录) and the result (达成协议, 未达成, 改期 with ``rescheduled_to``), or correct who
    was there. ``If-Match``: the session's ETag."""
    expected = version(if_match, required=True)
    assert expected is not None
    async with pending.transaction(session):
        s = await sessions.update(session, deps, case_id, session_id, body, user, expected)
    response.headers["ETag"] = etag(s.version)
    return sessions.to_public(s)


@router.post("/internal/cases/{case_id}/sessions/{session_id}/notice", response_model=SessionNotice,
             tags=["internal"])
async def session_notice(case_id: uuid.UUID, session_id: uuid.UUID, body: NoticeRequest, session: SessionDep,
                         deps: Deps, user: CurrentUser) -> SessionNotice:
    """For services only: one party's phone and the session's place, to send the 调解通知 (access-logged)."""
    if Role.SERVICE not in user.roles:
        raise Problem(403, "forbidden_role", "only services may read contact data here")
    async with pending.transaction(session):
        return await sessions.notice(session, deps, case_id, session_id, body, user)
