"""Topic ``case-events``, the case file's documents: the 人民调解协议书 filed, its 司法确认 and its 履行.

Ids, dates and outcomes only: the facts, the terms, the court's ruling number and the parties stay in intake."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.events.case import CaseEvent


class PerformanceWay(StrEnum):
    """How the agreement is to be performed (履行方式)."""

    IMMEDIATE = "immediate"  # 即时履行
    BY_DEADLINE = "by_deadline"  # 限期履行
    INSTALMENTS = "instalments"  # 分期履行


class ConfirmationStatus(StrEnum):
    """Where a 司法确认 application stands."""

    APPLIED = "applied"  # 已申请
    ACCEPTED = "accepted"  # 法院已受理
    CONFIRMED = "confirmed"  # 裁定确认有效
    REFUSED = "refused"  # 裁定驳回申请 / 不予受理


class PerformanceResult(StrEnum):
    PERFORMED = "performed"  # 已履行
    NOT_PERFORMED = "not_performed"  # 未履行


class AgreementSigned(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.agreement_signed.v1"
    description: ClassVar[str] = (
        "A 人民调解协议书 was signed and its scan filed with the case: the 履行 deadline starts a follow-up (notify "
        "reminds the resolving unit before it) and analytics counts the agreement."
    )
    agreement_id: uuid.UUID
    unit_id: str | None = Field(default=None, max_length=64, description="the unit handling the case when it was "
                                "signed (the resolving unit the follow-up reminds)")
    performance_way: PerformanceWay
    performance_due: date = Field(description="the agreed 履行 deadline (a day, Asia/Shanghai)")
    signed_by: str = Field(max_length=128, description="the staff member who filed the signed scan")


class JudicialConfirmationRecorded(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.judicial_confirmation_recorded.v1"
    description: ClassVar[str] = (
        "A 司法确认 of an agreement was recorded or moved on (applied, accepted, confirmed, refused). The court and "
        "the ruling number stay in the case file."
    )
    confirmation_id: uuid.UUID
    agreement_id: uuid.UUID
    status: ConfirmationStatus
    recorded_by: str = Field(max_length=128)


class PerformanceRecorded(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.performance_recorded.v1"
    description: ClassVar[str] = (
        "The 履行 of an agreement was recorded: 已履行 ends its follow-up; 未履行 marks the follow-up failed and "
        "notify tells the resolving unit and its supervisors; a resolved or closed case is reopened to the resolving "
        "unit (fq.case.reopened.v1 reason performance_failed)."
    )
    agreement_id: uuid.UUID
    result: PerformanceResult
    unit_id: str | None = Field(default=None, max_length=64, description="the resolving unit the follow-up is for")
    recorded_by: str = Field(max_length=128)
