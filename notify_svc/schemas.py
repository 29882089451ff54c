"""Every HTTP model of notify's API (separate from the event payloads)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class InboxItemPublic(BaseModel):
    id: uuid.UUID
    kind: str
    case_id: uuid.UUID | None
    case_code: str | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    unread: int


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID | None
    trigger_type: str
    trigger_ce_id: str
    rule_id: str
    channel: str
    recipient_id: str
    template_key: str
    template_version: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class TemplatePublic(BaseModel):
    key: str
    description: str
    version: int
    subject: str
    body: str
    variables: list[str]
    updated_by: str | None
    updated_at: datetime | None


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=5000)


class TemplatePreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=5000)
    variables: dict[str, Any] = Field(default_factory=dict, description="override the sample values")


class TemplatePreview(BaseModel):
    key: str
    subject: str
    body: str


class RulesPublic(BaseModel):
    version: int
    doc: dict[str, Any]
    updated_by: str | None
    updated_at: datetime | None
    shipped_missing: list[dict[str, Any]] = Field(
        default_factory=list,
        description="rules this release ships whose id the saved rules lack (new since they were saved, or removed "
                    "on purpose): add them to the document to use them")


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=3, max_length=500, description="mailbox address (email) or robot URL (webhook)")
    secret: str | None = Field(default=None, max_length=200, description="robot signing secret (webhook)")


class TargetPublic(BaseModel):
    unit_id: str
    channel: str
    address: str
    signed: bool
    updated_by: str
    updated_at: datetime
    version: int = Field(description='its ETag; a PUT sends it back as If-Match ("0" creates one)')


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["satisfied", "unsatisfied"]
    comment: str | None = Field(default=None, max_length=1000)


class SurveyPublic(BaseModel):
    case_id: uuid.UUID
    status: str
    result: str | None
    expires_at: datetime
