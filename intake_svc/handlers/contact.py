"""The applicant's contact for another service (notify's 回访 SMS): read, and written to the access log."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import PartyRole
from intake_svc.handlers.registration import aad
from intake_svc.schemas import ApplicantContact, ContactRequest
from intake_svc.store import cases as store
from intake_svc.tables import PiiAccess
from shared.auth import Principal
from shared.problems import Problem

log = structlog.get_logger(__name__)


async def applicant_contact(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: ContactRequest,
                            user: Principal) -> ApplicantContact:
    """The applicant with a phone (else the first applicant): name and phone, opened for ``body.purpose``."""
    case = await store.load_case(session, case_id)
    if case is None:
        raise Problem(404, "case_not_found", f"no case {case_id}")
    sealed_to = aad(case.id)
    applicants = [p for p in case.parties if p["role"] == PartyRole.APPLICANT]
    applicant = next((p for p in applicants if p.get("phone_sealed")), next(iter(applicants), None))
    if applicant is None:
        raise Problem(404, "applicant_not_found", f"case {case_id} has no applicant")
    name = deps.pii.open(applicant["name_sealed"], sealed_to) if applicant.get("name_sealed") else None
    phone = deps.pii.open(applicant["phone_sealed"], sealed_to) if applicant.get("phone_sealed") else None
    fields = sorted(f for f, v in (("name", name), ("phone", phone)) if v)
    session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                          purpose=body.purpose, fields=fields, at=deps.clock.now()))
    log.info("applicant_contact_read", case_id=str(case_id), by=user.sub)
    return ApplicantContact(case_id=case_id, name=name, phone=phone)
