"""HTTP schemas of the hotline API (what the platform pushes is read by its mapping, not by a model)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CaseRef(BaseModel):
    id: uuid.UUID
    code: str
    status: str
    current_unit_id: str | None
    outcome: str | None
    duplicate_of: uuid.UUID | None


class CallbackAnswer(BaseModel):
    """One delivery attempt: the platform's HTTP status and answer, or the error that prevented one."""

    at: datetime
    status_code: int | None
    response: str | None
    error: str | None


class CallbackDetail(BaseModel):
    id: int
    seq: int
    action: str = Field(description="accepted 签收 | returned 退单 | extension_requested 延期申请 | "
                                    "progress 阶段回复 | resolved 办结")
    status: str = Field(description="pending | delivered | failed (parked until an admin retries it)")
    idempotency_key: uuid.UUID
    payload: dict[str, Any] = Field(description="our canonical callback; sent in the platform's format")
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    answers: list[CallbackAnswer]


class PlatformMessage(BaseModel):
    message_id: str
    kind: str = Field(description="feedback 回访 | redo 重办 | urge 催办")
    outcome: str
    received_at: datetime
    payload: dict[str, Any]


class OrderReconciliation(BaseModel):
    """Our side of a work order (对账)."""

    order_no: str
    client_id: str
    phase: str = Field(description="received | accepted | resolved | returned | reopened")
    received_at: datetime
    platform_received_at: datetime | None
    deadline_days: int | None
    urgent: bool
    callback_ok: bool = Field(description="whether the caller agreed to be called back (回访)")
    unit_name: str | None
    case: CaseRef | None
    callbacks: list[CallbackDetail]
    messages: list[PlatformMessage]


class OrderAccepted(BaseModel):
    order_no: str
    case_id: uuid.UUID
    case_code: str
    status: str
    duplicate_of: uuid.UUID | None = None
    repeated: bool = Field(description="true when the order had been pushed before: the same case is returned")


class MessageAnswer(BaseModel):
    message_id: str
    order_no: str
    kind: str
    case_id: uuid.UUID | None
    outcome: str = Field(description="feedback_<result> | reopen_requested | already_reopened | urged")
    repeated: bool


class CallbackPublic(BaseModel):
    id: int
    client_id: str
    order_no: str
    seq: int
    action: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class ReplyText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=2, max_length=2000, description="plain Chinese, sent to the 12345 platform")


class ResultTextPublic(BaseModel):
    order_no: str
    result_text: str | None
    phase: str
