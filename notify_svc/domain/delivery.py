"""Delivery policy: statuses, recipient ids, retry backoff, quiet hours (pure, no I/O)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from enum import StrEnum

from shared.clock import SHANGHAI


def backoff(attempts: int, base_seconds: float, max_seconds: float, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter after ``attempts`` failed tries: base·2^(n-1), ±25 %, capped."""
    delay = min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds)
    jitter = (rng or random).uniform(0.75, 1.25)
    return timedelta(seconds=min(delay * jitter, max_seconds))


def after_quiet_hours(at: datetime, start: time, end: time) -> datetime:
    """``at`` if it is outside the quiet hours (Asia/Shanghai), else the end of the quiet period (e.g. 08:00)."""
    local = at.astimezone(SHANGHAI)
    t = local.time()
    quiet = (start <= t or t < end) if start > end else (start <= t < end)
    if not quiet:
        return at
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=SHANGHAI).astimezone(at.tzinfo)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # the worker sends it when due
    DELIVERED = "delivered"
    FAILED = "failed"  # given up (permanent error or too many attempts)
    CANCELLED = "cancelled"


APPLICANT = "applicant:"  # recipient id prefix: the applicant of a case (``applicant:<case id>``, reached by sms)
UNIT = "unit:"  # recipient id prefix: a unit's mailbox or robot (``unit:<unit id>``)
# recipient id prefix: a party of a 调解 session (``party:<session id>:<party id>``, reached by sms; the phone is read
# from intake when the message is sent)
PARTY = "party:"


def applicant_recipient(case_id: object) -> str:
    return f"{APPLICANT}{case_id}"


def unit_recipient(unit_id: str) -> str:
    return f"{UNIT}{unit_id}"


def is_applicant(recipient_id: str) -> bool:
    return recipient_id.startswith(APPLICANT)


def party_recipient(session_id: object, party_id: object) -> str:
    return f"{PARTY}{session_id}:{party_id}"


def session_party(recipient_id: str) -> tuple[str, str] | None:
    """(session id, party id) of a session party's recipient id, else None."""
    if not recipient_id.startswith(PARTY):
        return None
    session_id, _, party_id = recipient_id.removeprefix(PARTY).partition(":")
    return session_id, party_id


def is_citizen(recipient_id: str) -> bool:
    """A citizen (the applicant, a party of a session): quiet hours apply to what they are sent."""
    return recipient_id.startswith((APPLICANT, PARTY))
