"""Hotline handlers: signed requests, inbound orders, platform messages, and the callbacks owed on case events.

One function per command or event; the caller owns the transaction (except ``authenticate``, whose nonce is
committed on its own so a replay is refused whatever happens to the first request).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc import handlers as intake
from intake_svc import timeline
from intake_svc.domain import CaseStatus, PartyKind, PartyRole
from intake_svc.hotline import signing
from intake_svc.hotline.config import HotlineClient
from intake_svc.hotline.mapping import HotlineMapping
from intake_svc.hotline.tables import (
    CallbackStatus,
    HotlineCallback,
    HotlineCallbackAttempt,
    HotlineMessage,
    HotlineNonce,
    HotlineOrder,
    OrderPhase,
)
from intake_svc.schemas import CaseCreate
from intake_svc.tables import SCHEMA, Case, Feedback
from shared.auth import Principal, Role
from shared.bus.outbox import add_event
from shared.clock import Clock
from shared.db import driver_connection
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseEscalated,
    CaseExtensionRequested,
    CaseReopened,
    CaseReopenRequested,
    CaseResolved,
    CaseReturned,
    CaseUrged,
    Envelope,
    FeedbackReceived,
)
from shared.events.case import Channel, FeedbackResult, Level, ReopenReason, RequestType
from shared.problems import Problem

log = structlog.get_logger(__name__)

HOTLINE_SOURCE = "hotline"
LEVEL_ZH = {Level.DISTRICT: "区级", Level.STREET: "街道", Level.COMMUNITY: "社区", Level.VILLAGE: "村",
            Level.GRID: "网格", Level.BUILDING: "楼栋"}
# a return from these levels sends the order back to the platform (退单); below, routing re-routes inside the street
PLATFORM_RETURN_LEVELS = (Level.STREET, Level.DISTRICT)


class CallbackAction:
    ACCEPTED = "accepted"  # 签收
    RETURNED = "returned"  # 退单
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请
    PROGRESS = "progress"  # 阶段回复
    RESOLVED = "resolved"  # 办结


ACTION_ZH = {CallbackAction.ACCEPTED: "签收", CallbackAction.RETURNED: "退单",
             CallbackAction.EXTENSION_REQUESTED: "延期申请", CallbackAction.PROGRESS: "阶段回复",
             CallbackAction.RESOLVED: "办结"}


class MessageKind:
    FEEDBACK = "feedback"  # 回访
    REDO = "redo"  # 重办
    URGE = "urge"  # 催办


@dataclass
class HotlineDeps:
    clock: Clock
    clients: dict[str, HotlineClient]
    mappings: dict[str, HotlineMapping]  # by client id
    source: str
    skew_seconds: int = 300

    def client(self, client_id: str) -> HotlineClient:
        return self.clients[client_id]

    def mapping(self, client_id: str) -> HotlineMapping:
        return self.mappings[client_id]


def load_mappings(clients: dict[str, HotlineClient]) -> dict[str, HotlineMapping]:
    loaded: dict[str, HotlineMapping] = {}
    by_client = {}
    for client_id, client in clients.items():
        if client.mapping not in loaded:
            loaded[client.mapping] = HotlineMapping.load(client.mapping)
        by_client[client_id] = loaded[client.mapping]
    return by_client


# --- signed requests -----------------------------------------------------------------------------------


async def authenticate(session: AsyncSession, deps: HotlineDeps, method: str, path: str,
                       headers: dict[str, str], body: bytes) -> str:
    """The client id of a correctly signed, fresh request; its nonce is stored (and committed) before returning."""
    now = deps.clock.now()
    try:
        signed = signing.verify(headers, {k: c.secret for k, c in deps.clients.items()}, method, path, body,
                                now.timestamp(), deps.skew_seconds)
    except signing.SignatureError as exc:
        log.info("hotline_signature_refused", code=exc.code)
        raise Problem(exc.status, exc.code, exc.detail, headers={"WWW-Authenticate": "HMAC-SHA256"} if
                      exc.status == 401 else None,
                      errors=[{"field": f"header.{exc.header.lower()}", "reason": exc.detail, "code": exc.code}]
                      ) from exc
    async with session.begin():
        stored = await session.execute(
            insert(HotlineNonce).values(client_id=signed.client_id, nonce=signed.nonce, seen_at=now)
            .on_conflict_do_nothing().returning(HotlineNonce.nonce))
        if stored.first() is None:
            raise Problem(409, "nonce_replayed", "this nonce was already used: a replayed request is refused",
                          errors=[{"field": f"header.{signing.NONCE_HEADER.lower()}", "reason": "already used",
                                   "code": "nonce_replayed"}])
    structlog.contextvars.bind_contextvars(hotline_client=signed.client_id)
    return signed.client_id


async def purge_nonces(session: AsyncSession, deps: HotlineDeps) -> int:
    """Nonces older than twice the skew window can no longer be replayed (their timestamp is refused)."""
    cutoff = deps.clock.now() - timedelta(seconds=2 * deps.skew_seconds)
    result = await session.execute(text(f"DELETE FROM {SCHEMA}.hotline_nonces WHERE seen_at < :c"), {"c": cutoff})
    return int(getattr(result, "rowcount", 0) or 0)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Problem(422, "validation_failed", "the body is not valid JSON",
                      errors=[{"field": "body", "reason": "not valid JSON", "code": "json_invalid"}]) from exc


def _invalid(errors: list[dict[str, str]]) -> Problem:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return Problem(422, "validation_failed", f"invalid fields: {fields}", errors=errors)


# --- inbound orders ------------------------------------------------------------------------------------

# where each CaseCreate field comes from among the mapping's canonical fields (to name errors the platform's way)
_CASE_FIELD_SOURCES = {"title": "title", "description": "description", "request_type": "request_type",
                       "category": "category", "location.address": "address", "parties.0.name": "caller_name",
                       "parties.0.phone": "caller_phone"}


def case_command(mapping: HotlineMapping, fields: dict[str, Any]) -> CaseCreate:
    """The case a work order becomes: channel hotline_12345, the caller as the applicant (protected like any
    party), the address for routing to locate, the order number as the external reference."""
    party: dict[str, Any] = {"role": PartyRole.APPLICANT, "kind": PartyKind.PERSON, "name": fields["caller_name"]}
    if fields.get("caller_phone"):
        party["phone"] = fields["caller_phone"]
    try:
        return CaseCreate(
            channel=Channel.HOTLINE_12345, request_type=RequestType(fields["request_type"]), title=fields["title"],
            description=fields["description"], category=fields.get("category"),
            location={"address": fields["address"]},  # type: ignore[arg-type]
            parties=[party],  # type: ignore[list-item]
            external_ref=fields["order_no"], urgent=bool(fields.get("urgent")),
            deadline_days=fields.get("deadline_days"),
        )
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            target = _CASE_FIELD_SOURCES.get(where, where)
            errors.append({"field": mapping.order.source_of(target), "reason": err["msg"], "code": err["type"]})
        raise _invalid(errors) from exc


@dataclass
class OrderReceipt:
    order: HotlineOrder
    case: Case
    created: bool


async def receive_order(session: AsyncSession, deps: HotlineDeps, intake_deps: intake.IntakeDeps, client_id: str,
                        body: bytes) -> OrderReceipt:
    """Register a work order once: a re-push (even a concurrent one) answers with the same case."""
    mapping = deps.mapping(client_id)
    fields, errors = mapping.order.apply(parse_json(body))
    if errors:
        raise _invalid(errors)
    cmd = case_command(mapping, fields)
    order_no = fields["order_no"]
    now = deps.clock.now()
    # the row is claimed first: a concurrent push of the same order waits here for our commit, then finds it
    claimed = await session.execute(insert(HotlineOrder).values(
        client_id=client_id, order_no=order_no, mapping=mapping.name,
        platform_received_at=fields.get("platform_received_at"), deadline_days=fields.get("deadline_days"),
        urgent=bool(fields.get("urgent")), callback_ok=bool(fields.get("callback_ok", True)),
        phase=OrderPhase.RECEIVED, body_sha256=hashlib.sha256(body).hexdigest(), next_seq=0,
        created_at=now, updated_at=now,
    ).on_conflict_do_nothing().returning(HotlineOrder.order_no))
    if claimed.first() is None:
        order = await get_order(session, client_id, order_no)
        case = await session.get(Case, order.case_id)
        if case is None:
            raise LookupError(f"order {order_no} has no case")
        return OrderReceipt(order, case, created=False)
    client = deps.client(client_id)
    principal = Principal(sub=f"hotline:{client_id}", name=mapping.label, roles=frozenset({Role.SERVICE}),
                          unit_id=client.unit_id)
    created = await intake.create_case(await driver_connection(session), intake_deps, cmd, principal)
    case = await session.get(Case, created.id)
    if case is None:
        raise LookupError(f"case {created.id} of order {order_no} was not written")
    order = await get_order(session, client_id, order_no, for_update=True)
    order.case_id, order.primary_case_id = case.id, case.duplicate_of
    terms = f"，办理时限 {order.deadline_days} 个工作日" if order.deadline_days else ""
    timeline.record(session, case.id, now, "hotline_order",
                    f"12345工单 {order_no}{'（加急）' if order.urgent else ''}{terms}", actor=principal.sub,
                    public=False, data={"order_no": order_no, "client_id": client_id, "urgent": order.urgent,
                                        "deadline_days": order.deadline_days})
    if case.duplicate_of is not None:
        primary = await session.get(Case, case.duplicate_of)
        if primary is not None and primary.status == CaseStatus.IN_PROGRESS.value:
            # linked to a case already signed for: this order is signed for at once
            await _enqueue(session, order, CallbackAction.ACCEPTED, now, case.code, {"unit": primary.current_unit_id})
            order.phase = OrderPhase.ACCEPTED
    log.info("hotline_order_received", order_no=order_no, merged=case.duplicate_of is not None)
    return OrderReceipt(order, case, created=True)


async def get_order(session: AsyncSession, client_id: str, order_no: str, *, for_update: bool = False) -> HotlineOrder:
    stmt = select(HotlineOrder).where(HotlineOrder.client_id == client_id, HotlineOrder.order_no == order_no)
    if for_update:
        stmt = stmt.with_for_update()
    order = (await session.execute(stmt)).scalar_one_or_none()
    if order is None:
        raise Problem(404, "order_not_found", f"no work order {order_no}")
    return order


# --- the callback outbox -------------------------------------------------------------------------------


async def _enqueue(session: AsyncSession, order: HotlineOrder, action: str, at: datetime, case_code: str | None,
                   extra: dict[str, Any]) -> HotlineCallback:
    """Owe the platform a callback; the caller holds the order row locked, so ``seq`` is the order's next."""
    order.next_seq += 1
    order.updated_at = at
    payload = {"order_no": order.order_no, "action": action, "seq": order.next_seq, "at": at.isoformat(),
               "case_code": case_code, **{k: v for k, v in extra.items() if v is not None}}
    callback = HotlineCallback(client_id=order.client_id, order_no=order.order_no, seq=order.next_seq,
                               case_id=order.case_id, action=action, payload=payload,
                               status=CallbackStatus.PENDING, next_attempt_at=at, created_at=at)
    session.add(callback)
    if order.case_id is not None:
        timeline.record(session, order.case_id, at, "hotline_callback", f"向12345平台报送{ACTION_ZH[action]}",
                        public=False, data={"order_no": order.order_no, "seq": order.next_seq, "action": action})
    return callback


async def _orders_of_case(session: AsyncSession, case_id: uuid.UUID) -> list[tuple[HotlineOrder, str | None]]:
    """The orders that became this case or were linked to it as duplicates, locked, with their case codes."""
    rows = (await session.execute(
        select(HotlineOrder, Case.code).join(Case, Case.id == HotlineOrder.case_id)  # type: ignore[arg-type]
        .where(or_(HotlineOrder.case_id == case_id, HotlineOrder.primary_case_id == case_id))
        .order_by(HotlineOrder.created_at).with_for_update(of=HotlineOrder)
    )).all()
    return [(order, code) for order, code in rows]


async def on_case_assigned(deps: HotlineDeps, session: AsyncSession, event: CaseAssigned, env: Envelope) -> None:
    for order, _ in await _orders_of_case(session, event.case_id):
        order.unit_name = event.unit_name or event.unit_id


async def on_case_accepted(deps: HotlineDeps, session: AsyncSession, event: CaseAccepted, env: Envelope) -> None:
    """签收, once per order (and once more after a 重办): later acceptances after internal re-routing are ours."""
    for order, code in await _orders_of_case(session, event.case_id):
        if order.phase in (OrderPhase.RECEIVED, OrderPhase.REOPENED):
            await _enqueue(session, order, CallbackAction.ACCEPTED, event.at, code,
                           {"unit": order.unit_name or event.unit_id})
            order.phase = OrderPhase.ACCEPTED


async def on_case_returned(deps: HotlineDeps, session: AsyncSession, event: CaseReturned, env: Envelope) -> None:
    """退单 with the reason when the street (or above) returns the case: it is not the street's to handle."""
    if event.level not in PLATFORM_RETURN_LEVELS:
        return
    for order, code in await _orders_of_case(session, event.case_id):
        if order.phase not in (OrderPhase.RETURNED, OrderPhase.RESOLVED):
            await _enqueue(session, order, CallbackAction.RETURNED, event.at, code, {"text": event.reason})
            order.phase = OrderPhase.RETURNED


async def on_extension_requested(deps: HotlineDeps, session: AsyncSession, event: CaseExtensionRequested,
                                 env: Envelope) -> None:
    """延期申请 to the platform, which holds the street to its own deadline."""
    for order, code in await _orders_of_case(session, event.case_id):
        if order.phase == OrderPhase.ACCEPTED:
            await _enqueue(session, order, CallbackAction.EXTENSION_REQUESTED, event.at, code,
                           {"text": event.reason, "requested_due_at": event.requested_due_at.isoformat()})


async def on_case_escalated(deps: HotlineDeps, session: AsyncSession, event: CaseEscalated, env: Envelope) -> None:
    """阶段回复: the case went up the ladder."""
    for order, code in await _orders_of_case(session, event.case_id):
        if order.phase == OrderPhase.ACCEPTED:
            await _enqueue(session, order, CallbackAction.PROGRESS, event.at, code,
                           {"text": f"已提级至{LEVEL_ZH[event.to_level]}层面办理"})


async def on_case_resolved(deps: HotlineDeps, session: AsyncSession, event: CaseResolved, env: Envelope) -> None:
    """办结 with the result text: the staff's reply when one was recorded, else the outcome in plain Chinese."""
    for order, code in await _orders_of_case(session, event.case_id):
        if order.phase in (OrderPhase.RETURNED, OrderPhase.RESOLVED):
            continue
        text_ = order.result_text or timeline.OUTCOME_ZH[event.outcome]
        await _enqueue(session, order, CallbackAction.RESOLVED, event.at, code,
                       {"text": text_, "outcome": event.outcome.value, "unit": order.unit_name or event.unit_id})
        order.phase, order.result_text = OrderPhase.RESOLVED, None


async def on_case_reopened(deps: HotlineDeps, session: AsyncSession, event: CaseReopened, env: Envelope) -> None:
    """重办 (from the platform or an unsatisfied 回访): the next acceptance is signed for again."""
    for order, _ in await _orders_of_case(session, event.case_id):
        if order.phase == OrderPhase.RESOLVED:
            order.phase = OrderPhase.REOPENED
            order.updated_at = event.at


# --- staff: 阶段回复 and the 办结 reply ----------------------------------------------------------------------


async def order_in_scope(session: AsyncSession, order_no: str, user: Principal, client_id: str | None,
                          *, for_update: bool = False) -> HotlineOrder:
    stmt = select(HotlineOrder).where(HotlineOrder.order_no == order_no)
    if client_id:
        stmt = stmt.where(HotlineOrder.client_id == client_id)
    if for_update:
        stmt = stmt.with_for_update()
    orders = list((await session.execute(stmt)).scalars())
    if len(orders) > 1:
        raise Problem(409, "order_ambiguous", f"several platforms sent an order {order_no}; pass client_id",
                      clients=sorted(o.client_id for o in orders))
    if not orders:
        raise Problem(404, "order_not_found", f"no work order {order_no} in your scope")
    order = orders[0]
    case = await session.get(Case, order.case_id) if order.case_id else None
    if case is None or not user.can_see(case.visible_units):
        raise Problem(404, "order_not_found", f"no work order {order_no} in your scope")
    return order


async def add_progress(session: AsyncSession, deps: HotlineDeps, order_no: str, client_id: str | None, text_: str,
                       user: Principal) -> HotlineCallback:
    """阶段回复 written by the handling staff, sent to the platform in turn."""
    order = await order_in_scope(session, order_no, user, client_id, for_update=True)
    if order.phase != OrderPhase.ACCEPTED:
        raise Problem(409, "order_not_accepted", f"a progress reply follows 签收; the order is {order.phase}",
                      phase=order.phase)
    now = deps.clock.now()
    case = await session.get(Case, order.case_id)
    callback = await _enqueue(session, order, CallbackAction.PROGRESS, now, case.code if case else None,
                              {"text": text_})
    return callback


async def set_result_text(session: AsyncSession, order_no: str, client_id: str | None, text_: str,
                          user: Principal) -> HotlineOrder:
    """The reply sent with the next 办结 (instead of the outcome's standard wording)."""
    order = await order_in_scope(session, order_no, user, client_id, for_update=True)
    if order.phase in (OrderPhase.RETURNED, OrderPhase.RESOLVED):
        raise Problem(409, "order_closed", f"the order is {order.phase}", phase=order.phase)
    order.result_text = text_
    return order


# --- from the platform: 回访, 重办, 催办 ------------------------------------------------------------------------


@dataclass
class MessageReceipt:
    message: HotlineMessage
    repeated: bool


async def receive_message(session: AsyncSession, deps: HotlineDeps, client_id: str, order_no: str, kind: str,
                          body: bytes) -> MessageReceipt:
    """Apply a platform message once per ``message_id`` (a re-send gets the first answer)."""
    mapping = deps.mapping(client_id)
    fields, errors = mapping.message.apply(parse_json(body))
    if kind == MessageKind.FEEDBACK and not errors and fields.get("result") is None:
        errors.append({"field": mapping.message.source_of("result"), "reason": "required", "code": "missing"})
    if errors:
        raise _invalid(errors)
    now = deps.clock.now()
    claimed = await session.execute(insert(HotlineMessage).values(
        client_id=client_id, message_id=fields["message_id"], order_no=order_no, kind=kind, payload=fields_json(fields),
        outcome="pending", received_at=now,
    ).on_conflict_do_nothing().returning(HotlineMessage.message_id))
    if claimed.first() is None:
        earlier = (await session.execute(select(HotlineMessage).where(
            HotlineMessage.client_id == client_id, HotlineMessage.message_id == fields["message_id"]))).scalar_one()
        if earlier.order_no != order_no or earlier.kind != kind:
            raise Problem(409, "message_id_reused", "this message_id was already used for another message")
        return MessageReceipt(earlier, repeated=True)
    order = await get_order(session, client_id, order_no, for_update=True)
    case = await _effective_case(session, order)
    actor = f"hotline:{client_id}"
    if kind == MessageKind.FEEDBACK:
        outcome = await _feedback(session, deps, case, FeedbackResult(fields["result"]), fields.get("text"), actor, now)
    elif kind == MessageKind.REDO:
        outcome = await _redo(session, deps, order, case, actor, now)
    else:
        outcome = await _urge(session, deps, client_id, order, case, actor, now)
    message = (await session.execute(select(HotlineMessage).where(
        HotlineMessage.client_id == client_id, HotlineMessage.message_id == fields["message_id"]))).scalar_one()
    message.case_id, message.outcome = case.id, outcome
    return MessageReceipt(message, repeated=False)


def fields_json(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}


async def _effective_case(session: AsyncSession, order: HotlineOrder) -> Case:
    """The case that is handled for this order: its own, or the one it was linked to as a duplicate."""
    case_id = order.primary_case_id or order.case_id
    case = (await session.execute(select(Case).where(Case.id == case_id).with_for_update())).scalar_one_or_none()
    if case is None:
        raise Problem(404, "order_not_found", f"work order {order.order_no} has no case")
    return case


async def _feedback(session: AsyncSession, deps: HotlineDeps, case: Case, result: FeedbackResult,
                    comment: str | None, actor: str, now: datetime) -> str:
    if case.status != CaseStatus.RESOLVED.value:
        raise Problem(409, "case_not_resolved", f"回访 is recorded after resolution; the case is {case.status}",
                      status_now=case.status)
    session.add(Feedback(case_id=case.id, result=result.value, source=HOTLINE_SOURCE, comment=comment,
                         recorded_by=actor, at=now))
    timeline.record(session, case.id, now, "feedback", f"12345回访结果：{timeline.FEEDBACK_ZH[result]}", actor=actor,
                    data={"result": result.value, "source": HOTLINE_SOURCE})
    case.updated_at, case.version = now, case.version + 1
    await add_event(session, FeedbackReceived(case_id=case.id, at=now, result=result, source=HOTLINE_SOURCE,
                                              recorded_by=actor), source=deps.source)
    return f"feedback_{result.value}"


async def _redo(session: AsyncSession, deps: HotlineDeps, order: HotlineOrder, case: Case, actor: str,
                now: datetime) -> str:
    if case.status != CaseStatus.RESOLVED.value:
        if order.phase == OrderPhase.REOPENED:
            return "already_reopened"  # e.g. an unsatisfied 回访 reopened it already
        raise Problem(409, "case_not_resolved", f"only a resolved case is redone (重办); the case is {case.status}",
                      status_now=case.status)
    timeline.record(session, case.id, now, "redo_requested", "12345平台要求重办", actor=actor,
                    data={"order_no": order.order_no})
    await add_event(session, CaseReopenRequested(case_id=case.id, at=now, assignment_id=case.assignment_id,
                                                 reason=ReopenReason.HOTLINE_REDO, requested_by=actor,
                                                 source=HOTLINE_SOURCE), source=deps.source)
    return "reopen_requested"


async def _urge(session: AsyncSession, deps: HotlineDeps, client_id: str, order: HotlineOrder, case: Case,
                actor: str, now: datetime) -> str:
    count = (await session.execute(select(func.count()).select_from(HotlineMessage).where(
        HotlineMessage.client_id == client_id, HotlineMessage.order_no == order.order_no,
        HotlineMessage.kind == MessageKind.URGE))).scalar_one()
    timeline.record(session, case.id, now, "urged", f"12345平台催办（第{count}次）", actor=actor,
                    data={"order_no": order.order_no, "urge_count": count, "unit_id": case.current_unit_id})
    await add_event(session, CaseUrged(case_id=case.id, at=now, assignment_id=case.assignment_id,
                                       unit_id=case.current_unit_id, urge_count=count, source=HOTLINE_SOURCE,
                                       urged_by=actor), source=deps.source)
    return "urged"


# --- reconciliation ------------------------------------------------------------------------------------


async def reconciliation(session: AsyncSession, order: HotlineOrder) -> dict[str, Any]:
    """Our side of an order: the case, its status, every callback with every attempt, the platform's messages."""
    case = await session.get(Case, order.case_id) if order.case_id else None
    callbacks = list((await session.execute(select(HotlineCallback).where(
        HotlineCallback.client_id == order.client_id, HotlineCallback.order_no == order.order_no,
    ).order_by(HotlineCallback.seq))).scalars())  # type: ignore[arg-type]
    attempts: dict[int, list[HotlineCallbackAttempt]] = {}
    if callbacks:
        rows = (await session.execute(select(HotlineCallbackAttempt).where(
            HotlineCallbackAttempt.callback_id.in_([c.id for c in callbacks]))  # type: ignore[union-attr]
            .order_by(HotlineCallbackAttempt.id))).scalars()  # type: ignore[arg-type]
        for a in rows:
            attempts.setdefault(a.callback_id, []).append(a)
    messages = list((await session.execute(select(HotlineMessage).where(
        HotlineMessage.client_id == order.client_id, HotlineMessage.order_no == order.order_no,
    ).order_by(HotlineMessage.received_at))).scalars())  # type: ignore[arg-type]
    return {
        "order_no": order.order_no, "client_id": order.client_id, "phase": order.phase,
        "received_at": order.created_at, "platform_received_at": order.platform_received_at,
        "deadline_days": order.deadline_days, "urgent": order.urgent, "callback_ok": order.callback_ok,
        "unit_name": order.unit_name,
        "case": None if case is None else {
            "id": case.id, "code": case.code, "status": case.status, "current_unit_id": case.current_unit_id,
            "outcome": case.outcome, "duplicate_of": case.duplicate_of},
        "callbacks": [{
            "id": c.id, "seq": c.seq, "action": c.action, "status": c.status, "idempotency_key": c.idempotency_key,
            "payload": c.payload, "attempts": c.attempts, "next_attempt_at": c.next_attempt_at,
            "last_status_code": c.last_status_code, "last_error": c.last_error, "created_at": c.created_at,
            "delivered_at": c.delivered_at,
            "answers": [{"at": a.at, "status_code": a.status_code, "response": a.response, "error": a.error}
                        for a in attempts.get(c.id or 0, [])],
        } for c in callbacks],
        "messages": [{"message_id": m.message_id, "kind": m.kind, "outcome": m.outcome, "received_at": m.received_at,
                      "payload": m.payload} for m in messages],
    }


async def retry_callback(session: AsyncSession, deps: HotlineDeps, order: HotlineOrder,
                         callback_id: int) -> HotlineCallback:
    """An admin sends a parked (failed) callback again: a fresh round of attempts, starting now."""
    callback = (await session.execute(select(HotlineCallback).where(
        HotlineCallback.id == callback_id, HotlineCallback.client_id == order.client_id,
        HotlineCallback.order_no == order.order_no).with_for_update())).scalar_one_or_none()
    if callback is None:
        raise Problem(404, "callback_not_found", f"no callback {callback_id} for order {order.order_no}")
    if callback.status == CallbackStatus.DELIVERED:
        raise Problem(409, "callback_delivered", "this callback was already delivered")
    callback.status, callback.attempts, callback.next_attempt_at = CallbackStatus.PENDING, 0, deps.clock.now()
    return callback

