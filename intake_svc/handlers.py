"""Intake handlers: one function per command or event. The caller owns the transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi.encoders import jsonable_encoder
from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc import dedup, risk, timeline
from intake_svc.classifier import Classifier
from intake_svc.domain import (
    CaseStatus,
    PartyRole,
    case_code,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
)
from intake_svc.risk import RiskRules
from intake_svc.schemas import (
    TRANSFER_CHANNELS,
    CaseCreate,
    CasePublic,
    FeedbackCreate,
    LocationPublic,
    PartyPublic,
    PublicProgress,
    PublicTimelineItem,
    Reclassify,
    RevealedCase,
    RevealedParty,
    RevealRequest,
    RiskChange,
)
from intake_svc.tables import SCHEMA, Case, Feedback, IdempotencyKey, PiiAccess, TimelineEntry
from shared.auth import Principal, Role
from shared.bus.outbox import add_event
from shared.clock import Clock
from shared.crypto import Sealer, blind_index
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseMerged,
    CaseReceived,
    CaseReclassified,
    CaseResolved,
    Envelope,
    FeedbackReceived,
    RiskChanged,
)
from shared.events.case import Channel, LocationRef, RequestType, RiskLevel
from shared.problems import Problem, field_problem

log = structlog.get_logger(__name__)


@dataclass
class IntakeDeps:
    clock: Clock
    pii: Sealer  # personal data at rest
    transport: Sealer  # the address travelling to routing inside events
    source: str
    classifier: Classifier
    risk_rules: RiskRules
    index_key: str  # blind index HMAC key
    dedup_window: timedelta = timedelta(days=30)
    dedup_link: float = 0.5
    dedup_suggest: float = 0.3


def _aad(case_id: uuid.UUID) -> bytes:
    return str(case_id).encode()


def _check_category(deps: IntakeDeps, code: str | None, field: str = "category") -> None:
    if code is not None and not deps.classifier.taxonomy.is_valid(code):
        raise field_problem(field, f"unknown category code {code!r}; see the taxonomy", "unknown_category")


def _check_channel_fields(cmd: CaseCreate) -> None:
    """Each channel carries what it needs: transfers their sender and reference, patrols their reporter and grid."""
    transfer_channel = cmd.channel in TRANSFER_CHANNELS
    if transfer_channel and cmd.transfer is None:
        raise field_problem("transfer", f"required for {cmd.channel.value}: the sending organization and its "
                            "reference", "missing")
    if not transfer_channel and cmd.transfer is not None:
        raise field_problem("transfer", "only for police, court or petition transfers", "unexpected")
    if (cmd.channel == Channel.GRID_PATROL) != (cmd.patrol is not None):
        reason = "required for grid_patrol: the reporting grid worker and the grid" if cmd.patrol is None \
            else "only for grid_patrol"
        raise field_problem("patrol", reason, "missing" if cmd.patrol is None else "unexpected")


async def create_case(session: AsyncSession, deps: IntakeDeps, cmd: CaseCreate, user: Principal) -> Case:
    _check_category(deps, cmd.category)
    _check_channel_fields(cmd)
    category, request_type = cmd.category, cmd.request_type
    category_confidence = request_type_confidence = None
    if category is None or request_type is None:
        guess = deps.classifier.predict(f"{cmd.title}。{cmd.description}")
        if category is None:
            category, category_confidence = guess.category, guess.category_confidence
        if request_type is None:
            request_type, request_type_confidence = RequestType(guess.request_type), guess.request_type_confidence
    now = deps.clock.now()
    case_id = uuid.uuid4()
    structlog.contextvars.bind_contextvars(case_id=str(case_id))
    seq = (await session.execute(text(f"SELECT nextval('{SCHEMA}.case_code_seq')"))).scalar_one()
    amount = float(cmd.amount_involved) if cmd.amount_involved is not None else None
    index = sorted({blind_index(deps.index_key, kind, value) for p in cmd.parties if p.role == PartyRole.APPLICANT
                    for kind, value in (("phone", p.phone), ("id", p.id_number)) if value})
    prior = 0
    if index:
        since = now - timedelta(days=deps.risk_rules.repeat_applicant_days)
        prior = (await session.execute(select(func.count()).select_from(Case).where(
            Case.applicant_index.overlap(index), Case.created_at >= since))).scalar_one()  # type: ignore[attr-defined]
    address_index = blind_index(deps.index_key, "addr", dedup.normalize_address(cmd.location.address)) \
        if cmd.location.address else None
    primary, similar, candidates = await _find_duplicates(session, deps, now, index, address_index, cmd.description)
    assessment = risk.assess(deps.risk_rules, text=f"{cmd.title}。{cmd.description}", signals=cmd.risk_signals,
                             people_involved=cmd.people_involved, amount_involved=amount,
                             applicant_prior_cases=prior)
    risk_level, reasons = assessment.level, assessment.reasons
    aad = _aad(case_id)
    loc = cmd.location
    location = {
        "address_sealed": deps.pii.seal(loc.address, aad) if loc.address else None,
        "lat": loc.lat, "lng": loc.lng, "grid_id": loc.grid_id,
    }
    parties = [
        {
            "role": p.role.value, "kind": p.kind.value,
            "name_sealed": deps.pii.seal(p.name, aad),
            "phone_sealed": deps.pii.seal(p.phone, aad) if p.phone else None,
            "id_number_sealed": deps.pii.seal(p.id_number, aad) if p.id_number else None,
        }
        for p in cmd.parties
    ]
    case = Case(
        id=case_id, code=case_code(now, seq), channel=cmd.channel.value, request_type=request_type.value,
        title=cmd.title, description=cmd.description, category=category, risk_level=risk_level.value,
        applicant_index=index,
        category_confidence=category_confidence, request_type_confidence=request_type_confidence,
        classified_by="staff" if category_confidence is None and request_type_confidence is None else "classifier",
        risk_reasons=reasons, occurred_at=cmd.occurred_at, location=location, parties=parties,
        people_involved=cmd.people_involved, amount_involved=amount, external_ref=cmd.external_ref,
        channel_details={k: v.model_dump() for k, v in (("transfer", cmd.transfer), ("patrol", cmd.patrol)) if v},
        attachments=[a.model_dump() for a in cmd.attachments],
        status=CaseStatus.RECEIVED.value, visible_units=[user.unit_id] if user.unit_id else [],
        created_by=user.sub, created_at=now, updated_at=now, address_index=address_index,
        duplicate_candidates=candidates,
    )
    session.add(case)
    timeline.record(session, case_id, now, "received",
                    f"已受理（{timeline.CHANNEL_ZH[cmd.channel]}），案件编号 {case.code}", actor=user.sub)
    if primary is not None:
        _link(session, case, primary, now)
        await add_event(session, CaseMerged(case_id=case_id, at=now, code=case.code, primary_case_id=primary.id,
                                            similarity=similar, channel=cmd.channel, linked_by="auto"),
                        source=deps.source)
        return case
    await add_event(session, CaseReceived(
        case_id=case_id, at=now, code=case.code, channel=cmd.channel, request_type=request_type,
        category=category, risk_level=risk_level, risk_signals=assessment.signals,
        people_involved=cmd.people_involved, amount_involved=amount,
        location=LocationRef(
            grid_id=loc.grid_id, lat=loc.lat, lng=loc.lng,
            address_sealed=deps.transport.seal(loc.address, aad) if loc.address else None,
        ),
        received_unit_id=user.unit_id,
    ), source=deps.source)
    return case


OPEN_STATUSES = (CaseStatus.RECEIVED.value, CaseStatus.ASSIGNED.value, CaseStatus.IN_PROGRESS.value)


async def _find_duplicates(session: AsyncSession, deps: IntakeDeps, now: datetime, applicant_index: list[str],
                           address_index: str | None, description: str
                           ) -> tuple[Case | None, float, list[dict[str, Any]]]:
    """Open cases of the same applicant or at the same address, most alike first: (link to, its similarity,
    suggestions). Nothing is decrypted: the match is on blind indexes."""
    conditions = []
    if applicant_index:
        conditions.append(Case.applicant_index.overlap(applicant_index))  # type: ignore[attr-defined]
    if address_index:
        conditions.append(Case.address_index == address_index)
    if not conditions:
        return None, 0.0, []
    # only the columns compared: this runs on every POST
    rows = (await session.execute(
        select(Case.id, Case.code, Case.description)
        .where(or_(*conditions), Case.status.in_(OPEN_STATUSES),  # type: ignore[attr-defined]
               Case.created_at >= now - deps.dedup_window)
        .order_by(Case.created_at.desc()).limit(20)  # type: ignore[attr-defined]
    )).all()
    scored = sorted(((dedup.similarity(description, c.description), c) for c in rows), key=lambda t: -t[0])
    if scored and scored[0][0] >= deps.dedup_link:
        primary = await session.get(Case, scored[0][1].id)
        return primary, round(scored[0][0], 3), []
    return None, 0.0, [{"case_id": str(c.id), "code": c.code, "similarity": round(sim, 3)}
                       for sim, c in scored if sim >= deps.dedup_suggest][:5]


def _link(session: AsyncSession, case: Case, primary: Case, now: datetime) -> None:
    """The new report follows its primary: merged status, the primary's units see it, both timelines say so."""
    case.status = CaseStatus.MERGED.value
    case.duplicate_of = primary.id
    case.visible_units = list(dict.fromkeys([*case.visible_units, *primary.visible_units]))
    timeline.record(session, case.id, now, "merged", f"与案件 {primary.code} 为同一事项，已合并办理",
                    data={"primary_case_id": str(primary.id)})
    timeline.record(session, primary.id, now, "duplicate_linked", f"收到同一事项的再次反映（{case.code}），已合并",
                    data={"case_id": str(case.id)})


IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_ABANDONED = timedelta(minutes=1)


def request_hash(cmd: CaseCreate) -> str:
    body = json.dumps(jsonable_encoder(cmd), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


async def claim_idempotency_key(session: AsyncSession, deps: IntakeDeps, key: str, user: Principal,
                                digest: str) -> IdempotencyKey | None:
    """Reserve ``key`` for this request (the caller commits the claim before doing the work).

    Returns the stored earlier answer for a repeat; 422 when the key was used with another body; 409 while
    another request with the key is still running. Keys are kept 24 h; a claim abandoned for a minute (its
    process died) may be taken over.
    """
    now = deps.clock.now()
    await session.execute(
        text(f"DELETE FROM {SCHEMA}.idempotency_keys WHERE key = :k AND principal = :p AND "
             "(created_at < :expired OR (status_code = 0 AND created_at < :abandoned))"),
        {"k": key, "p": user.sub, "expired": now - IDEMPOTENCY_TTL, "abandoned": now - IDEMPOTENCY_ABANDONED},
    )
    inserted = await session.execute(
        text(f"INSERT INTO {SCHEMA}.idempotency_keys (key, principal, request_hash, status_code, response, "
             "created_at) VALUES (:k, :p, :h, 0, '{}'::jsonb, :now) ON CONFLICT DO NOTHING RETURNING key"),
        {"k": key, "p": user.sub, "h": digest, "now": now},
    )
    if inserted.first() is not None:
        return None
    row = (await session.execute(
        select(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.principal == user.sub)
    )).scalar_one()
    if row.request_hash != digest:
        raise Problem(422, "idempotency_key_reused",
                      "this Idempotency-Key was already used with a different request body",
                      errors=[{"field": "header.idempotency-key", "reason": "reused with another body",
                               "code": "idempotency_key_reused"}])
    if row.status_code == 0:
        raise Problem(409, "idempotency_in_progress", "a request with this Idempotency-Key is still in progress")
    return row


async def release_idempotency_key(session: AsyncSession, key: str, user: Principal) -> None:
    await session.execute(
        text(f"DELETE FROM {SCHEMA}.idempotency_keys WHERE key = :k AND principal = :p AND status_code = 0"),
        {"k": key, "p": user.sub},
    )


async def store_idempotent_response(session: AsyncSession, key: str, user: Principal, status: int,
                                    body: dict[str, object]) -> None:
    await session.execute(
        text(f"UPDATE {SCHEMA}.idempotency_keys SET status_code = :s, response = CAST(:r AS jsonb) "
             "WHERE key = :k AND principal = :p"),
        {"s": status, "r": json.dumps(jsonable_encoder(body), ensure_ascii=False), "k": key, "p": user.sub},
    )


async def get_case_in_scope(session: AsyncSession, case_id: uuid.UUID, user: Principal, *,
                            for_update: bool = False) -> Case:
    case = await session.get(Case, case_id, with_for_update=for_update)
    if case is None or not user.can_see(case.visible_units):
        raise Problem(404, "case_not_found", f"no case {case_id} in your scope")
    return case


def to_public(case: Case, deps: IntakeDeps) -> CasePublic:
    aad = _aad(case.id)
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
            address=mask_address(deps.pii.open(address, aad)) if address else None,
            lat=case.location.get("lat"), lng=case.location.get("lng"), grid_id=case.location.get("grid_id"),
        ),
        parties=[
            PartyPublic(
                role=p["role"], kind=p["kind"], name=mask_name(deps.pii.open(p["name_sealed"], aad)),
                phone=mask_phone(deps.pii.open(p["phone_sealed"], aad)) if p.get("phone_sealed") else None,
                id_number=mask_id_number(deps.pii.open(p["id_number_sealed"], aad))
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


# --- events from routing: keep the case's status and unit current -------------------------------------


async def _load_for_update(session: AsyncSession, case_id: uuid.UUID) -> Case:
    case = (await session.execute(select(Case).where(Case.id == case_id).with_for_update())).scalar_one_or_none()
    if case is None:
        raise LookupError(f"case {case_id} not found")  # retried, then dead-lettered
    return case


def _touch(case: Case, when: object) -> None:
    case.updated_at = when  # type: ignore[assignment]
    case.version += 1


async def on_case_assigned(session: AsyncSession, event: CaseAssigned, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    case.status = CaseStatus.ASSIGNED.value
    case.current_unit_id = event.unit_id
    case.assignment_id = event.assignment_id
    case.visible_units = list(dict.fromkeys([*case.visible_units, *event.unit_path]))
    _touch(case, event.at)
    timeline.record(session, case.id, event.at, "assigned", f"已派发至{event.unit_name or event.unit_id}办理",
                    actor=event.unit_id, data={"unit_id": event.unit_id, "level": event.level.value,
                                               "explanation": event.explanation})


async def on_case_accepted(session: AsyncSession, event: CaseAccepted, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    if case.assignment_id == event.assignment_id:
        case.status = CaseStatus.IN_PROGRESS.value
        _touch(case, event.at)
    timeline.record(session, case.id, event.at, "accepted", "承办单位已签收，正在办理", actor=event.unit_id,
                    data={"unit_id": event.unit_id, "on_time": event.accepted_on_time})


async def on_case_resolved(session: AsyncSession, event: CaseResolved, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    case.status = CaseStatus.RESOLVED.value
    case.outcome = event.outcome.value
    _touch(case, event.at)
    timeline.record(session, case.id, event.at, "resolved", timeline.OUTCOME_ZH[event.outcome], actor=event.unit_id,
                    data={"unit_id": event.unit_id, "outcome": event.outcome.value,
                          "mediation_agreement": event.mediation_agreement})


async def record_feedback(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: FeedbackCreate,
                          user: Principal) -> Feedback:
    """回访 recorded by staff: kept with its comment here; the event carries only the result."""
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    if case.status != CaseStatus.RESOLVED.value:
        raise Problem(409, "case_not_resolved", f"follow-up is recorded after resolution; the case is {case.status}",
                      status_now=case.status)
    now = deps.clock.now()
    feedback = Feedback(case_id=case.id, result=body.result.value, source="staff", comment=body.comment,
                        recorded_by=user.sub, at=now)
    session.add(feedback)
    timeline.record(session, case.id, now, "feedback", f"回访结果：{timeline.FEEDBACK_ZH[body.result]}",
                    actor=user.sub, data={"result": body.result.value})
    _touch(case, now)
    await add_event(session, FeedbackReceived(case_id=case.id, at=now, result=body.result, source="staff",
                                              recorded_by=user.sub), source=deps.source)
    return feedback


RISK_ORDER = {RiskLevel.BLUE: 0, RiskLevel.YELLOW: 1, RiskLevel.RED: 2}


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
    _touch(case, now)
    timeline.record(session, case.id, now, "risk_changed",
                    f"风险等级由{timeline.RISK_ZH[before]}调整为{timeline.RISK_ZH[body.level]}", actor=user.sub,
                    public=False, data={"from": before.value, "to": body.level.value, "reasons": body.reasons})
    await add_event(session, RiskChanged(case_id=case.id, at=now, from_level=before, to_level=body.level,
                                         reasons=body.reasons, changed_by=user.sub), source=deps.source)
    return case


async def case_timeline(session: AsyncSession, case_id: uuid.UUID, *, public_only: bool) -> list[TimelineEntry]:
    stmt = select(TimelineEntry).where(TimelineEntry.case_id == case_id)
    if public_only:
        stmt = stmt.where(TimelineEntry.public.is_(True))  # type: ignore[attr-defined]
    return list((await session.execute(stmt.order_by(TimelineEntry.at, TimelineEntry.id))).scalars())


PII_READERS = (Role.OPERATOR, Role.MEDIATOR, Role.COMMUNITY_ADMIN, Role.STREET_ADMIN)


async def reveal_parties(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: RevealRequest,
                         user: Principal) -> RevealedCase:
    """The full personal data of a case, for a stated purpose; every read is written to the access log."""
    case = await get_case_in_scope(session, case_id, user)
    aad = _aad(case.id)

    def opened(sealed: str | None) -> str | None:
        return deps.pii.open(sealed, aad) if sealed else None

    parties = [RevealedParty(role=p["role"], kind=p["kind"], name=deps.pii.open(p["name_sealed"], aad),
                             phone=opened(p.get("phone_sealed")), id_number=opened(p.get("id_number_sealed")))
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
    stmt = select(PiiAccess).where(PiiAccess.case_id == case_id).order_by(PiiAccess.at, PiiAccess.id)  # type: ignore[arg-type]
    return list((await session.execute(stmt)).scalars())


STATUS_ZH = {CaseStatus.RECEIVED: "已受理", CaseStatus.ASSIGNED: "已派发，待签收", CaseStatus.IN_PROGRESS: "办理中",
             CaseStatus.RESOLVED: "已办结", CaseStatus.MERGED: "已与同一事项合并办理", CaseStatus.SUSPENDED: "已中止",
             CaseStatus.CLOSED: "已办结销号", CaseStatus.RETURNED: "不属于本辖区，已退回"}


async def public_progress(session: AsyncSession, deps: IntakeDeps, code: str, phone_last4: str) -> PublicProgress:
    """Progress for the citizen: the same 404 for an unknown code and for a phone that does not match."""
    case = (await session.execute(select(Case).where(Case.code == code))).scalar_one_or_none()
    if case is None or not _applicant_phone_ends_with(case, deps, phone_last4):
        raise Problem(404, "case_not_found", "没有找到与案件编号和手机号后四位相符的案件")
    entries = await case_timeline(session, case.id, public_only=True)
    return PublicProgress(code=case.code, status=case.status, status_label=STATUS_ZH[CaseStatus(case.status)],
                          received_at=case.created_at, updated_at=case.updated_at,
                          timeline=[PublicTimelineItem(at=e.at, summary=e.summary) for e in entries])


def _applicant_phone_ends_with(case: Case, deps: IntakeDeps, last4: str) -> bool:
    aad = _aad(case.id)
    return any(p.get("phone_sealed") and deps.pii.open(p["phone_sealed"], aad).endswith(last4)
               for p in case.parties if p["role"] == "applicant")


async def reclassify(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: Reclassify,
                     user: Principal) -> Case:
    """Staff override: kept, put on the timeline and published, so analytics counts the corrected category."""
    _check_category(deps, body.category)
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    before_cat, before_type = case.category, RequestType(case.request_type)
    after_type = body.request_type or before_type
    if body.category == before_cat and after_type == before_type:
        raise Problem(409, "classification_unchanged", "the case already has this category and request type")
    now = deps.clock.now()
    case.category, case.request_type, case.classified_by = body.category, after_type.value, "staff"
    case.category_confidence = case.request_type_confidence = None
    _touch(case, now)
    taxonomy = deps.classifier.taxonomy
    timeline.record(session, case.id, now, "reclassified",
                    f"分类调整为：{taxonomy.full_label(body.category)}", actor=user.sub, public=False,
                    data={"from": before_cat, "to": body.category, "from_type": before_type.value,
                          "to_type": after_type.value})
    await add_event(session, CaseReclassified(
        case_id=case.id, at=now, from_category=before_cat, to_category=body.category,
        from_request_type=before_type, to_request_type=after_type, changed_by=user.sub), source=deps.source)
    return case
