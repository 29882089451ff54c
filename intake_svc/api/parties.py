"""Parties after registration: add a respondent or other party, correct a party."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from intake_svc.api.case_file import IDEMPOTENT
from intake_svc.api.preconditions import IfMatch, etag, version
from intake_svc.deps import Deps
from intake_svc.domain.personal import mask_id_number, mask_name, mask_phone
from intake_svc.handlers import parties
from intake_svc.schemas import PartyIn, PartyPublic
from intake_svc.schemas_records import PartyChange, PartyChanged
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.idempotency import Answer, Idempotent
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["parties"])

# who may write parties' personal data: those who may read it in full
WRITERS = require_roles(Role.OPERATOR, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


def _masked(party_id: uuid.UUID, p: PartyIn) -> PartyPublic:
    return PartyPublic(id=party_id, role=p.role, kind=p.kind, name=mask_name(p.name),
                       phone=mask_phone(p.phone) if p.phone else None,
                       id_number=mask_id_number(p.id_number) if p.id_number else None)


@router.post("/cases/{case_id}/parties", status_code=201, response_model=PartyChanged, dependencies=[WRITERS],
             responses=IDEMPOTENT)
async def add_party(case_id: uuid.UUID, body: PartyChange, session: SessionDep, deps: Deps, user: CurrentUser,
                    idem: Idempotent, if_match: IfMatch = None) -> Response:
    """Add a respondent or other party (applicants are named at registration). ``If-Match`` (the case's ETag) is
    optional here; the answer's ``ETag`` is the case's new version. With an ``Idempotency-Key`` a repeat adds the
    party once (the first answer is replayed)."""
    expected = version(if_match, required=False)

    async def work() -> Answer:
        case, party_id = await parties.add_party(session, deps, case_id, body, user, expected)
        return Answer(201, PartyChanged(case_id=case.id, party_id=party_id, party=_masked(party_id, body.party),
                                        case_version=case.version), {"ETag": etag(case.version)})

    return await idem.run(session, work)


@router.put("/cases/{case_id}/parties/{party_id}", response_model=PartyChanged, dependencies=[WRITERS],
            responses={412: {"description": "stale If-Match"}, 428: {"description": "If-Match missing"}})
async def correct_party(case_id: uuid.UUID, party_id: uuid.UUID, body: PartyChange,
                        session: SessionDep, deps: Deps, user: CurrentUser, response: Response,
                        if_match: IfMatch = None) -> PartyChanged:
    """Correct the party ``party_id`` (the ``id`` of one of the case's ``parties``); ``If-Match``: the case's ETag."""
    expected = version(if_match, required=True)
    assert expected is not None
    async with pending.transaction(session):
        case = await parties.correct_party(session, deps, case_id, party_id, body, user, expected)
    response.headers["ETag"] = etag(case.version)
    return PartyChanged(case_id=case.id, party_id=party_id, party=_masked(party_id, body.party),
                        case_version=case.version)
