"""Attachments: multipart upload to a case, one of its notes or 调解 sessions, list, download, the redacted copy of
an image."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Request, Response, UploadFile

from intake_svc.adapters.storage import new_key
from intake_svc.api.case_file import IDEMPOTENT
from intake_svc.api.preconditions import IfMatch, etag, version
from intake_svc.deps import Deps, IntakeDeps
from intake_svc.domain.records import OwnerKind
from intake_svc.handlers import attachments
from intake_svc.schemas_records import AttachmentPublic
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.idempotency import Answer, Idempotency, IdempotentUpload
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["attachments"])

STAFF = require_roles(Role.OPERATOR, Role.MEDIATOR, Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)
CHUNK = 256 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file

FileIn = Annotated[UploadFile, File(description="the file; its type is decided by its content")]


def _too_large(deps: IntakeDeps) -> Problem:
    limit = deps.records.attachment_max_bytes
    return Problem(413, "file_too_large", f"a file may have at most {limit} bytes",
                   errors=[{"field": "file", "reason": f"more than {limit} bytes", "code": "too_large"}],
                   max_bytes=limit)


def _safe_name(raw: str | None) -> str:
    """The client's file name without a path, control characters or more than 255 characters."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "file"


async def _read(request: Request, file: UploadFile, deps: IntakeDeps) -> attachments.Upload:
    """The upload's bytes within the size limit (a body announced larger is refused before it is parsed)."""
    limit = deps.records.attachment_max_bytes
    announced = request.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > limit + MULTIPART_OVERHEAD:
        raise _too_large(deps)
    parts, size = [], 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise _too_large(deps)
        parts.append(chunk)
    return attachments.Upload(data=b"".join(parts), name=_safe_name(file.filename), declared_type=file.content_type)


async def _upload(case_id: uuid.UUID, owner: OwnerKind, owner_id: uuid.UUID | None, request: Request,
                  file: UploadFile, session: SessionDep, deps: IntakeDeps, user: CurrentUser,
                  idem: Idempotency) -> Response:
    upload = await _read(request, file, deps)
    # the multipart body's boundary differs on every retry: the key stands for the file's bytes and name
    idem = idem.covering(hashlib.sha256(upload.data).hexdigest(), upload.name)
    keys: list[str] = []  # a blob per try (``run`` redoes the work on a deadlock)

    async def work() -> Answer:
        keys.append(new_key(case_id))
        row = await attachments.add_attachment(session, deps, case_id, owner, owner_id, upload, keys[-1], user)
        return Answer(201, attachments.to_public(row), {
            "ETag": etag(row.version), "Location": f"/api/v1/cases/{case_id}/attachments/{row.id}"})

    try:
        answer = await idem.run(session, work)
    except BaseException:
        await _delete(deps, keys)
        raise
    await _delete(deps, keys[:-1])  # the blobs of tries rolled back for a deadlock
    return answer


async def _delete(deps: IntakeDeps, keys: list[str]) -> None:
    """Blobs nothing refers to (deleting a key never written is fine)."""
    for key in keys:
        await deps.storage.delete(key)


UPLOAD_RESPONSES: dict[int | str, dict[str, object]] = {
    **IDEMPOTENT, 413: {"description": "larger than INTAKE_ATTACHMENT_MAX_BYTES"},
    422: {"description": "the content is not an allowed type, or not the declared one; or Idempotency-Key reused "
                         "with another file"}}


@router.post("/cases/{case_id}/attachments", status_code=201, response_model=AttachmentPublic, dependencies=[STAFF],
             responses=UPLOAD_RESPONSES)
async def upload_to_case(case_id: uuid.UUID, request: Request, file: FileIn, session: SessionDep, deps: Deps,
                         user: CurrentUser, idem: IdempotentUpload) -> Response:
    """File a document with the case (``multipart/form-data``, part ``file``). With an ``Idempotency-Key`` the same
    file sent again is filed once (the first answer is replayed)."""
    return await _upload(case_id, OwnerKind.CASE, None, request, file, session, deps, user, idem)


@router.post("/cases/{case_id}/notes/{note_id}/attachments", status_code=201, response_model=AttachmentPublic,
             dependencies=[STAFF], responses=UPLOAD_RESPONSES)
async def upload_to_note(case_id: uuid.UUID, note_id: uuid.UUID, request: Request, file: FileIn,
                         session: SessionDep, deps: Deps, user: CurrentUser, idem: IdempotentUpload) -> Response:
    """File a document with one of the case's notes (e.g. the photo of a 上门走访)."""
    return await _upload(case_id, OwnerKind.NOTE, note_id, request, file, session, deps, user, idem)


@router.post("/cases/{case_id}/sessions/{session_id}/attachments", status_code=201, response_model=AttachmentPublic,
             dependencies=[STAFF], responses=UPLOAD_RESPONSES)
async def upload_to_session(case_id: uuid.UUID, session_id: uuid.UUID, request: Request, file: FileIn,
                            session: SessionDep, deps: Deps, user: CurrentUser, idem: IdempotentUpload) -> Response:
    """File a document with one of the case's 调解 sessions (e.g. the signed attendance sheet)."""
    return await _upload(case_id, OwnerKind.SESSION, session_id, request, file, session, deps, user, idem)


@router.get("/cases/{case_id}/attachments", response_model=list[AttachmentPublic])
async def list_attachments(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[AttachmentPublic]:
    """Every attachment of the case and of its records (metadata only)."""
    return [attachments.to_public(a) for a in await attachments.list_attachments(session, case_id, user)]


@router.get("/cases/{case_id}/attachments/{attachment_id}/content", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
async def download(case_id: uuid.UUID, attachment_id: uuid.UUID, session: SessionDep, deps: Deps,
                   user: CurrentUser) -> Response:
    """The file's bytes (the redacted copy, when there is one, for readers without personal-data rights). Every
    download is written to the access log."""
    async with pending.transaction(session):
        got = await attachments.download(session, deps, case_id, attachment_id, user)
    return Response(got.data, media_type=got.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(got.name)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "X-Checksum-SHA256": got.sha256, "X-Redacted-Copy": "true" if got.redacted else "false"})


@router.put("/cases/{case_id}/attachments/{attachment_id}/redacted", response_model=AttachmentPublic,
            dependencies=[require_roles(Role.OPERATOR, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)],
            responses={412: {"description": "stale If-Match"}, 428: {"description": "If-Match missing"}})
async def upload_redacted(case_id: uuid.UUID, attachment_id: uuid.UUID, request: Request, file: FileIn,
                          session: SessionDep, deps: Deps, user: CurrentUser, response: Response,
                          if_match: IfMatch = None) -> AttachmentPublic:
    """The redacted copy of an image (personal data blacked out by staff): it replaces the original for readers
    without personal-data rights. ``If-Match``: the attachment's ETag."""
    expected = version(if_match, required=True)
    assert expected is not None
    upload = await _read(request, file, deps)
    key = new_key(case_id)
    try:
        async with pending.transaction(session):
            row = await attachments.add_redacted_copy(session, deps, case_id, attachment_id, upload, key, user,
                                                      expected)
    except BaseException:
        await deps.storage.delete(key)
        raise
    response.headers["ETag"] = etag(row.version)
    return attachments.to_public(row)
