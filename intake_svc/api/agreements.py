"""The case file's documents: 人民调解协议书 (draft, edit, the national-format PDF, the signed scan filed, its 履行),
the 受理登记表 PDF and the 司法确认 record. Creating POSTs take ``Idempotency-Key``; updates ``If-Match``; every PDF
render is written to the access log (``GET …/access-log``)."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from intake_svc.adapters.storage import new_key
from intake_svc.api.attachments import UPLOAD_RESPONSES, FileIn, _read
from intake_svc.api.case_file import IDEMPOTENT
from intake_svc.api.preconditions import IfMatch, etag, version
from intake_svc.deps import Deps, IntakeDeps
from intake_svc.handlers import agreements, documents
from intake_svc.handlers.case_file import PII_READERS
from intake_svc.schemas_documents import (
    AgreementCreate,
    AgreementPublic,
    AgreementUpdate,
    ConfirmationCreate,
    ConfirmationPublic,
    ConfirmationUpdate,
    PerformanceIn,
)
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.idempotency import Answer, Idempotent, IdempotentUpload
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["documents"])

STAFF = require_roles(Role.OPERATOR, Role.MEDIATOR, Role.GRID_WORKER, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)
READERS = require_roles(*PII_READERS)
UPDATE = {409: {"description": "the agreement is signed"}, 412: {"description": "stale If-Match"},
          428: {"description": "If-Match missing"}}
PDF = {200: {"content": {"application/pdf": {}}}, 503: {"description": "the PDF font is not installed"}}


def _font(deps: IntakeDeps) -> None:
    if not deps.records.pdf_font.is_file():
        raise Problem(503, "pdf_font_missing", "the CJK font for PDFs is not installed (INTAKE_PDF_FONT)")


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}.pdf",
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


def _answer(status: int, body: AgreementPublic, case_id: uuid.UUID) -> Answer:
    return Answer(status, body, {"ETag": etag(body.version),
                                 "Location": f"/api/v1/cases/{case_id}/agreements/{body.id}"})


@router.post("/cases/{case_id}/agreements", status_code=201, response_model=AgreementPublic, dependencies=[STAFF],
             responses=IDEMPOTENT)
async def draft_agreement(case_id: uuid.UUID, body: AgreementCreate, session: SessionDep, deps: Deps,
                          user: CurrentUser, idem: Idempotent) -> Response:
    """The mediator's 人民调解协议书: facts (纠纷事实), terms (协议内容), the 履行 way and deadline, the mediators
    (member ids) and the committee. A draft until its signed scan is filed. With an ``Idempotency-Key`` a repeat
    drafts once (the first answer is replayed)."""
    async def work() -> Answer:
        case, a = await agreements.create_agreement(session, deps, case_id, body, user)
        return _answer(201, agreements.to_public(deps, case, a), case_id)

    return await idem.run(session, work)


@router.get("/cases/{case_id}/agreements", response_model=list[AgreementPublic])
async def list_agreements(case_id: uuid.UUID, session: SessionDep, deps: Deps,
                          user: CurrentUser) -> list[AgreementPublic]:
    """The case's agreements (facts and terms masked)."""
    case, rows = await agreements.list_agreements(session, case_id, user)
    return [agreements.to_public(deps, case, a) for a in rows]


@router.get("/cases/{case_id}/agreements/{agreement_id}", response_model=AgreementPublic)
async def get_agreement(case_id: uuid.UUID, agreement_id: uuid.UUID, session: SessionDep, deps: Deps,
                        user: CurrentUser, response: Response) -> AgreementPublic:
    case, a = await agreements.in_scope(session, case_id, agreement_id, user)
    response.headers["ETag"] = etag(a.version)
    return agreements.to_public(deps, case, a)


@router.patch("/cases/{case_id}/agreements/{agreement_id}", response_model=AgreementPublic, dependencies=[STAFF],
              responses=UPDATE)
async def edit_agreement(case_id: uuid.UUID, agreement_id: uuid.UUID, body: AgreementUpdate, session: SessionDep,
                         deps: Deps, user: CurrentUser, if_match: IfMatch = None) -> Response:
    """Edit a draft; ``If-Match``: the agreement's ETag."""
    expected = version(if_match, required=True)
    assert expected is not None

    async def work() -> Answer:
        case, a = await agreements.update_agreement(session, deps, case_id, agreement_id, body, user, expected)
        return _answer(200, agreements.to_public(deps, case, a), case_id)

    return (await pending.run(session, work)).response()


@router.get("/cases/{case_id}/agreements/{agreement_id}/pdf", response_class=Response, dependencies=[READERS],
            responses=PDF)
async def agreement_pdf(case_id: uuid.UUID, agreement_id: uuid.UUID, session: SessionDep, deps: Deps,
                        user: CurrentUser) -> Response:
    """The agreement in the national format (人民调解协议书) with the parties' ID numbers, the mediators, the
    committee, the date and the sign lines. Every render is written to the access log."""
    _font(deps)
    async with pending.transaction(session):
        name, data = await agreements.render_pdf(session, deps, case_id, agreement_id, user, deps.records.pdf_font)
    return _pdf(data, f"人民调解协议书-{name}")


@router.post("/cases/{case_id}/agreements/{agreement_id}/signed-scan", status_code=201,
             response_model=AgreementPublic, dependencies=[STAFF], responses={**UPLOAD_RESPONSES, **UPDATE})
async def file_signed_scan(case_id: uuid.UUID, agreement_id: uuid.UUID, request: Request, file: FileIn,
                           session: SessionDep, deps: Deps, user: CurrentUser, idem: IdempotentUpload,
                           if_match: IfMatch = None) -> Response:
    """Upload the signed agreement (a PDF or an image, ``multipart/form-data`` part ``file``): it is filed as the
    agreement's attachment and the agreement becomes ``signed``; its 履行 deadline starts the follow-up.
    ``If-Match`` (the agreement's ETag) is optional."""
    expected = version(if_match, required=False)
    upload = await _read(request, file, deps)
    idem = idem.covering(hashlib.sha256(upload.data).hexdigest(), upload.name)
    keys: list[str] = []

    async def work() -> Answer:
        keys.append(new_key(case_id))
        case, a = await agreements.file_signed_scan(session, deps, case_id, agreement_id, upload, keys[-1], user,
                                                    expected)
        return _answer(201, agreements.to_public(deps, case, a), case_id)

    try:
        answer = await idem.run(session, work)
    except BaseException:
        for key in keys:
            await deps.storage.delete(key)
        raise
    for key in keys[:-1]:
        await deps.storage.delete(key)
    return answer


@router.post("/cases/{case_id}/agreements/{agreement_id}/performance", response_model=AgreementPublic,
             dependencies=[STAFF], responses={**IDEMPOTENT, **UPDATE})
async def record_performance(case_id: uuid.UUID, agreement_id: uuid.UUID, body: PerformanceIn, session: SessionDep,
                             deps: Deps, user: CurrentUser, idem: Idempotent, if_match: IfMatch = None) -> Response:
    """已履行 (``performed``) ends the follow-up; 未履行 (``not_performed``) marks it failed and the resolving unit is
    told (the case is not reopened automatically: that is a 回头看/重办 decision). ``If-Match``: the agreement's
    ETag."""
    expected = version(if_match, required=True)
    assert expected is not None

    async def work() -> Answer:
        case, a = await agreements.record_performance(session, deps, case_id, agreement_id, body, user, expected)
        return _answer(200, agreements.to_public(deps, case, a), case_id)

    return await idem.run(session, work)


@router.get("/cases/{case_id}/registration-form.pdf", response_class=Response, dependencies=[READERS],
            responses=PDF)
async def registration_form(case_id: uuid.UUID, session: SessionDep, deps: Deps, user: CurrentUser) -> Response:
    """The case's 受理登记表 for the window, with the applicant's name and phone, for the applicant to sign. Every
    render is written to the access log."""
    _font(deps)
    async with pending.transaction(session):
        case, data = await documents.render_registration(session, deps, case_id, user, deps.records.pdf_font)
    return _pdf(data, f"受理登记表-{case.code}")


@router.post("/cases/{case_id}/judicial-confirmations", status_code=201, response_model=ConfirmationPublic,
             dependencies=[STAFF], responses={**IDEMPOTENT, 409: {"description": "the agreement is not signed, or "
                                                                  "already has a 司法确认 record"}})
async def apply_confirmation(case_id: uuid.UUID, body: ConfirmationCreate, session: SessionDep, deps: Deps,
                             user: CurrentUser, idem: Idempotent) -> Response:
    """A 司法确认 of a signed agreement of the case: applied on, the court, and what the court did so far. 422
    ``agreement_id`` when the case has no such agreement; 409 ``agreement_not_signed`` for a draft."""
    async def work() -> Answer:
        c = documents.to_public(await documents.create_confirmation(session, deps, case_id, body, user))
        return Answer(201, c, {"ETag": etag(c.version),
                               "Location": f"/api/v1/cases/{case_id}/judicial-confirmations/{c.id}"})

    return await idem.run(session, work)


@router.get("/cases/{case_id}/judicial-confirmations", response_model=list[ConfirmationPublic])
async def list_confirmations(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[ConfirmationPublic]:
    return [documents.to_public(c) for c in await documents.list_confirmations(session, case_id, user)]


@router.patch("/cases/{case_id}/judicial-confirmations/{confirmation_id}", response_model=ConfirmationPublic,
              dependencies=[STAFF], responses={**UPDATE, 409: {"description": "the court has decided"}})
async def update_confirmation(case_id: uuid.UUID, confirmation_id: uuid.UUID, body: ConfirmationUpdate,
                              session: SessionDep, deps: Deps, user: CurrentUser,
                              if_match: IfMatch = None) -> Response:
    """The court's answers as they come: accepted, confirmed (with the ruling number and date) or refused.
    ``If-Match``: the record's ETag."""
    expected = version(if_match, required=True)
    assert expected is not None

    async def work() -> Answer:
        c = documents.to_public(await documents.update_confirmation(session, deps, case_id, confirmation_id, body,
                                                                   user, expected))
        return Answer(200, c, {"ETag": etag(c.version)})

    return (await pending.run(session, work)).response()
