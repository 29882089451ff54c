"""Attachments stored for real: upload (type decided by the content's magic bytes), list, download with the scope
check and an access-log row, and the redacted copy of an image that replaces the original for readers without
personal-data rights. The bytes go to the storage backend; nothing about them travels in events. The caller owns
the transaction (and deletes a stored blob again when it rolls back: ``stored`` below)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import filetype
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.adapters.storage import BlobNotFound
from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import TimelineKind
from intake_svc.domain.records import OwnerKind, is_image, normalize_type, type_refusal
from intake_svc.handlers.case_file import PII_READERS, get_case_in_scope
from intake_svc.schemas_records import AttachmentPublic
from intake_svc.store import cases as case_store
from intake_svc.store import records as store
from intake_svc.store import sessions as session_store
from intake_svc.tables import Attachment, PiiAccess
from shared.auth import Principal
from shared.preconditions import check_version
from shared.problems import Problem, field_problem

log = structlog.get_logger(__name__)


@dataclass
class Upload:
    """A file as received: its bytes (already within the size limit), the name and the type the client gave."""

    data: bytes
    name: str
    declared_type: str | None


@dataclass
class Download:
    data: bytes
    content_type: str
    name: str
    sha256: str
    redacted: bool


def to_public(a: Attachment) -> AttachmentPublic:
    return AttachmentPublic(id=a.id, case_id=a.case_id, owner_kind=OwnerKind(a.owner_kind), owner_id=a.owner_id,
                            name=a.name, content_type=a.content_type, size=a.size, sha256=a.sha256,
                            redacted=a.redacted_key is not None, uploaded_by=a.uploaded_by,
                            uploaded_at=a.uploaded_at, version=a.version)


def checked_type(deps: IntakeDeps, upload: Upload, field: str = "file") -> str:
    """The file's type as its content tells it; 422 naming ``field`` for an unknown, refused or mislabelled file."""
    kind = filetype.guess(upload.data)
    detected = normalize_type(kind.mime) if kind is not None else None
    refused = type_refusal(detected, upload.declared_type, deps.records.attachment_types)
    if refused is not None:
        reasons = {"file_type_unknown": "the content matches no allowed file type",
                   "file_type_not_allowed": f"files of type {detected} are not accepted",
                   "content_type_mismatch": f"declared {upload.declared_type}, but the content is {detected}"}
        raise field_problem(field, reasons[refused.value], refused.value)
    assert detected is not None
    return detected


async def add_attachment(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, owner_kind: OwnerKind,
                         owner_id: uuid.UUID | None, upload: Upload, key: str, user: Principal) -> Attachment:
    """Check, store under ``key`` and file the upload with the case, one of its notes or sessions."""
    case = await get_case_in_scope(session, case_id, user)
    if owner_kind == OwnerKind.NOTE:
        if owner_id is None or await store.load_note(session, case.id, owner_id) is None:
            raise Problem(404, "note_not_found", f"no note {owner_id} on this case")
    if owner_kind == OwnerKind.SESSION:
        if owner_id is None or await session_store.load_session(session, case.id, owner_id) is None:
            raise Problem(404, "session_not_found", f"no session {owner_id} on this case")
    content_type = checked_type(deps, upload)
    digest = hashlib.sha256(upload.data).hexdigest()
    await deps.storage.put(key, upload.data, content_type)
    now = deps.clock.now()
    row = Attachment(case_id=case.id, owner_kind=owner_kind.value, owner_id=owner_id or case.id, name=upload.name,
                     content_type=content_type, size=len(upload.data), sha256=digest, storage_key=key,
                     uploaded_by=user.sub, uploaded_at=now, version=1)
    session.add(row)
    case_store.add_timeline(session, case.id, now, TimelineKind.ATTACHMENT_ADDED, "上传附件", actor=user.sub,
                            public=False, data={"attachment_id": str(row.id), "owner_kind": owner_kind.value,
                                                "content_type": content_type, "size": len(upload.data)})
    await session.flush()
    return row


async def add_redacted_copy(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, attachment_id: uuid.UUID,
                            upload: Upload, key: str, user: Principal, if_match: int) -> Attachment:
    """A staff-made copy of an image with personal data blacked out: readers without personal-data rights get it
    instead of the original."""
    row = await _in_scope(session, case_id, attachment_id, user, for_update=True)
    check_version(row.version, if_match, "attachment")
    if not is_image(row.content_type):
        raise Problem(409, "not_an_image", "only images can have a redacted copy")
    content_type = checked_type(deps, upload)
    if not is_image(content_type):
        raise field_problem("file", f"a redacted copy must be an image, not {content_type}", "not_an_image")
    await deps.storage.put(key, upload.data, content_type)
    old = row.redacted_key
    row.redacted_key, row.redacted_content_type = key, content_type
    row.redacted_size, row.redacted_sha256 = len(upload.data), hashlib.sha256(upload.data).hexdigest()
    row.redacted_by, row.version = user.sub, row.version + 1
    case_store.add_timeline(session, case_id, deps.clock.now(), TimelineKind.ATTACHMENT_REDACTED,
                            "上传附件的脱敏副本", actor=user.sub, public=False,
                            data={"attachment_id": str(row.id), "size": len(upload.data)})
    if old is not None:
        log.info("redacted_copy_replaced", attachment_id=str(row.id))  # the older copy stays until a sweep
    return row


async def _in_scope(session: AsyncSession, case_id: uuid.UUID, attachment_id: uuid.UUID, user: Principal, *,
                    for_update: bool = False) -> Attachment:
    await get_case_in_scope(session, case_id, user)
    row = await store.load_attachment(session, case_id, attachment_id, for_update=for_update)
    if row is None:
        raise Problem(404, "attachment_not_found", f"no attachment {attachment_id} on this case")
    return row


async def list_attachments(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> list[Attachment]:
    await get_case_in_scope(session, case_id, user)
    return await store.attachments(session, case_id)


async def download(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, attachment_id: uuid.UUID,
                   user: Principal) -> Download:
    """The file, or its redacted copy for a reader without personal-data rights; every download is logged."""
    row = await _in_scope(session, case_id, attachment_id, user)
    redacted = row.redacted_key is not None and not user.has_any(*PII_READERS)
    key = row.redacted_key if redacted else row.storage_key
    assert key is not None
    try:
        data = await deps.storage.get(key)
    except BlobNotFound as exc:
        raise Problem(404, "attachment_content_missing", "the file's content is not in the storage") from exc
    variant = "redacted" if redacted else "original"
    session.add(PiiAccess(case_id=row.case_id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                          purpose="下载附件", fields=[f"attachment:{row.id}:{variant}"], at=deps.clock.now()))
    log.info("attachment_downloaded", case_id=str(row.case_id), attachment_id=str(row.id), variant=variant)
    return Download(data=data, content_type=(row.redacted_content_type if redacted else row.content_type) or "",
                    name=row.name, sha256=(row.redacted_sha256 if redacted else row.sha256) or "", redacted=redacted)
