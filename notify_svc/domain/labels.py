"""The Simplified Chinese labels and time format the messages show (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime

from shared.clock import SHANGHAI
from shared.events.case import AssignCause, DeadlineClock, EscalationReason, Track

PERFORMANCE_CLOCK = "performance"  # the reminders of an agreement's 履行 deadline (not a routing clock)
CLOCK_ZH = {DeadlineClock.ACCEPT.value: "签收", DeadlineClock.RESOLVE.value: "办结", PERFORMANCE_CLOCK: "履行"}
CAUSE_ZH = {AssignCause.ROUTED: "首次派发", AssignCause.RETURNED: "退单后重新派发", AssignCause.ESCALATED: "提级派发",
            AssignCause.REOPENED: "重办", AssignCause.DECIDED: "街道中心指定"}
TRACK_ZH = {Track.GENERAL: "普通门诊", Track.SPECIALIST: "专科门诊", Track.SPECIAL: "特需门诊",
            Track.FOLLOWUP: "社区门诊"}
URGE_SOURCE_ZH = {"hotline": "12345热线平台", "staff": "工作人员"}
REASON_ZH = {EscalationReason.RULE: "规则提级", EscalationReason.REQUEST: "申请提级", EscalationReason.TIMEOUT: "超时"}


def local_minute(at: datetime | None) -> str:
    """``2026-11-23 17:30`` in Asia/Shanghai; empty for no time."""
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if at else ""
