"""The 受理登记表 rendered for the window (access-logged: it carries the applicant's name and phone), and the 司法确认
of an agreement: applied on, court, accepted, confirmed or refused, ruling number and date. A confirmation needs a
signed agreement of the same case; ``fq.case.judicial_confirmation_recorded.v1`` carries ids and the status only.
The caller owns the transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain import documents as doc
from intake_svc.domain.case import TimelineKind
from intake_svc.handlers.agreements import _parties, load_agreement, log_render
from intake_svc.handlers.case_file import get_case_in_scope
from intake_svc.handlers.registration import aad
from intake_svc.schemas_documents import ConfirmationCreate, ConfirmationPublic, ConfirmationUpdate
from intake_svc.store import cases as case_store
from intake_svc.tables import Case
from intake_svc.tables_documents import JudicialConfirmation
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.clock import SHANGHAI
from shared.dictionaries import CHANNEL, REQUEST_TYPE
from shared.events.case import Channel, RequestType
from shared.events.records import ConfirmationStatus, JudicialConfirmationRecorded
from shared.preconditions import check_version
from shared.problems import Problem, field_problem


async def render_registration(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, user: Principal,
                              font: Path) -> tuple[Case, bytes]:
    case = await get_case_in_scope(session, case_id, user)
    parties = _parties(deps, case)
    address = case.location.get("address_sealed")
    taxonomy = deps.classifier.taxonomy
    data = doc.RegistrationDoc(
        code=case.code, received_at=case.created_at, channel=CHANNEL[Channel(case.channel)],
        request_type=REQUEST_TYPE[RequestType(case.request_type)],
        category=taxonomy.full_label(case.category) if case.category else "", title=case.title,
        description=case.description, address=deps.pii.open(address, aad(case.id)) if address else None,
        parties=parties)
    pdf = await asyncio.to_thread(doc.render_registration, data, font)
    log_render(session, deps, case, user, "打印受理登记表", "registration_form", parties)
    return case, pdf


def to_public(c: JudicialConfirmation) -> ConfirmationPublic:
    status = ConfirmationStatus(c.status)
    return ConfirmationPublic(
        id=c.id, case_id=c.case_id, agreement_id=c.agreement_id, applied_on=c.applied_on, court=c.court,
        accepted=c.accepted, confirmed=c.confirmed, ruling_number=c.ruling_number, decided_on=c.decided_on,
        status=status, status_label=doc.CONFIRMATION_ZH[status], recorded_by=c.recorded_by, created_at=c.created_at,
        updated_at=c.updated_at, version=c.version)


def _check(applied_on: date, accepted: bool | None, confirmed: bool | None, ruling: str | None,
           decided_on: date | None, today: date) -> None:
    """A decision follows an acceptance; a confirmation carries its ruling number and date; no date ahead."""
    if applied_on > today:
        raise field_problem("applied_on", "cannot be in the future", "date_in_future")
    if confirmed is not None and not accepted:
        raise field_problem("accepted", "the court decides after accepting: accepted must be true",
                            "decision_before_acceptance")
    if confirmed and not ruling:
        raise field_problem("ruling_number", "a confirmation carries the ruling's number", "required")
    if confirmed is not None and decided_on is None:
        raise field_problem("decided_on", "a decision carries its date", "required")
    if decided_on is not None and (decided_on < applied_on or decided_on > today):
        raise field_problem("decided_on", "between applied_on and today", "invalid_date")


async def _load(session: AsyncSession, case_id: uuid.UUID, confirmation_id: uuid.UUID, *,
                for_update: bool = False) -> JudicialConfirmation:
    found = await session.get(JudicialConfirmation, confirmation_id, with_for_update=for_update)
    if found is None or found.case_id != case_id:
        raise Problem(404, "confirmation_not_found", f"no 司法确认 {confirmation_id} on this case")
    return found


async def list_confirmations(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> list[JudicialConfirmation]:
    case = await get_case_in_scope(session, case_id, user)
    rows = await session.execute(select(JudicialConfirmation).where(
        JudicialConfirmation.case_id == case.id).order_by(JudicialConfirmation.created_at))  # type: ignore[arg-type]
    return list(rows.scalars())


async def _recorded(session: AsyncSession, deps: IntakeDeps, c: JudicialConfirmation, user: Principal) -> None:
    now = deps.clock.now()
    status = ConfirmationStatus(c.status)
    case_store.add_timeline(session, c.case_id, now, TimelineKind.JUDICIAL_CONFIRMATION, doc.CONFIRMATION_ZH[status],
                            actor=user.sub, public=True,
                            data={"confirmation_id": str(c.id), "agreement_id": str(c.agreement_id),
                                  "status": status.value})
    await add_event(session, JudicialConfirmationRecorded(
        case_id=c.case_id, at=now, confirmation_id=c.id, agreement_id=c.agreement_id, status=status,
        recorded_by=user.sub), source=deps.source)


async def create_confirmation(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: ConfirmationCreate,
                              user: Principal) -> JudicialConfirmation:
    case = await get_case_in_scope(session, case_id, user)
    try:
        a = await load_agreement(session, case.id, body.agreement_id, for_update=True)
    except Problem:
        raise field_problem("agreement_id", "no agreement with this id on the case: 司法确认 needs a 人民调解协议书",
                            "agreement_not_found") from None
    if a.status != doc.AgreementStatus.SIGNED:
        raise Problem(409, "agreement_not_signed", "司法确认 is applied for with the signed agreement: file its "
                                                   "signed scan first")
    existing = (await session.execute(select(JudicialConfirmation.id).where(
        JudicialConfirmation.agreement_id == a.id))).scalar_one_or_none()  # type: ignore[arg-type]
    if existing is not None:
        raise Problem(409, "confirmation_exists", "this agreement already has a 司法确认 record: update it",
                      confirmation_id=str(existing))
    today = deps.clock.now().astimezone(SHANGHAI).date()
    _check(body.applied_on, body.accepted, body.confirmed, body.ruling_number, body.decided_on, today)
    now = deps.clock.now()
    c = JudicialConfirmation(case_id=case.id, agreement_id=a.id, applied_on=body.applied_on, court=body.court,
                             accepted=body.accepted, confirmed=body.confirmed, ruling_number=body.ruling_number,
                             decided_on=body.decided_on,
                             status=doc.confirmation_status(body.accepted, body.confirmed).value,
                             recorded_by=user.sub, created_at=now, updated_at=now, version=1)
    session.add(c)
    await _recorded(session, deps, c, user)
    await session.flush()
    return c


async def update_confirmation(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, confirmation_id: uuid.UUID,
                              body: ConfirmationUpdate, user: Principal, if_match: int) -> JudicialConfirmation:
    await get_case_in_scope(session, case_id, user)
    c = await _load(session, case_id, confirmation_id, for_update=True)
    check_version(c.version, if_match, "confirmation")
    before = c.status
    if before in (ConfirmationStatus.CONFIRMED, ConfirmationStatus.REFUSED) and \
            {"accepted", "confirmed"} & body.model_fields_set:
        raise Problem(409, "confirmation_decided", "the court has decided; its decision is not changed here")
    for name in body.model_fields_set:
        setattr(c, name, getattr(body, name))
    _check(c.applied_on, c.accepted, c.confirmed, c.ruling_number, c.decided_on,
           deps.clock.now().astimezone(SHANGHAI).date())
    c.status = doc.confirmation_status(c.accepted, c.confirmed).value
    c.updated_at, c.version, c.recorded_by = deps.clock.now(), c.version + 1, user.sub
    if c.status != before:
        await _recorded(session, deps, c, user)
    return c
