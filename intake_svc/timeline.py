"""The case timeline: what happened, in plain Chinese without personal data (shown to staff and citizens)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.tables import TimelineEntry
from shared.events.case import Channel, FeedbackResult, Outcome, RiskLevel

CHANNEL_ZH = {
    Channel.WALK_IN: "来访", Channel.PHONE: "来电", Channel.HOTLINE_12345: "12345热线工单",
    Channel.GRID_PATROL: "网格员排查", Channel.ONLINE: "线上", Channel.POLICE_TRANSFER: "公安转来",
    Channel.COURT_TRANSFER: "法院转来", Channel.PETITION_TRANSFER: "信访转来",
}
OUTCOME_ZH = {
    Outcome.RESOLVED: "调解成功，已办结", Outcome.FAILED_REFERRED: "未能调解成功，已引导通过诉讼或仲裁等途径解决",
    Outcome.WITHDRAWN: "申请人撤回，已办结", Outcome.NOT_APPLICABLE: "不属于受理范围，已办结",
}
FEEDBACK_ZH = {FeedbackResult.SATISFIED: "满意", FeedbackResult.UNSATISFIED: "不满意",
               FeedbackResult.UNREACHED: "未联系上"}
RISK_ZH = {RiskLevel.BLUE: "蓝色（一般）", RiskLevel.YELLOW: "黄色（关注）", RiskLevel.RED: "红色（高风险）"}


def record(session: AsyncSession, case_id: uuid.UUID, at: datetime, kind: str, summary: str, *,
           actor: str | None = None, public: bool = True, data: dict[str, Any] | None = None) -> None:
    session.add(TimelineEntry(case_id=case_id, at=at, kind=kind, summary=summary, actor=actor, public=public,
                              data=data or {}))
