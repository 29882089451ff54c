"""Staff search (by case code, external reference or applicant phone: the phone through the blind index, each
match written to the personal-data access log) and the registration pre-check (登记预检): the classifier, the
risk rules and duplicate detection of registration, with nothing saved and no case code taken."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain import dedup, risk
from intake_svc.domain.case import OPEN_STATUSES, PartyRole
from intake_svc.handlers.registration import check_category
from intake_svc.schemas import CasePreview, CasePreviewIn, DuplicateCandidate, SuggestedCategory
from intake_svc.store.search import PREVIEW_READ
from intake_svc.tables import Case, PiiAccess
from shared.auth import Principal
from shared.crypto import blind_index
from shared.db import driver_connection
from shared.events.case import RequestType

log = structlog.get_logger(__name__)

SEARCH_LIMIT = 20
PHONE_SEARCH_PURPOSE = "按申请人电话查询案件"


async def search(session: AsyncSession, deps: IntakeDeps, user: Principal, *, code: str | None, ref: str | None,
                 phone: str | None) -> list[Case]:
    """Cases in the caller's scope matching every criterion given, newest first (at most ``SEARCH_LIMIT``)."""
    stmt = select(Case)
    own = user.scope_unit()
    if own is not None:
        stmt = stmt.where(Case.visible_units.contains([own]))  # type: ignore[attr-defined]
    if code is not None:
        stmt = stmt.where(Case.code == code.upper())
    if ref is not None:
        # the reference a channel gave: the 12345 order number, or a transfer's file number
        stmt = stmt.where(or_(Case.external_ref == ref,
                              Case.channel_details["transfer"]["reference"].astext == ref))  # type: ignore[index]
    if phone is not None:
        stmt = stmt.where(Case.applicant_index.contains([blind_index(deps.index_key, "phone", phone)]))  # type: ignore[attr-defined]
    rows = list((await session.execute(
        stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(SEARCH_LIMIT))).scalars())  # type: ignore[attr-defined]
    if phone is not None:  # who looked up whose cases by phone, and what matched: the access log
        now = deps.clock.now()
        for case in rows:
            session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles),
                                  unit_id=user.unit_id, purpose=PHONE_SEARCH_PURPOSE, fields=["phone"], at=now))
        log.info("cases_searched_by_phone", accessed_by=user.sub, matches=len(rows))
    return rows


async def preview(session: AsyncSession, deps: IntakeDeps, cmd: CasePreviewIn) -> CasePreview:
    """What ``POST /cases`` would decide for this form, saving nothing."""
    check_category(deps, cmd.category)
    tax = deps.classifier.taxonomy
    text = f"{cmd.title}。{cmd.description}"
    guess = deps.classifier.predict(text)
    top = [SuggestedCategory(code=c, label=tax.full_label(c), confidence=round(p, 3)) for c, p in guess.top3]
    if cmd.category is not None:
        chosen = SuggestedCategory(code=cmd.category, label=tax.full_label(cmd.category), confidence=1.0)
    else:
        chosen = SuggestedCategory(code=guess.category, label=tax.full_label(guess.category),
                                   confidence=round(guess.category_confidence, 3))
    category = chosen.code
    index = sorted({blind_index(deps.index_key, kind, value) for p in cmd.parties if p.role == PartyRole.APPLICANT
                    for kind, value in (("phone", p.phone), ("id", p.id_number)) if value})
    address = cmd.location.address
    address_index = blind_index(deps.index_key, "addr", dedup.normalize_address(address)) if address else None
    place = dedup.place_key(address) if address else None
    place_index = blind_index(deps.index_key, "place", place) if place else None
    now = deps.clock.now()
    conn = await driver_connection(session)
    seen = await conn.fetchrow(PREVIEW_READ, index, now - timedelta(days=deps.risk_rules.repeat_applicant_days),
                               address_index, [s.value for s in OPEN_STATUSES], now - deps.dedup_window, category,
                               place_index)
    recent = list(zip(seen["ids"] or (), seen["codes"] or (), seen["descriptions"] or (), seen["same_matter"] or (),
                      strict=True))
    verdict = dedup.score_duplicates(deps.dedup, recent, cmd.description)
    amount = float(cmd.amount_involved) if cmd.amount_involved is not None else None
    assessment = risk.assess(deps.risk_rules, text=text, signals=cmd.risk_signals,
                             people_involved=cmd.people_involved, amount_involved=amount,
                             applicant_prior_cases=seen["prior"])
    primary = verdict.primary
    return CasePreview(
        category=chosen, alternatives=[s for s in top if s.code != category],
        request_type=RequestType(guess.request_type), request_type_confidence=round(guess.request_type_confidence, 3),
        risk_level=assessment.level, risk_reasons=assessment.reasons,
        duplicate_of=DuplicateCandidate(case_id=primary[0], code=primary[1], similarity=verdict.similarity)
        if primary else None,
        duplicate_candidates=[DuplicateCandidate(case_id=uuid.UUID(str(c["case_id"])), code=c["code"],
                                                 similarity=c["similarity"]) for c in verdict.candidates])
