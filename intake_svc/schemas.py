"""HTTP schemas of the intake API (the template's family: ``CaseCreate``, ``CasePublic``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from intake_svc.domain.case import ClassifiedBy, PartyKind, PartyRole
from intake_svc.domain.personal import normalize_mobile, validate_id_number
from intake_svc.domain.textscan import mask_text
from shared.events.case import Channel, FeedbackResult, RequestType, RiskLevel

CATEGORY_PATTERN = r"^[a-z][a-z_]*(\.[a-z][a-z_]*)?$"


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: PartyRole
    kind: PartyKind = PartyKind.PERSON
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return normalize_mobile(v) if v else None

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return validate_id_number(v) if v else None


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    grid_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


TRANSFER_CHANNELS = {Channel.POLICE_TRANSFER, Channel.COURT_TRANSFER, Channel.PETITION_TRANSFER}


class TransferIn(BaseModel):
    """Who sent the case (警情转调 / 诉调对接 / 信访转办) and under which reference."""

    model_config = ConfigDict(extra="forbid")

    organization: str = Field(min_length=1, max_length=200, description="e.g. 青澜区公安分局鹭鸣派出所")
    reference: str = Field(min_length=1, max_length=100, description="the sender's case or file number")


class PatrolIn(BaseModel):
    """A grid worker's patrol finding (网格排查, 未诉先办)."""

    model_config = ConfigDict(extra="forbid")

    reporter_id: str = Field(min_length=1, max_length=128, description="the reporting grid worker's member id")
    grid_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")


class AttachmentIn(BaseModel):
    """Metadata of a file kept in object storage (the file itself is not uploaded here)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    size: int = Field(ge=0, le=512 * 1024 * 1024)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    request_type: RequestType | None = Field(default=None, description="classified from the text when absent")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10000)
    category: str | None = Field(default=None, max_length=64, pattern=CATEGORY_PATTERN)
    occurred_at: datetime | None = None
    location: LocationIn = Field(default_factory=LocationIn)
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    people_involved: int | None = Field(default=None, ge=1, le=100000)
    amount_involved: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"), decimal_places=2)
    risk_signals: list[str] = Field(default_factory=list, max_length=20)
    external_ref: str | None = Field(default=None, max_length=100)
    transfer: TransferIn | None = Field(default=None, description="required for police/court/petition transfers")
    patrol: PatrolIn | None = Field(default=None, description="required for grid_patrol")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=50)
    urgent: bool = Field(default=False, description="marked urgent by the channel or the operator")
    deadline_days: int | None = Field(default=None, ge=1, le=365,
                                      description="a resolve deadline in working days imposed by the channel (12345)")

    @model_validator(mode="after")
    def _patrol_locates(self) -> CaseCreate:
        if self.patrol is not None and self.location.grid_id is None:
            self.location.grid_id = self.patrol.grid_id  # a patrol finding is located in the patrolled grid
        return self

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-23T09:30:00+08:00")
        return v


class PartyPublic(BaseModel):
    id: uuid.UUID | None = Field(default=None, description="the party's stable id (parties are addressed by it)")
    role: PartyRole
    kind: PartyKind
    name: str
    phone: str | None = None
    id_number: str | None = None


class LocationPublic(BaseModel):
    address: str | None = None
    lat: float | None = None
    lng: float | None = None
    grid_id: str | None = None


class DuplicateCandidate(BaseModel):
    case_id: uuid.UUID
    code: str
    similarity: float


class CasePublic(BaseModel):
    id: uuid.UUID
    code: str
    status: str
    channel: Channel
    request_type: RequestType
    title: str
    description: str
    category: str | None
    category_label: str | None = None
    category_confidence: float | None = None
    request_type_confidence: float | None = None
    classified_by: str = ClassifiedBy.STAFF
    risk_level: RiskLevel
    risk_reasons: list[str]
    duplicate_of: uuid.UUID | None = None
    duplicate_candidates: list[DuplicateCandidate] = Field(default_factory=list)
    occurred_at: datetime | None
    location: LocationPublic
    parties: list[PartyPublic]
    people_involved: int | None
    amount_involved: float | None
    external_ref: str | None
    transfer: TransferIn | None = None
    patrol: PatrolIn | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    current_unit_id: str | None
    assignment_id: uuid.UUID | None
    outcome: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    # phone and ID numbers typed into the texts are masked in every answer (the full text: POST …/texts/reveal)
    _masked = field_validator("title", "description")(mask_text)


class FeedbackCreate(BaseModel):
    """A 回访 result recorded by staff."""

    model_config = ConfigDict(extra="forbid")

    result: FeedbackResult
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    result: FeedbackResult
    source: str
    comment: str | None
    recorded_by: str
    at: datetime


class RiskChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: RiskLevel
    reasons: list[str] = Field(min_length=1, max_length=10, description="why, e.g. threats_of_violence")


class TimelineItem(BaseModel):
    at: datetime
    kind: str
    summary: str
    actor: str | None = None
    data: dict[str, object] = Field(default_factory=dict)


class CaseSummary(BaseModel):
    """A list row: no parties, no address."""

    id: uuid.UUID
    code: str
    status: str
    channel: Channel
    request_type: RequestType
    title: str
    category: str | None
    risk_level: RiskLevel
    current_unit_id: str | None
    created_at: datetime
    updated_at: datetime

    _masked = field_validator("title")(mask_text)


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=4, max_length=500, description="why the full values are needed (logged)")


class RevealedParty(BaseModel):
    id: uuid.UUID | None = None
    role: PartyRole
    kind: PartyKind
    name: str
    phone: str | None
    id_number: str | None


class RevealedCase(BaseModel):
    case_id: uuid.UUID
    address: str | None
    parties: list[RevealedParty]


class PiiAccessPublic(BaseModel):
    case_id: uuid.UUID
    accessed_by: str
    roles: list[str]
    unit_id: str | None
    purpose: str
    fields: list[str]
    at: datetime


class PublicTimelineItem(BaseModel):
    at: datetime
    summary: str


class PublicNote(BaseModel):
    """A staff note marked public (phone and ID numbers masked)."""

    at: datetime
    kind_label: str
    text: str


class PublicProgress(BaseModel):
    """What a citizen sees with the case code and the last four digits of the phone: no personal data."""

    code: str
    status: str
    status_label: str
    received_at: datetime
    updated_at: datetime
    timeline: list[PublicTimelineItem]
    notes: list[PublicNote] = Field(default_factory=list)


class Reclassify(BaseModel):
    """Staff override of the category and/or request type."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=64, pattern=CATEGORY_PATTERN)
    request_type: RequestType | None = None


class MergeRequest(BaseModel):
    """Staff decision: this case is the same matter as ``primary_case_id`` (一件事只立一案)."""

    model_config = ConfigDict(extra="forbid")
    primary_case_id: uuid.UUID
    reason: str | None = Field(default=None, max_length=500, description="why (kept on the staff timeline)")


class UnmergeRequest(BaseModel):
    """Undo an automatic link: the report is a matter of its own after all."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=500, description="why the link was wrong (kept on the staff timeline)")


class ContactRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=4, max_length=500, description="why the contact is needed (logged)")


class ApplicantContact(BaseModel):
    case_id: uuid.UUID
    name: str | None
    phone: str | None


class CasePreviewIn(BaseModel):
    """The intake form as far as it is filled in (登记预检): nothing is saved."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, examples=["楼上噪音扰民"])
    description: str = Field(min_length=1, max_length=10000, examples=["楼上住户每晚十一点后装修敲打，多次沟通无果。"])
    category: str | None = Field(default=None, max_length=64, pattern=CATEGORY_PATTERN)
    location: LocationIn = Field(default_factory=LocationIn)
    parties: list[PartyIn] = Field(default_factory=list, max_length=50)
    people_involved: int | None = Field(default=None, ge=1, le=100000)
    amount_involved: Decimal | None = Field(default=None, ge=0, le=Decimal("1e12"), decimal_places=2)
    risk_signals: list[str] = Field(default_factory=list, max_length=20)


class SuggestedCategory(BaseModel):
    code: str = Field(examples=["neighbor.noise"])
    label: str = Field(examples=["邻里纠纷/噪声扰民"])
    confidence: float


class CasePreview(BaseModel):
    """What registering would decide: the suggested category (建议分类, top 3), request type, risk (红黄蓝) and the
    open cases it may duplicate (疑似重复; ``duplicate_of``: the one it would be merged into)."""

    category: SuggestedCategory
    alternatives: list[SuggestedCategory]
    request_type: RequestType
    request_type_confidence: float
    risk_level: RiskLevel
    risk_reasons: list[str]
    duplicate_of: DuplicateCandidate | None = None
    duplicate_candidates: list[DuplicateCandidate] = Field(default_factory=list)
