"""Staff notes on a case (处置记录) and the logged reveal of the case's free texts."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from intake_svc.api.case_file import IDEMPOTENT
from intake_svc.api.preconditions import IfMatch, etag, version
from intake_svc.deps import Deps
from intake_svc.handlers import case_file, notes
from intake_svc.schemas import RevealRequest
from intake_svc.schemas_records import NoteCreate, NotePublic, NoteUpdate, NoteVersionPublic, RevealedTexts
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.idempotency import Answer, Idempotent
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["notes"])

STAFF = require_roles(Role.OPERATOR, Role.MEDIATOR, Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


@router.post("/cases/{case_id}/notes", status_code=201, response_model=NotePublic, dependencies=[STAFF],
             responses=IDEMPOTENT)
async def add_note(case_id: uuid.UUID, body: NoteCreate, session: SessionDep, deps: Deps, user: CurrentUser,
                   idem: Idempotent) -> Response:
    """A note of what was done (电话联系, 上门走访, 调解, 会商, 其他); ``public`` ones appear on the citizen's page.
    Phone and ID numbers in the text are masked in every read. With an ``Idempotency-Key`` a repeat is written
    once (the first answer is replayed)."""
    async def work() -> Answer:
        note = notes.to_public(await notes.add_note(session, deps, case_id, body, user), deps)
        return Answer(201, note, {"ETag": etag(note.version),
                                  "Location": f"/api/v1/cases/{case_id}/notes/{note.id}"})

    return await idem.run(session, work)


@router.get("/cases/{case_id}/notes", response_model=list[NotePublic])
async def list_notes(case_id: uuid.UUID, session: SessionDep, deps: Deps, user: CurrentUser) -> list[NotePublic]:
    """The case's notes, in the order things were done (masked)."""
    return [notes.to_public(n, deps) for n in await notes.list_notes(session, case_id, user)]


@router.patch("/cases/{case_id}/notes/{note_id}", response_model=NotePublic, dependencies=[STAFF],
              responses={409: {"description": "the edit window has closed"}, 412: {"description": "stale If-Match"},
                         428: {"description": "If-Match missing"}})
async def edit_note(case_id: uuid.UUID, note_id: uuid.UUID, body: NoteUpdate, session: SessionDep, deps: Deps,
                    user: CurrentUser, response: Response, if_match: IfMatch = None) -> NotePublic:
    """The author's edit within ``INTAKE_NOTE_EDIT_WINDOW_MINUTES`` of writing it; the earlier version is kept."""
    expected = version(if_match, required=True)
    assert expected is not None
    async with pending.transaction(session):
        note = await notes.update_note(session, deps, case_id, note_id, body, user, expected)
    response.headers["ETag"] = etag(note.version)
    return notes.to_public(note, deps)


@router.get("/cases/{case_id}/notes/{note_id}/versions", response_model=list[NoteVersionPublic])
async def note_versions(case_id: uuid.UUID, note_id: uuid.UUID, session: SessionDep,
                        user: CurrentUser) -> list[NoteVersionPublic]:
    """Every version of the note, oldest first (masked)."""
    return await notes.note_history(session, case_id, note_id, user)


@router.post("/cases/{case_id}/texts/reveal", response_model=RevealedTexts,
             dependencies=[require_roles(*case_file.PII_READERS)])
async def reveal_texts(case_id: uuid.UUID, body: RevealRequest, session: SessionDep, deps: Deps,
                       user: CurrentUser) -> RevealedTexts:
    """The title, description and notes with the phone and ID numbers in them, for a stated purpose. Every call is
    written to the access log (``GET …/access-log``)."""
    async with pending.transaction(session):
        return await notes.reveal_texts(session, deps, case_id, body, user)
