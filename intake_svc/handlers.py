"""Intake handlers: one function per command or event. The caller owns the transaction."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from fastapi.encoders import jsonable_encoder
from sqlalchemy import literal_column, select, text
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
    MergeRequest,
    PartyPublic,
    PublicProgress,
    PublicTimelineItem,
    Reclassify,
    RevealedCase,
    RevealedParty,
    RevealRequest,
    RiskChange,
    UnmergeRequest,
)
from intake_svc.tables import SCHEMA, Case, Feedback, PiiAccess, TimelineEntry
from shared.auth import Principal, Role
from shared.bus.outbox import add_event, outbox_row
from shared.bus.tables import notify_channel
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
    dedup_same_matter_link: float = 0.2


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


OPEN_STATUSES = (CaseStatus.RECEIVED.value, CaseStatus.ASSIGNED.value, CaseStatus.IN_PROGRESS.value)

# Registration is the hot path (design §7: ≥ 300 cases/s on two cores): two statements, no ORM unit of work.
# 1. One read: the case code number, the applicant's earlier cases (repeat applicant), open cases of the same
#    applicant, address or place (duplicates), newest first. The candidates come from three lookups, each on its
#    own index (GIN applicant_index, btree address_index, btree place_index), gathered before anything else is
#    asked of them: a plan that filtered all recent cases instead (what the planner picks, and the connection then
#    keeps, while the table is still small and has no statistics) costs more with every case registered. The
#    registration pool also plans without sequential scans (``app._with_registration_pool``).
_READ = f"""
WITH m AS MATERIALIZED (
    SELECT id FROM {SCHEMA}.cases
    WHERE applicant_index && $1::varchar[] AND created_at >= least($2::timestamptz, $5::timestamptz)
    UNION SELECT id FROM {SCHEMA}.cases
    WHERE address_index = $3 AND created_at >= least($2::timestamptz, $5::timestamptz)
    UNION SELECT id FROM {SCHEMA}.cases
    WHERE place_index = $7 AND created_at >= least($2::timestamptz, $5::timestamptz)
), r AS MATERIALIZED (
    SELECT c.id, c.code, c.description, c.created_at, c.status, c.category,
           c.applicant_index && $1::varchar[] AS same_applicant, c.address_index = $3 AS same_address,
           c.place_index = $7 AS same_place
    FROM m JOIN {SCHEMA}.cases c ON c.id = m.id
)
SELECT nextval('{SCHEMA}.case_code_seq') AS seq,
       (SELECT count(*) FROM r WHERE same_applicant AND created_at >= $2) AS prior,
       d.ids, d.codes, d.descriptions, d.same_matter
FROM (SELECT array_agg(id ORDER BY created_at DESC) AS ids, array_agg(code ORDER BY created_at DESC) AS codes,
             array_agg(description ORDER BY created_at DESC) AS descriptions,
             array_agg(same_matter ORDER BY created_at DESC) AS same_matter
      FROM (SELECT id, code, description, created_at,
                   (category = $6 AND (same_applicant AND same_address OR same_place)) AS same_matter
            FROM r WHERE status = ANY($4::varchar[]) AND created_at >= $5
            ORDER BY created_at DESC LIMIT 20) AS recent) AS d
"""
# 2. One write, atomic on its own: the case, its timeline rows, its event in the outbox, and the stored answer of
#    an Idempotency-Key (no key: the UPDATE matches nothing). Inside a caller's transaction it also wakes the relay
#    with pg_notify; on its own (autocommit) it does not: a NOTIFY takes a database-wide lock held until the commit
#    is flushed, which lines up every registration (and every other service's outbox write) behind one WAL flush
#    at a time. The caller then wakes the relay once the write has returned (``wake``).
_CASE_COLUMNS = ("id", "code", "channel", "request_type", "title", "description", "category", "category_confidence",
                 "request_type_confidence", "classified_by", "risk_level", "risk_reasons", "occurred_at", "location",
                 "parties", "people_involved", "amount_involved", "external_ref", "channel_details", "attachments",
                 "status", "visible_units", "applicant_index", "address_index", "place_index", "duplicate_of",
                 "duplicate_candidates", "created_by", "created_at", "updated_at", "version")
_JSONB = {"location", "parties", "channel_details", "attachments", "duplicate_candidates"}
_N = len(_CASE_COLUMNS)
_WRITE_CTES = f"""
WITH c AS (
    INSERT INTO {SCHEMA}.cases ({", ".join(_CASE_COLUMNS)})
    VALUES ({", ".join(f"${i}::jsonb" if col in _JSONB else f"${i}" for i, col in enumerate(_CASE_COLUMNS, 1))})
), t AS (
    INSERT INTO {SCHEMA}.timeline (case_id, at, kind, actor, summary, public, data)
    SELECT c, a, k, ac, s, p, d::jsonb
    FROM unnest(${_N + 1}::uuid[], ${_N + 2}::timestamptz[], ${_N + 3}::varchar[], ${_N + 4}::varchar[],
                ${_N + 5}::text[], ${_N + 6}::bool[], ${_N + 7}::text[]) AS x(c, a, k, ac, s, p, d)
), o AS (
    INSERT INTO {SCHEMA}.outbox (event_id, topic, key, ce_type, headers, payload)
    VALUES (${_N + 8}, ${_N + 9}, ${_N + 10}, ${_N + 11}, ${_N + 12}::jsonb, ${_N + 13}::jsonb)
), i AS (
    UPDATE {SCHEMA}.idempotency_keys SET status_code = 201, response = ${_N + 14}::jsonb
    WHERE key = ${_N + 15} AND principal = ${_N + 16}
)
"""
_WRITE = _WRITE_CTES + f"SELECT pg_notify('{notify_channel(SCHEMA)}', '')"
_WRITE_NO_NOTIFY = _WRITE_CTES + "SELECT 1"


@dataclass
class CreatedCase:
    id: uuid.UUID
    version: int
    body: bytes  # the 201 answer, CasePublic as JSON


async def create_case(conn: Any, deps: IntakeDeps, cmd: CaseCreate, user: Principal,
                      idempotency_key: str | None = None, wake: Callable[[], None] | None = None) -> CreatedCase:
    """Register a case: classify what is missing, assess risk, link or suggest duplicates, seal personal data,
    and write case + timeline + event (+ the idempotent answer) in one statement. The answer is built from the
    command itself (masked), so nothing just sealed is decrypted again.

    ``conn`` is an asyncpg connection: one of the registration pool (autocommit: the write is atomic on its own),
    or a session's (``shared.db.driver_connection``), then inside the session's transaction. With ``wake`` (only
    for an autocommit write: it runs once the rows are committed) the relay is woken by it instead of a NOTIFY."""
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
    amount = float(cmd.amount_involved) if cmd.amount_involved is not None else None
    index = sorted({blind_index(deps.index_key, kind, value) for p in cmd.parties if p.role == PartyRole.APPLICANT
                    for kind, value in (("phone", p.phone), ("id", p.id_number)) if value})
    # one applicant key for events: the phone's when there is one (people give their phone more often than an ID)
    applicant = next((i for i in index if i.startswith("phone:")), index[0] if index else None)
    loc = cmd.location
    address_index = blind_index(deps.index_key, "addr", dedup.normalize_address(loc.address)) \
        if loc.address else None
    place = dedup.place_key(loc.address) if loc.address else None
    place_index = blind_index(deps.index_key, "place", place) if place else None
    seen = await conn.fetchrow(_READ, index, now - timedelta(days=deps.risk_rules.repeat_applicant_days),
                               address_index, list(OPEN_STATUSES), now - deps.dedup_window, category, place_index)
    code = case_code(now, seen["seq"])
    recent = list(zip(seen["ids"] or (), seen["codes"] or (), seen["descriptions"] or (), seen["same_matter"] or (),
                      strict=True))
    primary, similar, candidates = _score_duplicates(deps, recent, cmd.description)
    assessment = risk.assess(deps.risk_rules, text=f"{cmd.title}。{cmd.description}", signals=cmd.risk_signals,
                             people_involved=cmd.people_involved, amount_involved=amount,
                             applicant_prior_cases=seen["prior"])
    risk_level = assessment.level
    aad = _aad(case_id)
    pii = deps.pii
    location = {"address_sealed": pii.seal(loc.address, aad) if loc.address else None,
                "lat": loc.lat, "lng": loc.lng, "grid_id": loc.grid_id}
    parties = [{"role": p.role.value, "kind": p.kind.value, "name_sealed": pii.seal(p.name, aad),
                "phone_sealed": pii.seal(p.phone, aad) if p.phone else None,
                "id_number_sealed": pii.seal(p.id_number, aad) if p.id_number else None} for p in cmd.parties]
    channel_details = {k: v.model_dump() for k, v in (("transfer", cmd.transfer), ("patrol", cmd.patrol)) if v}
    attachments = [a.model_dump() for a in cmd.attachments]
    visible_units = [user.unit_id] if user.unit_id else []
    timeline_rows: list[tuple[uuid.UUID, str, str | None, str, bool, dict[str, Any]]] = [
        (case_id, "received", user.sub, f"已受理（{timeline.CHANNEL_ZH[cmd.channel]}），案件编号 {code}", True,
         {"unit_id": user.unit_id})]
    status = CaseStatus.RECEIVED.value
    event: CaseMerged | CaseReceived
    if primary is not None:
        primary_id, primary_code = primary
        status = CaseStatus.MERGED.value  # the new report follows its primary: its units see it
        primary_units = (await conn.fetchval(f"SELECT visible_units FROM {SCHEMA}.cases WHERE id = $1",
                                             primary_id)) or []
        visible_units = list(dict.fromkeys([*visible_units, *primary_units]))
        timeline_rows += [
            (case_id, "merged", None, f"与案件 {primary_code} 为同一事项，已合并办理", True,
             {"primary_case_id": str(primary_id), "linked_by": "auto", "similarity": similar}),
            (primary_id, "duplicate_linked", None, f"收到同一事项的再次反映（{code}），已合并", True,
             {"case_id": str(case_id)})]
        event = CaseMerged(case_id=case_id, at=now, code=code, primary_case_id=primary_id, similarity=similar,
                           channel=cmd.channel, linked_by="auto")
    else:
        event = CaseReceived(
            case_id=case_id, at=now, code=code, channel=cmd.channel, request_type=request_type,
            category=category, risk_level=risk_level, risk_signals=assessment.signals,
            people_involved=cmd.people_involved, amount_involved=amount,
            location=LocationRef(grid_id=loc.grid_id, lat=loc.lat, lng=loc.lng,
                                 address_sealed=deps.transport.seal(loc.address, aad) if loc.address else None),
            received_unit_id=user.unit_id, urgent=cmd.urgent, deadline_days=cmd.deadline_days,
            applicant_key=_event_key(deps, "evt-applicant", applicant) if applicant else None,
            address_key=_event_key(deps, "evt-address", address_index) if address_index else None)
    classified_by = "staff" if category_confidence is None and request_type_confidence is None else "classifier"
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
        parties=[PartyPublic(role=p.role, kind=p.kind, name=mask_name(p.name),
                             phone=mask_phone(p.phone) if p.phone else None,
                             id_number=mask_id_number(p.id_number) if p.id_number else None)
                 for p in cmd.parties],
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
        "status": status, "visible_units": visible_units, "applicant_index": index, "address_index": address_index,
        "place_index": place_index, "duplicate_of": primary[0] if primary else None, "duplicate_candidates": candidates,
        "created_by": user.sub, "created_at": now, "updated_at": now, "version": 1,
    }
    out = outbox_row(event, source=deps.source)
    await conn.fetchval(
        _WRITE if wake is None else _WRITE_NO_NOTIFY,
        *(json.dumps(values[c], ensure_ascii=False) if c in _JSONB else values[c] for c in _CASE_COLUMNS),
        [r[0] for r in timeline_rows], [now] * len(timeline_rows), [r[1] for r in timeline_rows],
        [r[2] for r in timeline_rows], [r[3] for r in timeline_rows], [r[4] for r in timeline_rows],
        [json.dumps(r[5], ensure_ascii=False) for r in timeline_rows],
        out["event_id"], out["topic"], out["key"], out["ce_type"], out["headers"], out["payload"],
        body.decode() if idempotency_key else None, idempotency_key, user.sub,
    )
    if wake is not None:
        wake()
    return CreatedCase(case_id, 1, body)


def _event_key(deps: IntakeDeps, kind: str, index: str) -> str:
    """An opaque key for events, derived from a blind index: stable per applicant/address, so analytics can
    count repeats, but not the index intake matches on (a consumer cannot probe intake's index with it)."""
    return blind_index(deps.index_key, kind, index)


def _score_duplicates(deps: IntakeDeps, recent: list[tuple[uuid.UUID, str, str, bool]], text: str
                      ) -> tuple[tuple[uuid.UUID, str] | None, float, list[dict[str, Any]]]:
    """Among open cases of the same applicant, address or place (newest first): the one to link to (id, code) with
    its similarity, or the suggestions. Nothing is decrypted: the match was on blind indexes.

    An open case in the same category, either of the same applicant at the same address or from the same shared
    place (``dedup.place_key``: two callers about one refuse station), is "the same matter" and needs less textual
    overlap to be linked: a repeat call about an unsolved problem is worded differently
    (``dedup_same_matter_link``)."""
    scored = sorted(((dedup.similarity(text, other), cid, code, same) for cid, code, other, same in recent),
                    key=lambda t: -t[0])
    for sim, cid, code, same in scored:
        if sim >= deps.dedup_link or (same and sim >= deps.dedup_same_matter_link):
            return (cid, code), round(sim, 3), []
    return None, 0.0, [{"case_id": str(cid), "code": code, "similarity": round(sim, 3)}
                       for sim, cid, code, _ in scored if sim >= deps.dedup_suggest][:5]


IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_ABANDONED = timedelta(minutes=1)


def request_hash(cmd: CaseCreate) -> str:
    body = json.dumps(jsonable_encoder(cmd), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class StoredAnswer:
    status_code: int
    body: str  # JSON


_CLAIM = (f"INSERT INTO {SCHEMA}.idempotency_keys (key, principal, request_hash, status_code, response, created_at) "
          "VALUES ($1, $2, $3, 0, '{}'::jsonb, $4) ON CONFLICT DO NOTHING RETURNING key")
_EARLIER = (f"SELECT request_hash, status_code, response::text AS body, created_at FROM {SCHEMA}.idempotency_keys "
            "WHERE key = $1 AND principal = $2")
_FORGET = (f"DELETE FROM {SCHEMA}.idempotency_keys WHERE key = $1 AND principal = $2 "
           "AND (created_at < $3 OR (status_code = 0 AND created_at < $4))")
_RELEASE = f"DELETE FROM {SCHEMA}.idempotency_keys WHERE key = $1 AND principal = $2 AND status_code = 0"


async def claim_idempotency_key(conn: Any, deps: IntakeDeps, key: str, user: Principal,
                                digest: str) -> StoredAnswer | None:
    """Reserve ``key`` for this request, committed at once (``conn``: an asyncpg connection in autocommit), so a
    concurrent request with the key sees the claim. One statement when the key is new.

    Returns the stored earlier answer for a repeat; 422 when the key was used with another body; 409 while
    another request with the key is still running. Keys are kept 24 h; a claim abandoned for a minute (its
    process died) may be taken over.
    """
    now = deps.clock.now()
    expired, abandoned = now - IDEMPOTENCY_TTL, now - IDEMPOTENCY_ABANDONED
    for _ in range(2):
        if await conn.fetchval(_CLAIM, key, user.sub, digest, now) is not None:
            return None
        row = await conn.fetchrow(_EARLIER, key, user.sub)
        if row is None:  # released meanwhile: claim again
            continue
        if row["created_at"] < expired or (row["status_code"] == 0 and row["created_at"] < abandoned):
            await conn.execute(_FORGET, key, user.sub, expired, abandoned)  # only if still so: then claim again
            continue
        if row["request_hash"] != digest:
            raise Problem(422, "idempotency_key_reused",
                          "this Idempotency-Key was already used with a different request body",
                          errors=[{"field": "header.idempotency-key", "reason": "reused with another body",
                                   "code": "idempotency_key_reused"}])
        if row["status_code"] == 0:
            break
        return StoredAnswer(row["status_code"], row["body"])
    raise Problem(409, "idempotency_in_progress", "a request with this Idempotency-Key is still in progress")


async def release_idempotency_key(conn: Any, key: str, user: Principal) -> None:
    """Free a claim whose request failed before anything was created, so the client can retry with the key."""
    await conn.execute(_RELEASE, key, user.sub)


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


# one statement per event (the consumer's hot path): the case row updated, its timeline entry added
_ASSIGNED = text(f"""
WITH u AS (
    UPDATE {SCHEMA}.cases c SET current_unit_id = :unit_id, assignment_id = :assignment_id,
        status = CASE WHEN c.status = :merged THEN c.status ELSE :status END,
        visible_units = coalesce((SELECT array_agg(v ORDER BY o) FROM (
            SELECT v, min(o) AS o FROM unnest(c.visible_units || CAST(:path AS varchar[])) WITH ORDINALITY AS x(v, o)
            GROUP BY v) AS firsts), c.visible_units),
        updated_at = :at, version = c.version + 1
    WHERE c.id = :case_id
    RETURNING c.id
)
INSERT INTO {SCHEMA}.timeline (case_id, at, kind, actor, summary, public, data)
SELECT id, :at, 'assigned', :unit_id, :summary, true, CAST(:data AS jsonb) FROM u
RETURNING case_id
""")


async def on_case_assigned(session: AsyncSession, event: CaseAssigned, env: Envelope) -> None:
    """Status ``assigned`` (a merged case stays merged: it follows its primary), the current unit, and the unit's
    path added to who may see the case (order kept)."""
    done = await session.execute(_ASSIGNED, {
        "status": CaseStatus.ASSIGNED.value, "merged": CaseStatus.MERGED.value, "unit_id": event.unit_id,
        "assignment_id": event.assignment_id, "path": list(event.unit_path), "at": event.at, "case_id": event.case_id,
        "summary": f"已派发至{event.unit_name or event.unit_id}办理",
        "data": json.dumps({"unit_id": event.unit_id, "level": event.level.value,
                            "explanation": event.explanation}, ensure_ascii=False),
    })
    if done.first() is None:
        raise LookupError(f"case {event.case_id} not found")  # retried, then dead-lettered


async def on_case_accepted(session: AsyncSession, event: CaseAccepted, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    if case.assignment_id == event.assignment_id:
        if case.status != CaseStatus.MERGED.value:  # a merged case follows its primary
            case.status = CaseStatus.IN_PROGRESS.value
        _touch(case, event.at)
    timeline.record(session, case.id, event.at, "accepted", "承办单位已签收，正在办理", actor=event.unit_id,
                    data={"unit_id": event.unit_id, "on_time": event.accepted_on_time})


async def on_case_resolved(session: AsyncSession, event: CaseResolved, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    if case.status != CaseStatus.MERGED.value:  # a merged case follows its primary
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
    """Progress for the citizen: the same 404 for an unknown code and for a phone that does not match, after the
    same work, so the time of the answer does not tell that a code exists either: one query that returns one row
    whether or not the code exists (NULLs when it does not), and one decryption per applicant phone (a decoy
    phone's for an unknown code) compared in constant time."""
    row = (await session.execute(
        select(Case.id, Case.code, Case.status, Case.created_at, Case.updated_at, Case.parties)
        .select_from(_ONE_ROW.outerjoin(Case, Case.code == code)))).one()
    if not _applicant_phone_ends_with(row.id, row.parties, deps, phone_last4):
        raise Problem(404, "case_not_found", "没有找到与案件编号和手机号后四位相符的案件")
    entries = await case_timeline(session, row.id, public_only=True)
    return PublicProgress(code=row.code, status=row.status, status_label=STATUS_ZH[CaseStatus(row.status)],
                          received_at=row.created_at, updated_at=row.updated_at,
                          timeline=[PublicTimelineItem(at=e.at, summary=e.summary) for e in entries])


_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")
_DECOY_CASE = uuid.UUID(int=0)


@functools.lru_cache(maxsize=4)
def _decoy_phone(pii: Sealer) -> str:
    return pii.seal("13800000000", _aad(_DECOY_CASE))


def _applicant_phone_ends_with(case_id: uuid.UUID | None, parties: list[dict[str, Any]] | None, deps: IntakeDeps,
                               last4: str) -> bool:
    sealed = [(p["phone_sealed"], _aad(case_id)) for p in parties or [] if case_id is not None
              and p["role"] == "applicant" and p.get("phone_sealed")]
    decoy = not sealed
    if decoy:  # an unknown code (or no applicant phone): decrypt and compare all the same
        sealed = [(_decoy_phone(deps.pii), _aad(_DECOY_CASE))]
    match = False
    for phone, aad in sealed:  # no short cut: every applicant's phone is compared
        match |= hmac.compare_digest(deps.pii.open(phone, aad)[-4:].encode(), last4.encode())
    return match and not decoy


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


# --- duplicates decided by staff -------------------------------------------------------------------------

async def merge_case(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: MergeRequest,
                     user: Principal) -> Case:
    """Staff confirm that an open case is the same matter as another open case (e.g. a suggested candidate): it
    follows its primary like an automatic link. Emits ``fq.case.merged.v1`` with ``linked_by`` = the staff id."""
    if body.primary_case_id == case_id:
        raise field_problem("primary_case_id", "a case cannot be merged into itself", "same_case")
    # lock both in id order: two merges of the same pair in opposite directions cannot deadlock
    first, second = sorted((case_id, body.primary_case_id))
    locked = {c.id: c for c in [await _in_scope_or_none(session, first, user),
                                await _in_scope_or_none(session, second, user)] if c is not None}
    case, primary = locked.get(case_id), locked.get(body.primary_case_id)
    if case is None:
        raise Problem(404, "case_not_found", f"no case {case_id} in your scope")
    if primary is None:
        raise Problem(404, "primary_case_not_found", f"no case {body.primary_case_id} in your scope",
                      errors=[{"field": "primary_case_id", "reason": "no such case in your scope",
                               "code": "primary_case_not_found"}])
    if case.status not in OPEN_STATUSES:
        raise Problem(409, "case_not_open", f"only open cases are merged; this one is {case.status}",
                      status_now=case.status)
    if primary.status not in OPEN_STATUSES:
        detail = f"the primary is merged into {primary.duplicate_of}: merge into that case" \
            if primary.status == CaseStatus.MERGED.value else f"the primary must be open; it is {primary.status}"
        raise Problem(409, "primary_not_open", detail, status_now=primary.status)
    suggested = next((c["similarity"] for c in case.duplicate_candidates
                      if c.get("case_id") == str(primary.id)), None)
    similarity = float(suggested) if suggested is not None else \
        round(dedup.similarity(case.description, primary.description), 3)
    now = deps.clock.now()
    case.status = CaseStatus.MERGED.value
    case.duplicate_of = primary.id
    case.visible_units = list(dict.fromkeys([*case.visible_units, *primary.visible_units]))
    _touch(case, now)
    timeline.record(session, case.id, now, "merged", f"经工作人员核实，与案件 {primary.code} 为同一事项，已合并办理",
                    actor=user.sub, data={"primary_case_id": str(primary.id), "linked_by": user.sub,
                                          "similarity": similarity, "reason": body.reason})
    timeline.record(session, primary.id, now, "duplicate_linked",
                    f"案件 {case.code} 经核实为同一事项，已并入本案办理", actor=user.sub,
                    data={"case_id": str(case.id), "linked_by": user.sub})
    await add_event(session, CaseMerged(case_id=case.id, at=now, code=case.code, primary_case_id=primary.id,
                                        similarity=similarity, channel=Channel(case.channel), linked_by=user.sub),
                    source=deps.source)
    return case


async def _in_scope_or_none(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> Case | None:
    case = await session.get(Case, case_id, with_for_update=True)
    return case if case is not None and user.can_see(case.visible_units) else None


async def unmerge_case(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: UnmergeRequest,
                       user: Principal) -> Case:
    """Undo an automatic link made at intake: the report becomes a case of its own and is routed and counted now
    (``fq.case.received.v1``, dated when it was registered). A merge decided by staff is final here: that case
    had already been routed, and taking it back is routing's business."""
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    if case.status != CaseStatus.MERGED.value or case.duplicate_of is None:
        raise Problem(409, "case_not_merged", f"the case is {case.status}, not merged", status_now=case.status)
    entries = await case_timeline(session, case.id, public_only=False)
    link = next((e for e in reversed(entries) if e.kind == "merged"), None)
    received = next((e for e in entries if e.kind == "received"), None)
    linked_by = (link.data.get("linked_by") if link else None) or "auto"
    if linked_by != "auto":
        raise Problem(409, "merge_not_automatic", "only an automatic link can be undone; this merge was decided by "
                      "staff", linked_by=linked_by)
    primary = await session.get(Case, case.duplicate_of)
    now = deps.clock.now()
    case.status = CaseStatus.RECEIVED.value
    case.duplicate_of = None
    _touch(case, now)
    primary_code = primary.code if primary else str(case.duplicate_of)
    timeline.record(session, case.id, now, "unmerged", f"经工作人员核实，与案件 {primary_code} 不是同一事项，单独办理",
                    actor=user.sub, data={"primary_case_id": str(link.data.get("primary_case_id")) if link else None,
                                          "reason": body.reason})
    if primary is not None:
        timeline.record(session, primary.id, now, "duplicate_unlinked",
                        f"案件 {case.code} 经核实不是同一事项，已单独办理", actor=user.sub, public=False,
                        data={"case_id": str(case.id)})
    aad = _aad(case.id)
    address_sealed = case.location.get("address_sealed")
    await add_event(session, CaseReceived(
        case_id=case.id, at=case.created_at, code=case.code, channel=Channel(case.channel),
        request_type=RequestType(case.request_type), category=case.category, risk_level=RiskLevel(case.risk_level),
        risk_signals=[r.split("(", 1)[0] for r in case.risk_reasons],
        people_involved=case.people_involved,
        amount_involved=float(case.amount_involved) if case.amount_involved is not None else None,
        location=LocationRef(
            grid_id=case.location.get("grid_id"), lat=case.location.get("lat"), lng=case.location.get("lng"),
            address_sealed=deps.transport.seal(deps.pii.open(address_sealed, aad), aad) if address_sealed else None),
        received_unit_id=received.data.get("unit_id") if received else None,
    ), source=deps.source)
    return case
