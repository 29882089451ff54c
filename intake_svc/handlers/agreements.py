"""人民调解协议书: drafted by the mediator (facts and terms sealed: they name people), edited while a draft, rendered
as the national-format PDF (every render in the access log: it carries the parties' ID numbers), filed when its
signed scan is uploaded (an attachment owned by the agreement; ``fq.case.agreement_signed.v1`` starts the 履行
follow-up), and its 履行 recorded (``fq.case.performance_recorded.v1``). The caller owns the transaction."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain import documents as doc
from intake_svc.domain.case import PartyKind, PartyRole, TimelineKind
from intake_svc.domain.records import PARTY_ROLE_ZH, OwnerKind
from intake_svc.domain.textscan import mask_text
from intake_svc.handlers import attachments
from intake_svc.handlers.case_file import get_case_in_scope
from intake_svc.handlers.registration import aad
from intake_svc.schemas_documents import AgreementCreate, AgreementPublic, AgreementUpdate, PerformanceIn
from intake_svc.store import cases as case_store
from intake_svc.tables import Case, PiiAccess
from intake_svc.tables_documents import Agreement
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.clock import SHANGHAI
from shared.events.records import AgreementSigned, PerformanceRecorded, PerformanceWay
from shared.preconditions import check_version
from shared.problems import Problem, field_problem

log = structlog.get_logger(__name__)

SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/heic", "image/webp")


def number(case: Case, a: Agreement) -> str:
    return f"{case.code}-XY{a.number:02d}"


def to_public(deps: IntakeDeps, case: Case, a: Agreement) -> AgreementPublic:
    way, perf = PerformanceWay(a.performance_way), doc.PerformanceStatus(a.performance)
    return AgreementPublic(
        id=a.id, case_id=a.case_id, number=number(case, a), status=doc.AgreementStatus(a.status),
        facts=mask_text(deps.pii.open(a.facts_sealed, aad(a.case_id))),
        terms=mask_text(deps.pii.open(a.terms_sealed, aad(a.case_id))), performance_way=way,
        performance_way_label=doc.PERFORMANCE_WAY_ZH[way], performance_due=a.performance_due, mediators=a.mediators,
        committee=a.committee, signed_on=a.signed_on, signed_attachment_id=a.signed_attachment_id, performance=perf,
        performance_label=doc.PERFORMANCE_ZH[perf], performance_recorded_at=a.performance_recorded_at,
        created_by=a.created_by, created_at=a.created_at, updated_at=a.updated_at, version=a.version)


async def load_agreement(session: AsyncSession, case_id: uuid.UUID, agreement_id: uuid.UUID, *,
                         for_update: bool = False) -> Agreement:
    found = await session.get(Agreement, agreement_id, with_for_update=for_update)
    if found is None or found.case_id != case_id:
        raise Problem(404, "agreement_not_found", f"no agreement {agreement_id} on this case")
    return found


async def in_scope(session: AsyncSession, case_id: uuid.UUID, agreement_id: uuid.UUID, user: Principal, *,
                   for_update: bool = False) -> tuple[Case, Agreement]:
    case = await get_case_in_scope(session, case_id, user)
    return case, await load_agreement(session, case.id, agreement_id, for_update=for_update)


async def list_agreements(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> tuple[Case, list[Agreement]]:
    case = await get_case_in_scope(session, case_id, user)
    rows = await session.execute(select(Agreement).where(Agreement.case_id == case.id)  # type: ignore[arg-type]
                                 .order_by(Agreement.number))  # type: ignore[arg-type]
    return case, list(rows.scalars())


async def create_agreement(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: AgreementCreate,
                           user: Principal) -> tuple[Case, Agreement]:
    case = await get_case_in_scope(session, case_id, user, for_update=True)  # numbers the case's agreements
    if case.duplicate_of is not None:
        raise Problem(409, "case_merged", "the case is merged into another: draft the agreement there")
    count = (await session.execute(select(func.count()).select_from(Agreement).where(
        Agreement.case_id == case.id))).scalar_one()  # type: ignore[arg-type]
    now, to = deps.clock.now(), aad(case.id)
    a = Agreement(case_id=case.id, number=count + 1, status=doc.AgreementStatus.DRAFT.value,
                  facts_sealed=deps.pii.seal(body.facts, to), terms_sealed=deps.pii.seal(body.terms, to),
                  performance_way=body.performance_way.value, performance_due=body.performance_due,
                  mediators=body.mediators, committee=body.committee, created_by=user.sub, created_at=now,
                  updated_at=now, version=1)
    session.add(a)
    case_store.add_timeline(session, case.id, now, TimelineKind.AGREEMENT_DRAFTED, "起草人民调解协议书",
                            actor=user.sub, public=False, data={"agreement_id": str(a.id)})
    await session.flush()
    return case, a


async def update_agreement(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, agreement_id: uuid.UUID,
                           body: AgreementUpdate, user: Principal, if_match: int) -> tuple[Case, Agreement]:
    case, a = await in_scope(session, case_id, agreement_id, user, for_update=True)
    check_version(a.version, if_match, "agreement")
    if a.status != doc.AgreementStatus.DRAFT:
        raise Problem(409, "agreement_signed", "a signed agreement stands; draft a new one to change it")
    to = aad(case.id)
    if body.facts is not None:
        a.facts_sealed = deps.pii.seal(body.facts, to)
    if body.terms is not None:
        a.terms_sealed = deps.pii.seal(body.terms, to)
    if body.performance_way is not None:
        a.performance_way = body.performance_way.value
    if body.performance_due is not None:
        a.performance_due = body.performance_due
    if body.mediators is not None:
        a.mediators = body.mediators
    if body.committee is not None:
        a.committee = body.committee
    a.updated_at, a.version = deps.clock.now(), a.version + 1
    return case, a


def _parties(deps: IntakeDeps, case: Case) -> list[doc.PartyLine]:
    to = aad(case.id)

    def opened(sealed: str | None) -> str | None:
        return deps.pii.open(sealed, to) if sealed else None

    return [doc.PartyLine(role=PARTY_ROLE_ZH[PartyRole(p["role"])], name=deps.pii.open(p["name_sealed"], to),
                          id_number=opened(p.get("id_number_sealed")), phone=opened(p.get("phone_sealed")),
                          organization=p.get("kind") == PartyKind.ORGANIZATION)
            for p in case.parties]


def log_render(session: AsyncSession, deps: IntakeDeps, case: Case, user: Principal, purpose: str,
               document: str, parties: list[doc.PartyLine]) -> None:
    """A render of a document with full personal data: written to the access log like a reveal."""
    fields = sorted({"name", *(["id_number"] if any(p.id_number for p in parties) else []),
                     *(["phone"] if any(p.phone for p in parties) else [])})
    session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                          purpose=purpose, fields=[*fields, f"document:{document}"], at=deps.clock.now()))
    log.info("document_rendered", case_id=str(case.id), document=document.split(":", 1)[0], accessed_by=user.sub)


async def render_pdf(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, agreement_id: uuid.UUID,
                     user: Principal, font: Path) -> tuple[str, bytes]:
    """The agreement as the national-format PDF (its number, the bytes); the render is access-logged."""
    case, a = await in_scope(session, case_id, agreement_id, user)
    parties = _parties(deps, case)
    to = aad(case.id)
    on = a.signed_on or deps.clock.now().astimezone(SHANGHAI).date()
    data = doc.AgreementDoc(number=number(case, a), committee=a.committee, parties=parties,
                            facts=deps.pii.open(a.facts_sealed, to), terms=deps.pii.open(a.terms_sealed, to),
                            way=PerformanceWay(a.performance_way), due=a.performance_due, mediators=a.mediators, on=on)
    pdf = await asyncio.to_thread(doc.render_agreement, data, font)
    log_render(session, deps, case, user, "打印人民调解协议书", f"agreement:{a.id}", parties)
    return number(case, a), pdf


async def file_signed_scan(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, agreement_id: uuid.UUID,
                           upload: attachments.Upload, key: str, user: Principal, if_match: int | None
                           ) -> tuple[Case, Agreement]:
    """The signed agreement's scan: stored as the agreement's attachment, the agreement filed (signed)."""
    case, a = await in_scope(session, case_id, agreement_id, user, for_update=True)
    if if_match is not None:
        check_version(a.version, if_match, "agreement")
    if a.status != doc.AgreementStatus.DRAFT:
        raise Problem(409, "agreement_signed", "the agreement's signed scan is already filed")
    if attachments.checked_type(deps, upload) not in SCAN_TYPES:
        raise field_problem("file", "a signed scan is a PDF or an image", "file_type_not_allowed")
    row = await attachments.add_attachment(session, deps, case.id, OwnerKind.AGREEMENT, a.id, upload, key, user)
    now = deps.clock.now()
    a.status, a.signed_on = doc.AgreementStatus.SIGNED.value, now.astimezone(SHANGHAI).date()
    a.signed_attachment_id, a.signed_by, a.unit_id = row.id, user.sub, case.current_unit_id
    a.updated_at, a.version = now, a.version + 1
    case_store.add_timeline(session, case.id, now, TimelineKind.AGREEMENT_SIGNED, "人民调解协议书已签署归档",
                            actor=user.sub, public=True, data={"agreement_id": str(a.id)})
    await add_event(session, AgreementSigned(
        case_id=case.id, at=now, agreement_id=a.id, unit_id=a.unit_id,
        performance_way=PerformanceWay(a.performance_way), performance_due=a.performance_due, signed_by=user.sub),
        source=deps.source)
    return case, a


async def record_performance(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, agreement_id: uuid.UUID,
                             body: PerformanceIn, user: Principal, if_match: int) -> tuple[Case, Agreement]:
    """已履行 ends the follow-up; 未履行 marks it failed and tells the unit (through notify). Reopening the case is
    routing's (回头看/重办), decided by people: this does not reopen it."""
    case, a = await in_scope(session, case_id, agreement_id, user, for_update=True)
    check_version(a.version, if_match, "agreement")
    if a.status != doc.AgreementStatus.SIGNED:
        raise Problem(409, "agreement_not_signed", "履行 is followed up once the signed agreement is filed")
    if a.performance != doc.PerformanceStatus.PENDING:
        raise Problem(409, "performance_recorded", f"the 履行 is already recorded as {a.performance}",
                      performance=a.performance)
    now = deps.clock.now()
    a.performance = doc.performance_status(body.result).value
    a.performance_note_sealed = deps.pii.seal(body.note, aad(case.id)) if body.note else None
    a.performance_recorded_by, a.performance_recorded_at = user.sub, now
    a.updated_at, a.version = now, a.version + 1
    label = doc.PERFORMANCE_ZH[doc.PerformanceStatus(a.performance)]
    case_store.add_timeline(session, case.id, now, TimelineKind.PERFORMANCE_RECORDED, f"协议履行情况：{label}",
                            actor=user.sub, public=False,
                            data={"agreement_id": str(a.id), "result": body.result.value})
    await add_event(session, PerformanceRecorded(case_id=case.id, at=now, agreement_id=a.id, result=body.result,
                                                 unit_id=a.unit_id, recorded_by=user.sub), source=deps.source)
    return case, a
