"""Internal API for other services (role ``service`` only): the applicant's contact for a case.

Notify reads here the phone it sends the 回访 SMS to; each read is written to the case's personal-data access
log with the caller and its stated purpose, like a staff member's reveal.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from intake_svc.deps import Deps
from intake_svc.handlers import contact
from intake_svc.schemas import ApplicantContact, ContactRequest
from shared.auth import CurrentUser, Role
from shared.bus import pending
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1/internal", tags=["internal"])


@router.post("/cases/{case_id}/applicant-contact", response_model=ApplicantContact)
async def applicant_contact(case_id: uuid.UUID, body: ContactRequest, session: SessionDep, user: CurrentUser,
                            deps: Deps) -> ApplicantContact:
    if Role.SERVICE not in user.roles:
        raise Problem(403, "forbidden_role", "only services may read contact data here")
    async with pending.transaction(session):
        return await contact.applicant_contact(session, deps, case_id, body, user)
