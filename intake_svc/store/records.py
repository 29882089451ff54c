"""The case file's records through the ORM session: notes and their versions, attachments."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.domain.records import NoteVisibility
from intake_svc.tables import Attachment, Note, NoteVersion


async def load_note(session: AsyncSession, case_id: uuid.UUID, note_id: uuid.UUID, *,
                    for_update: bool = False) -> Note | None:
    note = await session.get(Note, note_id, with_for_update=for_update)
    return note if note is not None and note.case_id == case_id else None


async def notes(session: AsyncSession, case_id: uuid.UUID, *, public_only: bool = False) -> list[Note]:
    stmt = select(Note).where(Note.case_id == case_id)  # type: ignore[arg-type]
    if public_only:
        stmt = stmt.where(Note.visibility == NoteVisibility.PUBLIC)  # type: ignore[arg-type]
    return list((await session.execute(stmt.order_by(Note.at, Note.created_at))).scalars())  # type: ignore[arg-type]


async def note_versions(session: AsyncSession, note_id: uuid.UUID) -> list[NoteVersion]:
    stmt = select(NoteVersion).where(NoteVersion.note_id == note_id).order_by(NoteVersion.version)  # type: ignore[arg-type]
    return list((await session.execute(stmt)).scalars())


async def load_attachment(session: AsyncSession, case_id: uuid.UUID, attachment_id: uuid.UUID, *,
                          for_update: bool = False) -> Attachment | None:
    found = await session.get(Attachment, attachment_id, with_for_update=for_update)
    return found if found is not None and found.case_id == case_id else None


async def attachments(session: AsyncSession, case_id: uuid.UUID) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.uploaded_at)  # type: ignore[arg-type]
    return list((await session.execute(stmt)).scalars())
