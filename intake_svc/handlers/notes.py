"""Staff notes on a case (处置记录): add, edit within the window (each edit a version), list masked, and the logged
reveal of the case's free texts in full (title, description, notes). The caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import TimelineKind
from intake_svc.domain.records import NOTE_KIND_ZH, EditRefused, NoteKind, NoteVisibility, edit_refusal
from intake_svc.domain.textscan import mask_text
from intake_svc.handlers.case_file import get_case_in_scope
from intake_svc.handlers.registration import aad
from intake_svc.schemas import PublicNote, RevealRequest
from intake_svc.schemas_records import (
    NoteCreate,
    NotePublic,
    NoteUpdate,
    NoteVersionPublic,
    RevealedAgreement,
    RevealedNote,
    RevealedSession,
    RevealedTexts,
)
from intake_svc.store import cases as case_store
from intake_svc.store import records as store
from intake_svc.store import sessions as store_sessions
from intake_svc.tables import Note, NoteVersion, PiiAccess
from intake_svc.tables_documents import Agreement
from shared.auth import Principal
from shared.preconditions import check_version
from shared.problems import Problem, field_problem

log = structlog.get_logger(__name__)

FUTURE_SLACK = timedelta(minutes=5)  # a clock a little ahead on the client's side is not "the future"


def to_public(note: Note, deps: IntakeDeps) -> NotePublic:
    kind = NoteKind(note.kind)
    return NotePublic(id=note.id, case_id=note.case_id, kind=kind, kind_label=NOTE_KIND_ZH[kind], at=note.at,
                      text=note.text_masked, visibility=NoteVisibility(note.visibility), author=note.author,
                      created_at=note.created_at, updated_at=note.updated_at,
                      editable_until=note.created_at + deps.records.note_edit_window, version=note.version)


def _check_at(deps: IntakeDeps, note_at: object) -> None:
    if note_at is not None and note_at > deps.clock.now() + FUTURE_SLACK:  # type: ignore[operator]
        raise field_problem("at", "lies in the future", "in_future")


async def add_note(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: NoteCreate,
                   user: Principal) -> Note:
    case = await get_case_in_scope(session, case_id, user)
    _check_at(deps, body.at)
    now = deps.clock.now()
    note = Note(case_id=case.id, kind=body.kind.value, at=body.at or now,
                text_sealed=deps.pii.seal(body.text, aad(case.id)), text_masked=mask_text(body.text),
                visibility=body.visibility.value, author=user.sub, unit_id=user.unit_id, created_at=now,
                updated_at=now, version=1)
    session.add(note)
    case_store.add_timeline(session, case.id, now, TimelineKind.NOTE_ADDED,
                            f"添加处置记录（{NOTE_KIND_ZH[body.kind]}）", actor=user.sub, public=False,
                            data={"note_id": str(note.id), "kind": body.kind.value,
                                  "visibility": body.visibility.value})
    await session.flush()
    return note


async def _note_in_scope(session: AsyncSession, case_id: uuid.UUID, note_id: uuid.UUID, user: Principal, *,
                         for_update: bool = False) -> Note:
    await get_case_in_scope(session, case_id, user)
    note = await store.load_note(session, case_id, note_id, for_update=for_update)
    if note is None:
        raise Problem(404, "note_not_found", f"no note {note_id} on this case")
    return note


async def update_note(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, note_id: uuid.UUID,
                      body: NoteUpdate, user: Principal, if_match: int) -> Note:
    """The author's edit within the window; the version it replaces is kept."""
    note = await _note_in_scope(session, case_id, note_id, user, for_update=True)
    now = deps.clock.now()
    refused = edit_refusal(author=note.author, editor=user.sub, created_at=note.created_at, now=now,
                           window=deps.records.note_edit_window)
    if refused == EditRefused.NOT_AUTHOR:
        raise Problem(403, refused.value, "only the note's author may edit it")
    check_version(note.version, if_match, "note")
    if refused == EditRefused.WINDOW_CLOSED:
        raise Problem(409, refused.value, "the note can no longer be edited; add a new note to correct it",
                      editable_until=(note.created_at + deps.records.note_edit_window).isoformat())
    _check_at(deps, body.at)
    session.add(NoteVersion(note_id=note.id, version=note.version, kind=note.kind, at=note.at,
                            text_sealed=note.text_sealed, text_masked=note.text_masked, visibility=note.visibility,
                            written_by=note.author, written_at=note.updated_at))  # only the author edits
    if body.kind is not None:
        note.kind = body.kind.value
    if body.at is not None:
        note.at = body.at
    if body.text is not None:
        note.text_sealed, note.text_masked = deps.pii.seal(body.text, aad(case_id)), mask_text(body.text)
    if body.visibility is not None:
        note.visibility = body.visibility.value
    note.updated_at, note.version = now, note.version + 1
    case_store.add_timeline(session, case_id, now, TimelineKind.NOTE_EDITED,
                            f"修改处置记录（{NOTE_KIND_ZH[NoteKind(note.kind)]}）", actor=user.sub, public=False,
                            data={"note_id": str(note.id), "version": note.version,
                                  "fields": sorted(body.model_fields_set)})
    return note


async def list_notes(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> list[Note]:
    await get_case_in_scope(session, case_id, user)
    return await store.notes(session, case_id)


async def note_history(session: AsyncSession, case_id: uuid.UUID, note_id: uuid.UUID,
                       user: Principal) -> list[NoteVersionPublic]:
    """Every version of a note, oldest first, the current one last (masked)."""
    note = await _note_in_scope(session, case_id, note_id, user)
    rows = [(v.version, v.kind, v.at, v.text_masked, v.visibility, v.written_by, v.written_at)
            for v in await store.note_versions(session, note.id)]
    rows.append((note.version, note.kind, note.at, note.text_masked, note.visibility, note.author, note.updated_at))
    return [NoteVersionPublic(version=n, kind=NoteKind(k), at=at, text=t, visibility=NoteVisibility(vis),
                              written_by=by, written_at=when) for n, k, at, t, vis, by, when in rows]


async def public_notes(session: AsyncSession, case_id: uuid.UUID) -> list[PublicNote]:
    """The notes shown on the citizen's page: public ones, masked."""
    return [PublicNote(at=n.at, kind_label=NOTE_KIND_ZH[NoteKind(n.kind)], text=n.text_masked)
            for n in await store.notes(session, case_id, public_only=True)]


async def reveal_texts(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: RevealRequest,
                       user: Principal) -> RevealedTexts:
    """The case's free texts unmasked, for a stated purpose; every read is written to the access log."""
    case = await get_case_in_scope(session, case_id, user)
    notes = await store.notes(session, case.id)
    sessions = await store_sessions.sessions(session, case.id)
    agreements = list((await session.execute(select(Agreement).where(
        Agreement.case_id == case.id).order_by(Agreement.number))).scalars())  # type: ignore[arg-type]
    fields = ["description", "title", *(["notes"] if notes else []), *(["sessions"] if sessions else []),
              *(["agreements"] if agreements else [])]
    session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                          purpose=body.purpose, fields=fields, at=deps.clock.now()))
    log.info("pii_revealed", case_id=str(case.id), accessed_by=user.sub, fields=fields)
    sealed_to = aad(case.id)
    return RevealedTexts(case_id=case.id, title=case.title, description=case.description,
                         notes=[RevealedNote(id=n.id, version=n.version, text=deps.pii.open(n.text_sealed, sealed_to))
                                for n in notes],
                         sessions=[RevealedSession(id=s.id, place=deps.pii.open(s.place_sealed, sealed_to),
                                                   minutes=deps.pii.open(s.minutes_sealed, sealed_to)
                                                   if s.minutes_sealed else None) for s in sessions],
                         agreements=[RevealedAgreement(id=a.id, facts=deps.pii.open(a.facts_sealed, sealed_to),
                                                       terms=deps.pii.open(a.terms_sealed, sealed_to))
                                     for a in agreements])
