"""The case file after registration: read in scope (masked), reclassify, change the risk level, record a 回访,
reveal the parties for a stated purpose. The caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import RISK_ORDER, CaseStatus, ClassifiedBy, FeedbackSource, TimelineKind
from intake_svc.domain.personal import mask_address, mask_id_number, mask_name, mask_phone
from intake_svc.domain.timeline import RISK_ZH, feedback_summary
from intake_svc.handlers.registration import aad, check_category
from intake_svc.schemas import (
    CasePublic,
    FeedbackCreate,
    LocationPublic,
    PartyPublic,
    Reclassify,
    RevealedCase,
    RevealedParty,
    RevealRequest,
    RiskChange,
)
from intake_svc.store import cases as store
from intake_svc.tables import Case, Feedback, PiiAccess, TimelineEntry
from shared.auth import Principal, Role
from shared.bus.outbox import add_event
from shared.events import CaseReclassified, FeedbackReceived, RiskChanged
from shared.events.case import FeedbackResult, RequestType, RiskLevel
from shared.preconditions import check_version
from shared.problems import Problem

log = structlog.get_logger(__name__)

PII_READERS = (Role.OPERATOR, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


async def get_case_in_scope(session: AsyncSession, case_id: uuid.UUID, user: Principal, *,
                            for_update: bool = False) -> Case:
    case = await store.load_case(session, case_id, for_update=for_update)
    if case is None or not user.can_see(case.visible_units):
        raise Problem(404, "case_not_found", f"no case {case_id} in your scope")
    return case


async def case_timeline(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> list[TimelineEntry]:
    """Everything that happened to a case in the caller's scope (the staff view: internal entries too)."""
    await get_case_in_scope(session, case_id, user)
    return await store.timeline(session, case_id, public_only=False)


def to_public(case: Case, deps: IntakeDeps) -> CasePublic:
    sealed_to = aad(case.id)
    address = case.location.get("address_sealed")
    return CasePublic(
        id=case.id, code=case.code, status=case.status, channel=case.channel,  # type: ignore[arg-type]
        request_type=case.request_type, title=case.title,  # type: ignore[arg-type]
        description=case.description, category=case.category, risk_level=case.risk_level,  # type: ignore[arg-type]
        category_label=deps.classifier.taxonomy.full_label(case.category) if case.category else None,
        category_confidence=case.category_confidence, request_type_confidence=case.request_type_confidence,
        classified_by=case.classified_by,
        risk_reasons=case.risk_reasons, occurred_at=case.occurred_at,
        location=LocationPublic(
            address=mask_address(deps.pii.open(address, sealed_to)) if address else None,
            lat=case.location.get("lat"), lng=case.location.get("lng"), grid_id=case.location.get("grid_id"),
        ),
        parties=[
            PartyPublic(
                id=p.get("id"), role=p["role"], kind=p["kind"],
                name=mask_name(deps.pii.open(p["name_sealed"], sealed_to)),
                phone=mask_phone(deps.pii.open(p["phone_sealed"], sealed_to)) if p.get("phone_sealed") else None,
                id_number=mask_id_number(deps.pii.open(p["id_number_sealed"], sealed_to))
                if p.get("id_number_sealed") else None,
            )
            for p in case.parties
        ],
        people_involved=case.people_involved,
        amount_involved=float(case.amount_involved) if case.amount_involved is not None else None,
        external_ref=case.external_ref, current_unit_id=case.current_unit_id,
        transfer=case.channel_details.get("transfer"), patrol=case.channel_details.get("patrol"),
        duplicate_of=case.duplicate_of, duplicate_candidates=case.duplicate_candidates,
        attachments=case.attachments,
        assignment_id=case.assignment_id, outcome=case.outcome, created_at=case.created_at,
        updated_at=case.updated_at, version=case.version,
    )


async def reclassify(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: Reclassify,
                     user: Principal, if_match: int) -> Case:
    """Staff override: kept, put on the timeline and published, so analytics counts the corrected category.
    ``if_match``: the case's version the staff member read (412 when it moved on)."""
    check_category(deps, body.category)
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    check_version(case.version, if_match, "case")
    before_cat, before_type = case.category, RequestType(case.request_type)
    after_type = body.request_type or before_type
    if body.category == before_cat and after_type == before_type:
        raise Problem(409, "classification_unchanged", "the case already has this category and request type")
    now = deps.clock.now()
    case.category, case.request_type, case.classified_by = body.category, after_type.value, ClassifiedBy.STAFF
    case.category_confidence = case.request_type_confidence = None
    store.touch(case, now)
    taxonomy = deps.classifier.taxonomy
    store.add_timeline(session, case.id, now, TimelineKind.RECLASSIFIED,
                       f"分类调整为：{taxonomy.full_label(body.category)}", actor=user.sub, public=False,
                       data={"from": before_cat, "to": body.category, "from_type": before_type.value,
                             "to_type": after_type.value})
    await add_event(session, CaseReclassified(
        case_id=case.id, at=now, from_category=before_cat, to_category=body.category,
        from_request_type=before_type, to_request_type=after_type, changed_by=user.sub), source=deps.source)
    return case


async def change_risk(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: RiskChange,
                      user: Principal) -> Case:
    """Any handler may raise the level; lowering it is for street admins and up."""
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    before = RiskLevel(case.risk_level)
    if body.level == before:
        raise Problem(409, "risk_unchanged", f"the case is already {before.value}")
    if RISK_ORDER[body.level] < RISK_ORDER[before] and not user.has_any(Role.STREET_ADMIN, Role.ADMIN):
        raise Problem(403, "forbidden_role", "only street admins and admins may lower a risk level")
    now = deps.clock.now()
    case.risk_level = body.level.value
    case.risk_reasons = list(dict.fromkeys([*case.risk_reasons, *body.reasons]))
    store.touch(case, now)
    store.add_timeline(session, case.id, now, TimelineKind.RISK_CHANGED,
                       f"风险等级由{RISK_ZH[before]}调整为{RISK_ZH[body.level]}", actor=user.sub,
                       public=False, data={"from": before.value, "to": body.level.value, "reasons": body.reasons})
    await add_event(session, RiskChanged(case_id=case.id, at=now, from_level=before, to_level=body.level,
                                         reasons=body.reasons, changed_by=user.sub), source=deps.source)
    return case


async def record_feedback(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: FeedbackCreate,
                          user: Principal) -> Feedback:
    """回访 recorded by staff: kept with its comment here; the event carries only the result."""
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    return await add_feedback(session, deps, case, body.result, body.comment, source=FeedbackSource.STAFF,
                              actor=user.sub, at=deps.clock.now())


async def add_feedback(session: AsyncSession, deps: IntakeDeps, case: Case, result: FeedbackResult,
                       comment: str | None, *, source: FeedbackSource, actor: str, at: datetime,
                       resolution_reported: bool = False) -> Feedback:
    """A 回访 result on a resolved case (``case`` locked by the caller), from staff or the 12345 platform: the
    result with its comment, the timeline entry and ``fq.case.feedback_received.v1``; 409 before resolution.
    ``resolution_reported``: the channel was told the case is resolved (the 12345 办结 callback), so its 回访 is
    accepted whatever the case's status says by now."""
    if case.status != CaseStatus.RESOLVED and not resolution_reported:
        raise Problem(409, "case_not_resolved", f"回访 is recorded after resolution; the case is {case.status}",
                      status_now=case.status)
    feedback = Feedback(case_id=case.id, result=result.value, source=source, comment=comment, recorded_by=actor,
                        at=at)
    session.add(feedback)
    data = {"result": result.value} if source == FeedbackSource.STAFF else {"result": result.value, "source": source}
    store.add_timeline(session, case.id, at, TimelineKind.FEEDBACK, feedback_summary(source, result), actor=actor,
                       data=data)
    store.touch(case, at)
    await add_event(session, FeedbackReceived(case_id=case.id, at=at, result=result, source=source,
                                              recorded_by=actor), source=deps.source)
    return feedback


async def reveal_parties(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: RevealRequest,
                         user: Principal) -> RevealedCase:
    """The full personal data of a case, for a stated purpose; every read is written to the access log."""
    case = await get_case_in_scope(session, case_id, user)
    sealed_to = aad(case.id)

    def opened(sealed: str | None) -> str | None:
        return deps.pii.open(sealed, sealed_to) if sealed else None

    parties = [RevealedParty(id=p.get("id"), role=p["role"], kind=p["kind"],
                             name=deps.pii.open(p["name_sealed"], sealed_to), phone=opened(p.get("phone_sealed")),
                             id_number=opened(p.get("id_number_sealed")))
               for p in case.parties]
    present = {"name": bool(parties), "phone": any(p.phone for p in parties),
               "id_number": any(p.id_number for p in parties), "address": bool(case.location.get("address_sealed"))}
    fields = sorted(name for name, there in present.items() if there)
    session.add(PiiAccess(case_id=case.id, accessed_by=user.sub, roles=sorted(user.roles), unit_id=user.unit_id,
                          purpose=body.purpose, fields=fields, at=deps.clock.now()))
    log.info("pii_revealed", case_id=str(case.id), accessed_by=user.sub, fields=fields)
    return RevealedCase(case_id=case.id, address=opened(case.location.get("address_sealed")), parties=parties)


async def pii_access_log(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> list[PiiAccess]:
    await get_case_in_scope(session, case_id, user)
    return await store.access_log(session, case_id)
