"""HTTP models of the case file's documents: the 人民调解协议书, its 司法确认 and the record of its 履行."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from intake_svc.domain.documents import AgreementStatus, PerformanceStatus
from shared.events.records import ConfirmationStatus, PerformanceResult, PerformanceWay

MEMBER_ID = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")


def _member_ids(v: list[str] | None) -> list[str] | None:
    if v is None:
        return v
    for i, m in enumerate(v):
        if not MEMBER_ID.fullmatch(m):
            raise ValueError(f"mediators[{i}] is not a member id")
    if len(set(v)) != len(v):
        raise ValueError("each mediator is named once")
    return v


class AgreementCreate(BaseModel):
    """What the mediator fills in; the parties come from the case file (with their ID numbers on the PDF)."""

    model_config = ConfigDict(extra="forbid")

    facts: str = Field(min_length=2, max_length=5000, description="纠纷主要事实、争议事项")
    terms: str = Field(min_length=2, max_length=5000, description="协议内容：经调解自愿达成的协议")
    performance_way: PerformanceWay = Field(description="履行方式")
    performance_due: date = Field(description="履行期限：a day, Asia/Shanghai")
    mediators: list[str] = Field(min_length=1, max_length=10, description="人民调解员, by member id")
    committee: str = Field(min_length=2, max_length=100, description="人民调解委员会名称")

    _mediators = field_validator("mediators")(_member_ids)


class AgreementUpdate(BaseModel):
    """An edit of a draft (``If-Match``: the agreement's ETag); a signed agreement stands."""

    model_config = ConfigDict(extra="forbid")

    facts: str | None = Field(default=None, min_length=2, max_length=5000)
    terms: str | None = Field(default=None, min_length=2, max_length=5000)
    performance_way: PerformanceWay | None = None
    performance_due: date | None = None
    mediators: list[str] | None = Field(default=None, min_length=1, max_length=10)
    committee: str | None = Field(default=None, min_length=2, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> AgreementUpdate:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    _mediators = field_validator("mediators")(_member_ids)


class AgreementPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    number: str = Field(description="the document's number: the case code and its sequence")
    status: AgreementStatus
    facts: str = Field(description="phone and ID numbers masked (the full text is on the logged PDF)")
    terms: str = Field(description="masked like facts")
    performance_way: PerformanceWay
    performance_way_label: str
    performance_due: date
    mediators: list[str]
    committee: str
    signed_on: date | None
    signed_attachment_id: uuid.UUID | None
    performance: PerformanceStatus
    performance_label: str
    performance_recorded_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class PerformanceIn(BaseModel):
    """已履行 or 未履行, recorded by the unit following the agreement up."""

    model_config = ConfigDict(extra="forbid")

    result: PerformanceResult
    note: str | None = Field(default=None, max_length=2000, description="what was found (kept sealed)")


class ConfirmationCreate(BaseModel):
    """A 司法确认 applied for; the court's answers are added with updates."""

    model_config = ConfigDict(extra="forbid")

    agreement_id: uuid.UUID
    applied_on: date
    court: str = Field(min_length=2, max_length=100, description="受理法院")
    accepted: bool | None = Field(default=None, description="the court accepted the application (受理)")
    confirmed: bool | None = Field(default=None, description="true: 裁定确认有效; false: 驳回")
    ruling_number: str | None = Field(default=None, min_length=4, max_length=64, description="裁定书文号")
    decided_on: date | None = None


class ConfirmationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    applied_on: date | None = None
    court: str | None = Field(default=None, min_length=2, max_length=100)
    accepted: bool | None = None
    confirmed: bool | None = None
    ruling_number: str | None = Field(default=None, min_length=4, max_length=64)
    decided_on: date | None = None

    @model_validator(mode="after")
    def _something(self) -> ConfirmationUpdate:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        for name in {"applied_on", "court"} & self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ConfirmationPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    agreement_id: uuid.UUID
    applied_on: date
    court: str
    accepted: bool | None
    confirmed: bool | None
    ruling_number: str | None
    decided_on: date | None
    status: ConfirmationStatus
    status_label: str
    recorded_by: str
    created_at: datetime
    updated_at: datetime
    version: int
