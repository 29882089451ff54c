"""Reconciliation (对账): our side of an order, for the platform or a street admin."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.hotline.tables import HotlineCallback, HotlineCallbackAttempt, HotlineMessage, HotlineOrder
from intake_svc.tables import Case


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
