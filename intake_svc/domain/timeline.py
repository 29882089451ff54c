"""The case timeline's wording: what happened, in plain Chinese without personal data (shown to staff and citizens).

Pure code only.
"""

from __future__ import annotations

from datetime import datetime

from intake_svc.domain.case import CaseStatus, FeedbackSource
from shared.clock import SHANGHAI
from shared.events.case import (
    Channel,
    CloseReason,
    DeadlineClock,
    EscalationReason,
    FeedbackResult,
    Outcome,
    ReopenReason,
    RiskLevel,
)

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
# who recorded a 回访, as its timeline entry names it (staff: nobody named)
FEEDBACK_SOURCE_ZH = {FeedbackSource.STAFF: "", FeedbackSource.HOTLINE: "12345"}
RISK_ZH = {RiskLevel.BLUE: "蓝色（一般）", RiskLevel.YELLOW: "黄色（关注）", RiskLevel.RED: "红色（高风险）"}
STATUS_ZH = {CaseStatus.RECEIVED: "已受理", CaseStatus.ASSIGNED: "已派发，待签收", CaseStatus.IN_PROGRESS: "办理中",
             CaseStatus.RESOLVED: "已办结", CaseStatus.MERGED: "已与同一事项合并办理", CaseStatus.SUSPENDED: "已中止",
             CaseStatus.CLOSED: "已办结销号", CaseStatus.RETURNED: "不属于本辖区，已退回"}
CLOCK_ZH = {DeadlineClock.ACCEPT: "签收", DeadlineClock.RESOLVE: "办结"}
ESCALATION_ZH = {EscalationReason.RULE: "按分级规则", EscalationReason.REQUEST: "经承办单位申请",
                 EscalationReason.TIMEOUT: "因超期未签收"}
REOPEN_ZH = {ReopenReason.UNSATISFIED_FEEDBACK: "回访不满意", ReopenReason.HOTLINE_REDO: "12345热线要求重办",
             ReopenReason.STAFF: "经工作人员决定", ReopenReason.LOOKBACK_RECURRED: "回头看发现问题复发",
             ReopenReason.PERFORMANCE_FAILED: "调解协议未履行"}
CLOSE_ZH = {CloseReason.SATISFIED: "回访满意，已销号", CloseReason.NO_ANSWER: "回访期满未获答复，已销号",
            CloseReason.STAFF: "经工作人员确认，已销号"}


def feedback_summary(source: FeedbackSource, result: FeedbackResult) -> str:
    return f"{FEEDBACK_SOURCE_ZH[source]}回访结果：{FEEDBACK_ZH[result]}"


def local_time(at: datetime) -> str:
    """A moment as the citizen reads it: Beijing time to the minute."""
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
