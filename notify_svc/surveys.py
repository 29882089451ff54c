"""Satisfaction survey (回访): a signed, expiring token per resolved case; the answer becomes a feedback event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.tables import Survey
from shared.bus.outbox import add_event
from shared.clock import SHANGHAI
from shared.events import FeedbackReceived
from shared.events.case import FeedbackResult
from shared.problems import Problem

if TYPE_CHECKING:
    from notify_svc.handlers import NotifyDeps

SOURCE = "survey"


def _key(deps: NotifyDeps) -> bytes:
    s = deps.settings
    if s.survey_secret:
        return s.survey_secret.encode()
    return hashlib.sha256(b"fq-survey:" + s.jwt_secret.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(deps: NotifyDeps, survey_id: uuid.UUID, expires_at: datetime) -> str:
    """``<id|expiry>.<mac>``: the survey id and its expiry, HMAC-SHA256 signed (truncated to 128 bits)."""
    payload = survey_id.bytes + struct.pack(">Q", int(expires_at.timestamp()))
    mac = hmac.new(_key(deps), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(deps: NotifyDeps, token: str) -> tuple[uuid.UUID, datetime]:
    """The survey id of a valid token; 404 for anything forged or malformed, 410 once expired."""
    try:
        head, _, tail = token.partition(".")
        payload, mac = _unb64(head), _unb64(tail)
        if len(payload) != 24:
            raise ValueError("length")
    except (ValueError, TypeError) as exc:
        raise Problem(404, "survey_not_found", "this survey link is not valid") from exc
    good = hmac.new(_key(deps), payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(good, mac):
        raise Problem(404, "survey_not_found", "this survey link is not valid")
    survey_id = uuid.UUID(bytes=payload[:16])
    expires = datetime.fromtimestamp(struct.unpack(">Q", payload[16:])[0], UTC)
    if deps.clock.now() >= expires:
        raise Problem(410, "survey_expired", "此回访链接已过期")
    return survey_id, expires


async def create(session: AsyncSession, deps: NotifyDeps, case_id: uuid.UUID,
                 assignment_id: uuid.UUID | None) -> Survey:
    now = deps.clock.now()
    survey = Survey(case_id=case_id, assignment_id=assignment_id or uuid.UUID(int=0),
                    reply_code=f"{secrets.randbelow(10**6):06d}", status="pending", created_at=now,
                    expires_at=now + timedelta(days=deps.settings.survey_days))
    session.add(survey)
    await session.flush()
    return survey


def template_variables(deps: NotifyDeps, survey: Survey) -> dict[str, Any]:
    token = sign(deps, survey.id, survey.expires_at)
    return {"link": f"{deps.settings.public_base_url.rstrip('/')}/s/{token}", "reply_code": survey.reply_code,
            "expires": f"{survey.expires_at.astimezone(SHANGHAI):%Y-%m-%d}", "token": token}


async def load(session: AsyncSession, deps: NotifyDeps, token: str, *, for_update: bool = False) -> Survey:
    survey_id, _ = verify(deps, token)
    stmt = select(Survey).where(Survey.id == survey_id)
    if for_update:
        stmt = stmt.with_for_update()
    survey = (await session.execute(stmt)).scalar_one_or_none()
    if survey is None:
        raise Problem(404, "survey_not_found", "this survey link is not valid")
    return survey


async def answer(session: AsyncSession, deps: NotifyDeps, token: str, result: FeedbackResult,
                 comment: str | None) -> Survey:
    survey = await load(session, deps, token, for_update=True)
    if survey.status != "pending":
        raise Problem(409, "survey_already_answered", "此回访已完成，感谢您的评价")
    now = deps.clock.now()
    survey.status, survey.result, survey.comment, survey.answered_at = "answered", result.value, comment, now
    await add_event(session, FeedbackReceived(case_id=survey.case_id, at=now, result=result, source=SOURCE,
                                              recorded_by="citizen"), source=deps.source)
    return survey


async def expire_due(session: AsyncSession, deps: NotifyDeps, limit: int) -> int:
    """Surveys with no answer by their expiry: recorded as unreached (未答复)."""
    now = deps.clock.now()
    rows = list((await session.execute(
        select(Survey).where(Survey.status == "pending", Survey.expires_at <= now)
        .order_by(Survey.expires_at).limit(limit).with_for_update(skip_locked=True)  # type: ignore[arg-type]
    )).scalars())
    for survey in rows:
        survey.status, survey.result = "unreached", FeedbackResult.UNREACHED.value
        await add_event(session, FeedbackReceived(case_id=survey.case_id, at=now, result=FeedbackResult.UNREACHED,
                                                  source=SOURCE, recorded_by="notify"), source=deps.source)
    return len(rows)
