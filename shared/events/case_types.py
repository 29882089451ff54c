"""The vocabulary of case events: channels, request types, risk levels, levels, tracks, outcomes, the location."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Channel(StrEnum):
    WALK_IN = "walk_in"  # 来访
    PHONE = "phone"  # 来电
    HOTLINE_12345 = "hotline_12345"  # 12345 工单
    GRID_PATROL = "grid_patrol"  # 网格排查
    ONLINE = "online"  # 线上
    POLICE_TRANSFER = "police_transfer"  # 警情转调
    COURT_TRANSFER = "court_transfer"  # 诉调对接
    PETITION_TRANSFER = "petition_transfer"  # 信访转办


class RequestType(StrEnum):
    DISPUTE = "dispute"  # 纠纷
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    HELP = "help"  # 求助
    CONSULT = "consult"  # 咨询
    SUGGESTION = "suggestion"  # 建议


class RiskLevel(StrEnum):
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"


class Level(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    VILLAGE = "village"
    GRID = "grid"
    BUILDING = "building"


class Track(StrEnum):
    GENERAL = "general"  # 普通门诊
    SPECIALIST = "specialist"  # 专科门诊
    SPECIAL = "special"  # 特需门诊
    FOLLOWUP = "followup"  # 社区门诊


class Outcome(StrEnum):
    RESOLVED = "resolved"  # 调解成功
    FAILED_REFERRED = "failed_referred"
    WITHDRAWN = "withdrawn"
    NOT_APPLICABLE = "not_applicable"


class LocationRef(BaseModel):
    """Where the case happened, without plain address text.

    ``address_sealed`` is the address encrypted (AES-GCM) with the transport key shared by intake and
    routing, so routing can locate the case while the topic carries no readable address.
    """

    grid_id: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    address_sealed: str | None = None


class AssignCause(StrEnum):
    """Why the case was (re)assigned."""

    ROUTED = "routed"  # first routing after intake
    RETURNED = "returned"  # re-routed after a return (退单)
    ESCALATED = "escalated"  # up the ladder (提级)
    REOPENED = "reopened"  # 重办
    DECIDED = "decided"  # the street centre chose a unit (e.g. after two returns)


class FeedbackResult(StrEnum):
    SATISFIED = "satisfied"  # 满意
    UNSATISFIED = "unsatisfied"  # 不满意
    UNREACHED = "unreached"  # 未联系上 / 未答复


class DeadlineClock(StrEnum):
    """The two clocks of an assignment."""

    ACCEPT = "accept"  # 签收时限, runs from assignment
    RESOLVE = "resolve"  # 办结时限, runs from acceptance


class EscalationReason(StrEnum):
    RULE = "rule"  # the routing rules sent it up
    REQUEST = "request"  # the handler asked (提级)
    TIMEOUT = "timeout"  # a missed deadline


class ReopenReason(StrEnum):
    UNSATISFIED_FEEDBACK = "unsatisfied_feedback"  # 回访不满意
    HOTLINE_REDO = "hotline_redo"  # 12345 重办
    STAFF = "staff"
    LOOKBACK_RECURRED = "lookback_recurred"  # 回头看: 问题复发 (a closed case reopened)
    PERFORMANCE_FAILED = "performance_failed"  # 协议未履行 (a resolved or closed case reopened)


class CloseReason(StrEnum):
    SATISFIED = "satisfied"  # 回访满意
    NO_ANSWER = "no_answer"  # no answer within the window
    STAFF = "staff"


class CancelReason(StrEnum):
    """Why routing ended an assignment without handing the case on."""

    MERGED = "merged"  # the case was merged into another (一件事只立一案): the primary case is handled instead
