"""Parties after registration: add a respondent or another party, correct any party — validated like registration
(``PartyIn``), sealed, the applicants' blind index kept current, each change in the access log and on the staff
timeline (no personal data there). The caller owns the transaction."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import PartyRole, TimelineKind
from intake_svc.domain.records import PARTY_ROLE_ZH
from intake_svc.handlers.case_file import get_case_in_scope
from intake_svc.handlers.registration import aad
from intake_svc.schemas import PartyIn
from intake_svc.schemas_records import PartyChange
from intake_svc.store import cases as store
from intake_svc.tables import Case, PiiAccess
from shared.auth import Principal
from shared.crypto import blind_index
from shared.preconditions import check_version
from shared.problems import Problem, field_problem

log = structlog.get_logger(__name__)

_PERSONAL = ("name", "phone", "id_number")


def _check_version(case: Case, if_match: int | None) -> None:
    if if_match is not None:
        check_version(case.version, if_match, "case")


def _sealed(deps: IntakeDeps, case_id: uuid.UUID, party_id: str, p: PartyIn) -> dict[str, Any]:
    to = aad(case_id)
    return {"id": party_id, "role": p.role.value, "kind": p.kind.value, "name_sealed": deps.pii.seal(p.name, to),
            "phone_sealed": deps.pii.seal(p.phone, to) if p.phone else None,
            "id_number_sealed": deps.pii.seal(p.id_number, to) if p.id_number else None}


def _opened(deps: IntakeDeps, case_id: uuid.UUID, sealed: dict[str, Any]) -> dict[str, str | None]:
    return {f: deps.pii.open(sealed[f"{f}_sealed"], aad(case_id)) if sealed.get(f"{f}_sealed") else None
            for f in _PERSONAL}


def _applicant_index(deps: IntakeDeps, case: Case) -> list[str]:
    """The blind index of the applicants' phones and ID numbers, as registration computes it."""
    values = [_opened(deps, case.id, p) for p in case.parties if p["role"] == PartyRole.APPLICANT]
    return sorted({blind_index(deps.index_key, kind, value) for v in values
                   for kind, field in (("phone", "phone"), ("id", "id_number")) if (value := v[field])})


def _log_write(session: AsyncSession, deps: IntakeDeps, case: Case, user: Principal, purpose: str,
               fields: list[str]) -> None:
    session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                          purpose=purpose, fields=fields, at=deps.clock.now()))
    log.info("pii_written", case_id=str(case.id), accessed_by=user.sub, fields=fields)


async def add_party(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: PartyChange,
                    user: Principal, if_match: int | None) -> tuple[Case, uuid.UUID]:
    """A respondent or other party known only now (often during mediation)."""
    if body.party.role == PartyRole.APPLICANT:
        raise field_problem("party.role", "applicants are named at registration; add a respondent or other party",
                            "role_not_allowed")
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    _check_version(case, if_match)
    party_id = uuid.uuid4()
    case.parties = [*case.parties, _sealed(deps, case.id, str(party_id), body.party)]
    now = deps.clock.now()
    store.touch(case, now)
    fields = [f for f in _PERSONAL if getattr(body.party, f)]
    _log_write(session, deps, case, user, f"添加当事人：{body.reason}", fields)
    store.add_timeline(session, case.id, now, TimelineKind.PARTY_ADDED,
                       f"添加当事人（{PARTY_ROLE_ZH[body.party.role]}）", actor=user.sub, public=False,
                       data={"party_id": str(party_id), "role": body.party.role.value})
    return case, party_id


def party_position(case: Case, party_id: uuid.UUID) -> int | None:
    """Where the party with ``party_id`` stands in the case's list (None: not a party of the case)."""
    wanted = str(party_id)
    return next((i for i, p in enumerate(case.parties) if p.get("id") == wanted), None)


async def correct_party(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, party_id: uuid.UUID,
                        body: PartyChange, user: Principal, if_match: int) -> Case:
    """Correct a party's data (a wrong digit, the full name learnt later); an applicant stays an applicant and no
    other party becomes one. The applicants' blind index follows."""
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    party_no = party_position(case, party_id)
    if party_no is None:
        raise Problem(404, "party_not_found", f"the case has no party {party_id}")
    _check_version(case, if_match)
    before = case.parties[party_no]
    was_applicant = before["role"] == PartyRole.APPLICANT
    if was_applicant != (body.party.role == PartyRole.APPLICANT):
        raise field_problem("party.role", "an applicant stays an applicant, and no other party becomes one",
                            "role_not_allowed")
    old = _opened(deps, case.id, before)
    changed = [f for f in _PERSONAL if old[f] != getattr(body.party, f)]
    changed += [f for f in ("role", "kind") if before[f] != getattr(body.party, f).value]
    if not changed:
        raise Problem(409, "party_unchanged", "the party already has these data")
    parties = list(case.parties)
    parties[party_no] = _sealed(deps, case.id, str(party_id), body.party)
    case.parties = parties
    if was_applicant:
        case.applicant_index = _applicant_index(deps, case)
    now = deps.clock.now()
    store.touch(case, now)
    _log_write(session, deps, case, user, f"更正当事人信息：{body.reason}", sorted(changed))
    store.add_timeline(session, case.id, now, TimelineKind.PARTY_CORRECTED,
                       f"更正当事人信息（{PARTY_ROLE_ZH[body.party.role]}）", actor=user.sub, public=False,
                       data={"party_id": str(party_id), "fields": sorted(changed)})
    return case
