"""The 12345 adapter's vocabulary: where an order stands, what a callback says, what a platform message asks.

Pure code only.
"""

from __future__ import annotations

from enum import StrEnum

from shared.events.case import Level

HOTLINE_SOURCE = "hotline"  # the ``source`` of the events the platform's messages cause


class OrderPhase(StrEnum):
    """Where a work order stands, as the platform sees it."""

    RECEIVED = "received"  # pushed to us, not yet signed for
    ACCEPTED = "accepted"  # 签收 sent
    RESOLVED = "resolved"  # 办结 sent
    RETURNED = "returned"  # 退单 sent: the order went back to the platform
    REOPENED = "reopened"  # 重办: the next acceptance is signed for again


class CallbackStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    DELIVERED = "delivered"  # the platform answered 2xx
    FAILED = "failed"  # gave up after the maximum attempts: parked until an admin retries it


class CallbackAction(StrEnum):
    ACCEPTED = "accepted"  # 签收
    RETURNED = "returned"  # 退单
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请
    PROGRESS = "progress"  # 阶段回复
    RESOLVED = "resolved"  # 办结


ACTION_ZH = {CallbackAction.ACCEPTED: "签收", CallbackAction.RETURNED: "退单",
             CallbackAction.EXTENSION_REQUESTED: "延期申请", CallbackAction.PROGRESS: "阶段回复",
             CallbackAction.RESOLVED: "办结"}


class MessageKind(StrEnum):
    FEEDBACK = "feedback"  # 回访
    REDO = "redo"  # 重办
    URGE = "urge"  # 催办


class MessageOutcome(StrEnum):
    """What a platform message did (``feedback_<result>`` for a 回访: ``feedback_outcome``)."""

    PENDING = "pending"  # claimed, being applied
    REOPEN_REQUESTED = "reopen_requested"
    ALREADY_REOPENED = "already_reopened"
    URGED = "urged"


def feedback_outcome(result: str) -> str:
    return f"feedback_{result}"


LEVEL_ZH = {Level.DISTRICT: "区级", Level.STREET: "街道", Level.COMMUNITY: "社区", Level.VILLAGE: "村",
            Level.GRID: "网格", Level.BUILDING: "楼栋"}
# a return from these levels sends the order back to the platform (退单); below, routing re-routes inside the street
PLATFORM_RETURN_LEVELS = (Level.STREET, Level.DISTRICT)
