"""Internal API for other services (role ``service`` only): the applicant's contact for a case.

Notify reads here the phone it sends the 回访 SMS to; each read is written to the case's personal-data access
log with the caller and its stated purpose, like a staff member's reveal.
"""

from __future__ import annotations

import uuid

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from intake_svc.handlers import IntakeDeps
from intake_svc.tables import Case, PiiAccess
from shared.auth import CurrentUser, Role
from shared.problems import Problem
from shared.runtime import SessionDep

internal_router = APIRouter(prefix="/api/v1/internal", tags=["internal"])
log = structlog.get_logger(__name__)


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=4, max_length=500, description="why the contact is needed (logged)")


class ApplicantContact(BaseModel):
    case_id: uuid.UUID
    name: str | None
    phone: str | None


@internal_router.post("/cases/{case_id}/applicant-contact", response_model=ApplicantContact)
async def applicant_contact(case_id: uuid.UUID, body: ContactRequest, request: Request, session: SessionDep,
                            user: CurrentUser) -> ApplicantContact:
    if Role.SERVICE not in user.roles:
        raise Problem(403, "forbidden_role", "only services may read contact data here")
    deps: IntakeDeps = request.app.state.deps
    async with session.begin():
        case = await session.get(Case, case_id)
        if case is None:
            raise Problem(404, "case_not_found", f"no case {case_id}")
        aad = str(case.id).encode()
        applicant = next((p for p in case.parties if p["role"] == "applicant" and p.get("phone_sealed")),
                         next((p for p in case.parties if p["role"] == "applicant"), None))
        if applicant is None:
            raise Problem(404, "applicant_not_found", f"case {case_id} has no applicant")
        name = deps.pii.open(applicant["name_sealed"], aad) if applicant.get("name_sealed") else None
        phone = deps.pii.open(applicant["phone_sealed"], aad) if applicant.get("phone_sealed") else None
        fields = sorted(f for f, v in (("name", name), ("phone", phone)) if v)
        session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                              purpose=body.purpose, fields=fields, at=deps.clock.now()))
    log.info("applicant_contact_read", case_id=str(case_id), by=user.sub)
    return ApplicantContact(case_id=case_id, name=name, phone=phone)
