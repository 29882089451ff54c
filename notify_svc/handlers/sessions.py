"""调解 sessions: when intake schedules (or reschedules) a session with ``notify_parties``, the parties it names are
sent the 调解通知 by SMS (rules ``on: fq.case.session_scheduled.v1``, selector ``parties``). The event carries ids and
the time only; the phone and the place are read from intake when the message is sent. A reschedule cancels the
session's notices not sent yet (held for the quiet hours): only the new time goes out."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from notify_svc.deps import NotifyDeps
from notify_svc.domain.delivery import PARTY, DeliveryStatus
from notify_svc.domain.labels import local_minute
from notify_svc.domain.templates import PLACE_SLOT
from notify_svc.handlers.notifications import fire
from notify_svc.tables import Delivery
from shared.bus import pending
from shared.bus.handlers import EventContext
from shared.events import SessionScheduled


async def cancel_pending_notices(session: AsyncSession, event: SessionScheduled) -> None:
    await pending.flush(session)  # notices queued earlier in this batch must be in the table to be cancelled
    await session.execute(update(Delivery).where(
        Delivery.case_id == event.case_id,  # type: ignore[arg-type]
        col(Delivery.recipient_id).startswith(f"{PARTY}{event.session_id}:"),
        Delivery.status == DeliveryStatus.PENDING.value,  # type: ignore[arg-type]
    ).values(status=DeliveryStatus.CANCELLED.value))


async def on_session_scheduled(ctx: EventContext[NotifyDeps], event: SessionScheduled) -> None:
    if event.rescheduled:
        await cancel_pending_notices(ctx.session, event)
    await fire(ctx.session, ctx.deps, ctx.env.type, ctx.env.id,
               {"notify_parties": event.notify_parties, "rescheduled": event.rescheduled},
               {"case_id": event.case_id, "case_code": event.case_code, "session_id": event.session_id,
                "party_ids": [str(p) for p in event.party_ids], "time": local_minute(event.scheduled_at),
                "place": PLACE_SLOT, "rescheduled": event.rescheduled})
