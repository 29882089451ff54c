"""Satisfaction survey (回访): one per resolved case, answered through a signed, expiring link; the answer (or
its absence by the expiry) becomes a feedback event."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.deps import NotifyDeps
from notify_svc.domain.delivery import DeliveryStatus
from notify_svc.domain.surveys import (
    BY_CITIZEN,
    BY_NOTIFY,
    SOURCE,
    SurveyExpired,
    SurveyLinkInvalid,
    SurveyStatus,
    sign,
    verify,
)
from notify_svc.tables import Delivery, Survey
from shared.bus.outbox import add_event
from shared.clock import SHANGHAI
from shared.events import FeedbackReceived
from shared.events.case import FeedbackResult
from shared.problems import Problem

SURVEY_TEMPLATE = "survey"  # the template whose deliveries carry a survey's link


def _not_found() -> Problem:
    return Problem(404, "survey_not_found", "此回访链接无效")


async def create(session: AsyncSession, deps: NotifyDeps, case_id: uuid.UUID,
                 assignment_id: uuid.UUID | None) -> Survey:
    now = deps.clock.now()
    survey = Survey(case_id=case_id, assignment_id=assignment_id or uuid.UUID(int=0),
                    reply_code=f"{secrets.randbelow(10**6):06d}", status=SurveyStatus.PENDING.value, created_at=now,
                    expires_at=now + timedelta(days=deps.settings.survey_days))
    session.add(survey)
    await session.flush()
    return survey


def template_variables(deps: NotifyDeps, survey: Survey) -> dict[str, Any]:
    token = sign(deps.survey_key, survey.id, survey.expires_at)
    return {"link": f"{deps.settings.public_base_url.rstrip('/')}/s/{token}", "reply_code": survey.reply_code,
            "expires": f"{survey.expires_at.astimezone(SHANGHAI):%Y-%m-%d}", "token": token}


async def load(session: AsyncSession, deps: NotifyDeps, token: str, *, for_update: bool = False) -> Survey:
    """The survey of a valid link; 404 for anything forged or malformed, 410 once expired."""
    try:
        survey_id, _ = verify(deps.survey_key, token, deps.clock.now())
    except SurveyLinkInvalid as exc:
        raise _not_found() from exc
    except SurveyExpired as exc:
        raise Problem(410, "survey_expired", "此回访链接已过期") from exc
    stmt = select(Survey).where(Survey.id == survey_id)
    if for_update:
        stmt = stmt.with_for_update()
    survey = (await session.execute(stmt)).scalar_one_or_none()
    if survey is None:
        raise _not_found()
    return survey


async def answer(session: AsyncSession, deps: NotifyDeps, token: str, result: FeedbackResult,
                 comment: str | None) -> Survey:
    survey = await load(session, deps, token, for_update=True)
    if survey.status == SurveyStatus.CANCELLED:
        raise Problem(410, "survey_cancelled", "此事项已与其他事项合并办理，本次回访已取消")
    if survey.status != SurveyStatus.PENDING:
        raise Problem(409, "survey_already_answered", "此回访已完成，感谢您的评价")
    now = deps.clock.now()
    survey.status, survey.result, survey.comment, survey.answered_at = (SurveyStatus.ANSWERED.value, result.value,
                                                                        comment, now)
    await add_event(session, FeedbackReceived(case_id=survey.case_id, at=now, result=result, source=SOURCE,
                                              recorded_by=BY_CITIZEN), source=deps.source)
    return survey


async def cancel(session: AsyncSession, case_id: uuid.UUID, assignment_id: uuid.UUID | None = None) -> None:
    """Cancel the case's (or one assignment's) pending surveys and the survey messages not sent yet (an sms held
    for the quiet hours): the case left the loop (merged), nobody is asked about it."""
    stmt = update(Survey).where(Survey.case_id == case_id, Survey.status == SurveyStatus.PENDING.value)  # type: ignore[arg-type]
    if assignment_id is not None:
        stmt = stmt.where(Survey.assignment_id == assignment_id)  # type: ignore[arg-type]
    await session.execute(stmt.values(status=SurveyStatus.CANCELLED.value))
    if assignment_id is None:
        await session.execute(update(Delivery).where(
            Delivery.case_id == case_id, Delivery.template_key == SURVEY_TEMPLATE,  # type: ignore[arg-type]
            Delivery.status == DeliveryStatus.PENDING.value,  # type: ignore[arg-type]
        ).values(status=DeliveryStatus.CANCELLED.value))


async def expire_due(session: AsyncSession, deps: NotifyDeps, limit: int) -> int:
    """Surveys with no answer by their expiry: recorded as unreached (未答复)."""
    now = deps.clock.now()
    rows = list((await session.execute(
        select(Survey).where(Survey.status == SurveyStatus.PENDING.value, Survey.expires_at <= now)
        .order_by(Survey.expires_at).limit(limit).with_for_update(skip_locked=True)  # type: ignore[arg-type]
    )).scalars())
    for survey in rows:
        survey.status, survey.result = SurveyStatus.UNREACHED.value, FeedbackResult.UNREACHED.value
        await add_event(session, FeedbackReceived(case_id=survey.case_id, at=now, result=FeedbackResult.UNREACHED,
                                                  source=SOURCE, recorded_by=BY_NOTIFY), source=deps.source)
    return len(rows)
