"""The delivery worker: fires due reminders, sends due deliveries, records unanswered surveys.

Every replica runs one; rows are claimed with ``FOR UPDATE SKIP LOCKED`` so replicas share the work and no row
is sent twice. ``tick()`` does one round (tests call it with a frozen clock); the loop runs it every
``worker_poll_seconds``, and at once when this replica committed deliveries to send (``store.batch`` wakes it
after the commit: the deliveries are this replica's to send, and the other replicas' polls share what is left).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.adapters.channels import PermanentError, TransientError
from notify_svc.deps import NotifyDeps
from notify_svc.domain.delivery import (
    UNIT,
    DeliveryStatus,
    after_quiet_hours,
    backoff,
    is_applicant,
    is_citizen,
    session_party,
)
from notify_svc.domain.labels import PERFORMANCE_CLOCK
from notify_svc.domain.reminders import ReminderStatus
from notify_svc.domain.rules import Channel
from notify_svc.domain.templates import PLACE_SLOT
from notify_svc.handlers import surveys
from notify_svc.handlers.performance import fire_performance_reminder
from notify_svc.handlers.reminders import fire_reminder
from notify_svc.tables import ChannelTarget, Delivery, Reminder
from shared.bus import pending
from shared.bus.outbox import add_event
from shared.events import NotificationDelivered, NotificationFailed
from shared.loops import BackgroundLoop

log = structlog.get_logger(__name__)


@dataclass
class TickResult:
    reminders: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    unreached: int = 0

    @property
    def busy(self) -> bool:
        return any((self.reminders, self.delivered, self.retried, self.failed, self.unreached))


class DeliveryWorker(BackgroundLoop):
    """``enabled=False``: the loop never starts; sending happens only in explicit ``tick()`` calls (tests)."""

    name = "delivery-worker"

    def __init__(self, deps: NotifyDeps, session: Callable[[], AsyncSession], *, enabled: bool = True) -> None:
        super().__init__(interval=deps.settings.worker_poll_seconds, enabled=enabled)
        self.deps, self.session = deps, session

    async def round(self) -> bool:
        return (await self.tick()).busy

    async def tick(self) -> TickResult:
        """One round: fire the due reminders, send the due deliveries, record the expired surveys."""
        result = TickResult()
        batch = self.deps.settings.worker_batch_size
        async with self.session() as session, pending.transaction(session):
            result.reminders = await self._fire_reminders(session, batch)
        async with self.session() as session, pending.transaction(session):
            await self._send_due(session, batch, result)
        async with self.session() as session, pending.transaction(session):
            result.unreached = await surveys.expire_due(session, self.deps, batch)
        return result

    async def _fire_reminders(self, session: AsyncSession, limit: int) -> int:
        rows = list((await session.execute(
            select(Reminder).where(Reminder.status == ReminderStatus.PENDING.value,
                                   Reminder.fire_at <= self.deps.clock.now())
            .order_by(Reminder.fire_at).limit(limit).with_for_update(skip_locked=True)  # type: ignore[arg-type]
        )).scalars())
        for r in rows:
            if r.clock == PERFORMANCE_CLOCK:  # an agreement's 履行 follow-up: its own trigger and template
                await fire_performance_reminder(session, self.deps, r)
            else:
                await fire_reminder(session, self.deps, r)
        return len(rows)

    async def _send_due(self, session: AsyncSession, limit: int, result: TickResult) -> None:
        now = self.deps.clock.now()
        rows = list((await session.execute(
            select(Delivery).where(Delivery.status == DeliveryStatus.PENDING.value, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)  # type: ignore[arg-type]
        )).scalars())
        ready: list[Delivery] = []
        planned: dict[tuple[str, str], int] = {}  # sends this round, per recipient and channel
        for d in rows:
            key = (d.recipient_id, d.channel)
            later = await self._hold_until(session, d, planned.get(key, 0))
            if later is not None:
                d.next_attempt_at = later
                result.deferred += 1
            else:
                planned[key] = planned.get(key, 0) + 1
                ready.append(d)
        outcomes = await asyncio.gather(*(self._send(session, d) for d in ready), return_exceptions=True)
        s = self.deps.settings
        for d, outcome in zip(ready, outcomes, strict=True):
            d.attempts += 1
            if outcome is None:
                d.status, d.delivered_at, d.last_error = DeliveryStatus.DELIVERED.value, now, None
                result.delivered += 1
                await add_event(session, NotificationDelivered(
                    notification_id=d.id, case_id=d.case_id, rule_id=d.rule_id, channel=d.channel,
                    recipient_id=d.recipient_id, trigger_ce_id=d.trigger_ce_id, at=now, attempts=d.attempts,
                ), source=self.deps.source)
                continue
            if not isinstance(outcome, (TransientError, PermanentError)):
                log.error("delivery_send_crashed", delivery_id=str(d.id), channel=d.channel, error=repr(outcome))
                outcome = TransientError(f"{type(outcome).__name__}")
            d.last_error = str(outcome)[:1000]
            if isinstance(outcome, TransientError) and d.attempts < s.delivery_max_attempts:
                d.next_attempt_at = now + backoff(d.attempts, s.delivery_backoff_seconds,
                                                  s.delivery_backoff_max_seconds)
                result.retried += 1
                log.info("delivery_retry", delivery_id=str(d.id), channel=d.channel, attempts=d.attempts,
                         error=d.last_error)
                continue
            d.status = DeliveryStatus.FAILED.value
            result.failed += 1
            log.warning("delivery_failed", delivery_id=str(d.id), channel=d.channel, attempts=d.attempts,
                        error=d.last_error)
            await add_event(session, NotificationFailed(
                notification_id=d.id, case_id=d.case_id, rule_id=d.rule_id, channel=d.channel,
                recipient_id=d.recipient_id, trigger_ce_id=d.trigger_ce_id, at=now, attempts=d.attempts,
                error=d.last_error), source=self.deps.source)

    async def _hold_until(self, session: AsyncSession, d: Delivery, planned: int) -> datetime | None:
        """When a delivery must wait: citizens' quiet hours, or the recipient's rate limit on this channel."""
        s, now = self.deps.settings, self.deps.clock.now()
        if d.channel == Channel.SMS and is_citizen(d.recipient_id):
            morning = after_quiet_hours(now, s.quiet_start, s.quiet_end)
            if morning != now:
                return morning
        window = timedelta(seconds=s.rate_limit_window_seconds)
        count, oldest = (await session.execute(
            select(func.count(), func.min(Delivery.delivered_at)).where(
                Delivery.recipient_id == d.recipient_id, Delivery.channel == d.channel,
                Delivery.status == DeliveryStatus.DELIVERED.value, Delivery.delivered_at > now - window)  # type: ignore[operator]
        )).one()
        if count + planned >= s.rate_limit_count:
            return (oldest or now) + window
        return None

    async def _send(self, session: AsyncSession, d: Delivery) -> None:
        deps = self.deps
        assert deps.contacts is not None
        if d.channel == Channel.SMS:
            if deps.sms is None:
                raise PermanentError("sms: no provider configured (NOTIFY_SMS_URL)")
            body = d.body
            party = session_party(d.recipient_id)
            if is_applicant(d.recipient_id):
                contact = await deps.contacts.applicant(d.case_id,  # type: ignore[arg-type]
                                                        f"notify {d.rule_id}: 短信通知申请人 (delivery {d.id})")
            elif party is not None:
                notice = await deps.contacts.session_party(d.case_id, *party,  # type: ignore[arg-type]
                                                           f"notify {d.rule_id}: 调解通知当事人 (delivery {d.id})")
                contact, body = notice.contact, body.replace(PLACE_SLOT, notice.place)
            else:
                contact = await deps.contacts.member(d.recipient_id)
            if not contact.phone:
                raise PermanentError("sms: the recipient has no phone number")
            await deps.sms.send(contact.phone, body, str(d.id))
            return
        if d.channel in (Channel.EMAIL, Channel.WEBHOOK):
            unit_id = d.recipient_id.removeprefix(UNIT)
            target = await session.get(ChannelTarget, (unit_id, d.channel))
            if target is None:
                raise PermanentError(f"{d.channel}: unit {unit_id} has no {d.channel} target")
            if d.channel == Channel.EMAIL:
                await deps.mailer.send(target.address, d.title, d.body, str(d.id))
            else:
                await deps.robot.send(target.address, target.secret, d.title, d.body)
            return
        raise PermanentError(f"unknown channel {d.channel}")
