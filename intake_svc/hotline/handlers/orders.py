"""Signed requests and inbound work orders (工单): a correctly signed, fresh request; an order registered once as a
case (through intake's registration), a re-push answered with the same case. The caller owns the transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import CaseStatus, PartyKind, PartyRole, TimelineKind
from intake_svc.handlers.registration import create_case
from intake_svc.hotline import signing, store
from intake_svc.hotline.deps import HotlineDeps
from intake_svc.hotline.domain import CallbackAction, OrderPhase
from intake_svc.hotline.handlers.callbacks import enqueue
from intake_svc.hotline.mapping import HotlineMapping
from intake_svc.hotline.tables import HotlineNonce, HotlineOrder
from intake_svc.schemas import CaseCreate
from intake_svc.store.cases import add_timeline
from intake_svc.tables import Case
from shared.auth import Principal, Role
from shared.bus import pending
from shared.db import driver_connection
from shared.events.case import Channel, RequestType
from shared.problems import Problem

log = structlog.get_logger(__name__)


async def authenticate(session: AsyncSession, deps: HotlineDeps, method: str, path: str,
                       headers: dict[str, str], body: bytes) -> str:
    """The client id of a correctly signed, fresh request; its nonce is stored. The route commits it on its own,
    before anything else, so a replay is refused whatever happens to the first request."""
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
    result = await session.execute(store.PURGE_NONCES, {"c": cutoff})
    return int(getattr(result, "rowcount", 0) or 0)


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Problem(422, "validation_failed", "the body is not valid JSON",
                      errors=[{"field": "body", "reason": "not valid JSON", "code": "json_invalid"}]) from exc


def invalid(errors: list[dict[str, str]]) -> Problem:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return Problem(422, "validation_failed", f"invalid fields: {fields}", errors=errors)


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
        raise invalid(errors) from exc


@dataclass
class OrderReceipt:
    order: HotlineOrder
    case: Case
    created: bool


async def receive_order(session: AsyncSession, deps: IntakeDeps, client_id: str, body: bytes) -> OrderReceipt:
    """Register a work order once: a re-push (even a concurrent one) answers with the same case."""
    hotline = deps.hotline
    mapping = hotline.mapping(client_id)
    fields, errors = mapping.order.apply(parse_json(body))
    if errors:
        raise invalid(errors)
    cmd = case_command(mapping, fields)
    order_no = fields["order_no"]
    now = hotline.clock.now()
    # the row is claimed first: a concurrent push of the same order waits here for our commit, then finds it
    claimed = await session.execute(insert(HotlineOrder).values(
        client_id=client_id, order_no=order_no, mapping=mapping.name,
        platform_received_at=fields.get("platform_received_at"), deadline_days=fields.get("deadline_days"),
        urgent=bool(fields.get("urgent")), callback_ok=bool(fields.get("callback_ok", True)),
        phase=OrderPhase.RECEIVED, body_sha256=hashlib.sha256(body).hexdigest(), next_seq=0,
        created_at=now, updated_at=now,
    ).on_conflict_do_nothing().returning(HotlineOrder.order_no))
    if claimed.first() is None:
        order = await store.get_order(session, client_id, order_no)
        case = await session.get(Case, order.case_id)
        if case is None:
            raise LookupError(f"order {order_no} has no case")
        return OrderReceipt(order, case, created=False)
    client = hotline.client(client_id)
    principal = Principal(sub=f"hotline:{client_id}", name=mapping.label, roles=frozenset({Role.SERVICE}),
                          unit_id=client.unit_id)
    created = await create_case(await driver_connection(session), deps, cmd, principal,
                                written=lambda: pending.mark_outbox_written(session))
    case = await session.get(Case, created.id)
    if case is None:
        raise LookupError(f"case {created.id} of order {order_no} was not written")
    order = await store.get_order(session, client_id, order_no, for_update=True)
    order.case_id, order.primary_case_id = case.id, case.duplicate_of
    terms = f"，办理时限 {order.deadline_days} 个工作日" if order.deadline_days else ""
    add_timeline(session, case.id, now, TimelineKind.HOTLINE_ORDER,
                 f"12345工单 {order_no}{'（加急）' if order.urgent else ''}{terms}", actor=principal.sub,
                 public=False, data={"order_no": order_no, "client_id": client_id, "urgent": order.urgent,
                                     "deadline_days": order.deadline_days})
    if case.duplicate_of is not None:
        primary = await session.get(Case, case.duplicate_of)
        if primary is not None and primary.status == CaseStatus.IN_PROGRESS:
            # linked to a case already signed for: this order is signed for at once
            await enqueue(session, order, CallbackAction.ACCEPTED, now, case.code, {"unit": primary.current_unit_id})
            order.phase = OrderPhase.ACCEPTED
    log.info("hotline_order_received", order_no=order_no, merged=case.duplicate_of is not None)
    return OrderReceipt(order, case, created=True)
