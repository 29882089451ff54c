"""Case registration (一口受理), the hot path: classify, assess risk, link or suggest duplicates, seal personal data,
write case + timeline + event (+ an Idempotency-Key's answer) in one statement (``store.registration``)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi.encoders import jsonable_encoder

from intake_svc.deps import IntakeDeps
from intake_svc.domain import dedup, risk
from intake_svc.domain.case import (
    LINKED_AUTOMATICALLY,
    OPEN_STATUSES,
    CaseStatus,
    ClassifiedBy,
    PartyRole,
    TimelineKind,
    case_code,
)
from intake_svc.domain.personal import mask_address, mask_id_number, mask_name, mask_phone
from intake_svc.domain.timeline import CHANNEL_ZH
from intake_svc.schemas import TRANSFER_CHANNELS, CaseCreate, CasePublic, LocationPublic, PartyPublic
from intake_svc.store import registration as sql
from shared.auth import Principal
from shared.bus.outbox import outbox_row
from shared.crypto import blind_index
from shared.events import CaseMerged, CaseReceived
from shared.events.case import Channel, LocationRef, RequestType, RiskLevel
from shared.problems import field_problem


def aad(case_id: uuid.UUID) -> bytes:
    """The associated data every sealed field of a case is bound to."""
    return str(case_id).encode()


def check_category(deps: IntakeDeps, code: str | None, field: str = "category") -> None:
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


_OPEN = [s.value for s in OPEN_STATUSES]  # the read's status filter


@dataclass
class CreatedCase:
    id: uuid.UUID
    version: int
    body: bytes  # the 201 answer, CasePublic as JSON


async def create_case(conn: Any, deps: IntakeDeps, cmd: CaseCreate, user: Principal,
                      written: Callable[[], None], idempotency_key: str | None = None) -> CreatedCase:
    """Register a case: classify what is missing, assess risk, link or suggest duplicates, seal personal data,
    and write case + timeline + event (+ the idempotent answer) in one statement. The answer is built from the
    command itself (masked), so nothing just sealed is decrypted again.

    ``conn`` is an asyncpg connection: one of the registration pool (autocommit: the write is atomic on its own),
    or a session's (``shared.db.driver_connection``), then inside the session's transaction. ``written`` is called
    once the statement returned: the pool's caller passes the runtime's waker (the rows are committed), a session's
    ``pending.mark_outbox_written`` (the session wakes the relay after its commit). Never a NOTIFY."""
    check_category(deps, cmd.category)
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
    amount = float(cmd.amount_involved) if cmd.amount_involved is not None else None
    index = sorted({blind_index(deps.index_key, kind, value) for p in cmd.parties if p.role == PartyRole.APPLICANT
                    for kind, value in (("phone", p.phone), ("id", p.id_number)) if value})
    loc = cmd.location
    address_index = blind_index(deps.index_key, "addr", dedup.normalize_address(loc.address)) \
        if loc.address else None
    place = dedup.place_key(loc.address) if loc.address else None
    place_index = blind_index(deps.index_key, "place", place) if place else None
    seen = await conn.fetchrow(sql.READ, index, now - timedelta(days=deps.risk_rules.repeat_applicant_days),
                               address_index, _OPEN, now - deps.dedup_window, category, place_index)
    code = case_code(now, seen["seq"])
    recent = list(zip(seen["ids"] or (), seen["codes"] or (), seen["descriptions"] or (), seen["same_matter"] or (),
                      strict=True))
    verdict = dedup.score_duplicates(deps.dedup, recent, cmd.description)
    primary, similar, candidates = verdict.primary, verdict.similarity, verdict.candidates
    assessment = risk.assess(deps.risk_rules, text=f"{cmd.title}。{cmd.description}", signals=cmd.risk_signals,
                             people_involved=cmd.people_involved, amount_involved=amount,
                             applicant_prior_cases=seen["prior"])
    risk_level = assessment.level
    sealed_to = aad(case_id)
    pii = deps.pii
    location = {"address_sealed": pii.seal(loc.address, sealed_to) if loc.address else None,
                "lat": loc.lat, "lng": loc.lng, "grid_id": loc.grid_id}
    parties = [{"id": str(uuid.uuid4()), "role": p.role.value, "kind": p.kind.value,
                "name_sealed": pii.seal(p.name, sealed_to),
                "phone_sealed": pii.seal(p.phone, sealed_to) if p.phone else None,
                "id_number_sealed": pii.seal(p.id_number, sealed_to) if p.id_number else None} for p in cmd.parties]
    channel_details = {k: v.model_dump() for k, v in (("transfer", cmd.transfer), ("patrol", cmd.patrol)) if v}
    attachments = [a.model_dump() for a in cmd.attachments]
    visible_units = [user.unit_id] if user.unit_id else []
    timeline_rows: list[tuple[uuid.UUID, str, str | None, str, bool, dict[str, Any]]] = [
        (case_id, TimelineKind.RECEIVED, user.sub, f"已受理（{CHANNEL_ZH[cmd.channel]}），案件编号 {code}", True,
         {"unit_id": user.unit_id})]
    status = CaseStatus.RECEIVED
    event: CaseMerged | CaseReceived
    if primary is not None:
        primary_id, primary_code = primary
        status = CaseStatus.MERGED  # the new report follows its primary: its units see it
        primary_units = (await conn.fetchval(sql.PRIMARY_UNITS, primary_id)) or []
        visible_units = list(dict.fromkeys([*visible_units, *primary_units]))
        timeline_rows += [
            (case_id, TimelineKind.MERGED, None, f"与案件 {primary_code} 为同一事项，已合并办理", True,
             {"primary_case_id": str(primary_id), "linked_by": LINKED_AUTOMATICALLY, "similarity": similar}),
            (primary_id, TimelineKind.DUPLICATE_LINKED, None, f"收到同一事项的再次反映（{code}），已合并", True,
             {"case_id": str(case_id)})]
        event = CaseMerged(case_id=case_id, at=now, code=code, primary_case_id=primary_id, similarity=similar,
                           channel=cmd.channel, linked_by=LINKED_AUTOMATICALLY)
    else:
        event = received_event(
            deps, case_id=case_id, at=now, code=code, channel=cmd.channel, request_type=request_type,
            category=category, risk_level=risk_level, risk_signals=assessment.signals,
            people_involved=cmd.people_involved, amount_involved=amount, grid_id=loc.grid_id, lat=loc.lat,
            lng=loc.lng, address=loc.address, received_unit_id=user.unit_id, urgent=cmd.urgent,
            deadline_days=cmd.deadline_days, applicant_index=index, address_index=address_index)
    classified_by = ClassifiedBy.STAFF if category_confidence is None and request_type_confidence is None \
        else ClassifiedBy.CLASSIFIER
    public = CasePublic(
        id=case_id, code=code, status=status, channel=cmd.channel, request_type=request_type, title=cmd.title,
        description=cmd.description, category=category,
        category_label=deps.classifier.taxonomy.full_label(category) if category else None,
        category_confidence=category_confidence, request_type_confidence=request_type_confidence,
        classified_by=classified_by, risk_level=risk_level, risk_reasons=assessment.reasons,
        duplicate_of=primary[0] if primary else None,
        duplicate_candidates=candidates,  # type: ignore[arg-type]
        occurred_at=cmd.occurred_at,
        location=LocationPublic(address=mask_address(loc.address) if loc.address else None,
                                lat=loc.lat, lng=loc.lng, grid_id=loc.grid_id),
        parties=[PartyPublic(id=sealed["id"], role=p.role, kind=p.kind, name=mask_name(p.name),
                             phone=mask_phone(p.phone) if p.phone else None,
                             id_number=mask_id_number(p.id_number) if p.id_number else None)
                 for p, sealed in zip(cmd.parties, parties, strict=True)],
        people_involved=cmd.people_involved, amount_involved=amount, external_ref=cmd.external_ref,
        transfer=cmd.transfer, patrol=cmd.patrol, attachments=cmd.attachments,
        current_unit_id=None, assignment_id=None, outcome=None, created_at=now, updated_at=now, version=1,
    )
    body = public.model_dump_json().encode()
    values: dict[str, Any] = {
        "id": case_id, "code": code, "channel": cmd.channel.value, "request_type": request_type.value,
        "title": cmd.title, "description": cmd.description, "category": category,
        "category_confidence": category_confidence, "request_type_confidence": request_type_confidence,
        "classified_by": classified_by, "risk_level": risk_level.value, "risk_reasons": assessment.reasons,
        "occurred_at": cmd.occurred_at, "location": location, "parties": parties,
        "people_involved": cmd.people_involved, "amount_involved": cmd.amount_involved,
        "external_ref": cmd.external_ref, "channel_details": channel_details, "attachments": attachments,
        "urgent": cmd.urgent, "deadline_days": cmd.deadline_days, "status": status, "visible_units": visible_units,
        "applicant_index": index, "address_index": address_index,
        "place_index": place_index, "duplicate_of": primary[0] if primary else None, "duplicate_candidates": candidates,
        "created_by": user.sub, "created_at": now, "updated_at": now, "version": 1,
    }
    out = outbox_row(event, source=deps.source)
    await conn.fetchval(
        sql.WRITE,
        *(json.dumps(values[c], ensure_ascii=False) if c in sql.JSONB_COLUMNS else values[c]
          for c in sql.CASE_COLUMNS),
        [r[0] for r in timeline_rows], [now] * len(timeline_rows), [r[1] for r in timeline_rows],
        [r[2] for r in timeline_rows], [r[3] for r in timeline_rows], [r[4] for r in timeline_rows],
        [json.dumps(r[5], ensure_ascii=False) for r in timeline_rows],
        out["event_id"], out["topic"], out["key"], out["ce_type"], out["headers"], out["payload"],
        body.decode() if idempotency_key else None, idempotency_key, user.sub,
        json.dumps(created_headers(case_id, 1)) if idempotency_key else None,
    )
    written()
    return CreatedCase(case_id, 1, body)


def received_event(deps: IntakeDeps, *, case_id: uuid.UUID, at: datetime, code: str, channel: Channel,
                   request_type: RequestType, category: str | None, risk_level: RiskLevel, risk_signals: list[str],
                   people_involved: int | None, amount_involved: float | None, grid_id: str | None,
                   lat: float | None, lng: float | None, address: str | None, received_unit_id: str | None,
                   urgent: bool, deadline_days: int | None, applicant_index: list[str],
                   address_index: str | None) -> CaseReceived:
    """``fq.case.received.v1``, the one way it is built: at registration and when an unmerged case is routed on its
    own (everything the case had: urgency, the channel's deadline, the applicant and address keys). ``address`` in
    clear, sealed here for routing; no personal data otherwise."""
    # one applicant key for events: the phone's when there is one (people give their phone more often than an ID)
    applicant = next((i for i in applicant_index if i.startswith("phone:")),
                     applicant_index[0] if applicant_index else None)
    return CaseReceived(
        case_id=case_id, at=at, code=code, channel=channel, request_type=request_type, category=category,
        risk_level=risk_level, risk_signals=risk_signals, people_involved=people_involved,
        amount_involved=amount_involved,
        location=LocationRef(grid_id=grid_id, lat=lat, lng=lng,
                             address_sealed=deps.transport.seal(address, aad(case_id)) if address else None),
        received_unit_id=received_unit_id, urgent=urgent, deadline_days=deadline_days,
        applicant_key=_event_key(deps, "evt-applicant", applicant) if applicant else None,
        address_key=_event_key(deps, "evt-address", address_index) if address_index else None)


def created_headers(case_id: uuid.UUID, version: int) -> dict[str, str]:
    return {"Location": f"/api/v1/cases/{case_id}", "ETag": f'"{version}"'}


def _event_key(deps: IntakeDeps, kind: str, index: str) -> str:
    """An opaque key for events, derived from a blind index: stable per applicant/address, so analytics can
    count repeats, but not the index intake matches on (a consumer cannot probe intake's index with it)."""
    return blind_index(deps.index_key, kind, index)


def request_hash(cmd: CaseCreate) -> str:
    """What an Idempotency-Key of ``POST /cases`` stands for (the parsed command: spacing and key order aside)."""
    body = json.dumps(jsonable_encoder(cmd), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()
