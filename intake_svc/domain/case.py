"""The case file's vocabulary: statuses, party roles and kinds, timeline kinds, who classified, where a follow-up came
from, and the case code.

Pure code only: no I/O, no framework.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.clock import SHANGHAI
from shared.events.case import RiskLevel


class CaseStatus(StrEnum):
    RECEIVED = "received"  # 已受理
    ASSIGNED = "assigned"  # 已派发
    IN_PROGRESS = "in_progress"  # 办理中 (签收后)
    RESOLVED = "resolved"  # 已办结
    SUSPENDED = "suspended"  # 已中止 (routing paused the clocks)
    CLOSED = "closed"  # 已销号 (follow-up done: the loop is closed)
    RETURNED = "returned"  # 已退回 (the street centre returned it to its channel, e.g. the 12345 platform)
    MERGED = "merged"  # 已合并 (the same matter as another case)


class PartyRole(StrEnum):
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    OTHER = "other"


class PartyKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


# the statuses in which a case is still being handled (duplicates are linked to these, merges need them)
OPEN_STATUSES = (CaseStatus.RECEIVED, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS)


class TimelineKind(StrEnum):
    """What a timeline entry records."""

    RECEIVED = "received"
    MERGED = "merged"
    DUPLICATE_LINKED = "duplicate_linked"
    UNMERGED = "unmerged"
    DUPLICATE_UNLINKED = "duplicate_unlinked"
    RECLASSIFIED = "reclassified"
    RISK_CHANGED = "risk_changed"
    FEEDBACK = "feedback"  # 回访
    # the case file's records (intake_svc.domain.records)
    NOTE_ADDED = "note_added"  # 处置记录
    NOTE_EDITED = "note_edited"
    PARTY_ADDED = "party_added"
    PARTY_CORRECTED = "party_corrected"
    ATTACHMENT_ADDED = "attachment_added"
    ATTACHMENT_REDACTED = "attachment_redacted"
    SESSION_SCHEDULED = "session_scheduled"  # 调解 sessions (intake_svc.domain.sessions)
    SESSION_RESCHEDULED = "session_rescheduled"  # 改期
    SESSION_RECORDED = "session_recorded"
    # the case file's documents (intake_svc.domain.documents)
    AGREEMENT_DRAFTED = "agreement_drafted"  # 人民调解协议书
    AGREEMENT_SIGNED = "agreement_signed"
    JUDICIAL_CONFIRMATION = "judicial_confirmation"  # 司法确认
    PERFORMANCE_RECORDED = "performance_recorded"  # 履行
    # from routing's workflow
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"  # 签收
    RETURNED = "returned"
    ESCALATED = "escalated"
    EXTENDED = "extended"
    EXTENSION_REJECTED = "extension_rejected"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    OVERDUE = "overdue"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"  # 销号
    # 回头看 (routing's re-visit of a closed case)
    LOOKBACK_SCHEDULED = "lookback_scheduled"
    LOOKBACK_STABLE = "lookback_stable"  # 稳定
    LOOKBACK_RECURRED = "lookback_recurred"  # 问题复发 (a reopen follows)
    # the 12345 adapter
    HOTLINE_ORDER = "hotline_order"
    HOTLINE_CALLBACK = "hotline_callback"
    REDO_REQUESTED = "redo_requested"  # 重办
    URGED = "urged"  # 催办


class ClassifiedBy(StrEnum):
    STAFF = "staff"
    CLASSIFIER = "classifier"


class FeedbackSource(StrEnum):
    """Who recorded a 回访 result."""

    STAFF = "staff"
    HOTLINE = "hotline"  # the 12345 platform's own 回访


LINKED_AUTOMATICALLY = "auto"  # ``linked_by`` of a duplicate linked at registration (else the staff member's id)

RISK_ORDER = {RiskLevel.BLUE: 0, RiskLevel.YELLOW: 1, RiskLevel.RED: 2}


def case_code(received_at: datetime, seq: int) -> str:
    """``FQ-YYYYMMDD-NNNNNN``, the date in Asia/Shanghai."""
    return f"FQ-{received_at.astimezone(SHANGHAI):%Y%m%d}-{seq:06d}"
