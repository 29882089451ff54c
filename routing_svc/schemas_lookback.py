"""HTTP models of the 回头看 (re-visits of closed cases)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from routing_svc.domain.lookback import LookbackResult, LookbackStatus
from shared.events.case import RiskLevel


class LookbackResultBody(BaseModel):
    """The 回头看's finding: 稳定 (stable) or 问题复发 (recurred: the case reopens to the resolving unit)."""

    model_config = ConfigDict(extra="forbid")

    result: LookbackResult = Field(description="stable 稳定 | recurred 问题复发")
    note: str | None = Field(default=None, min_length=1, max_length=500,
                             description="what the re-visit found, staff text without personal data")


class LookbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    case_code: str
    assignment_id: uuid.UUID = Field(description="the closed assignment it re-visits")
    unit_id: str = Field(description="the resolving unit, which does the 回头看")
    assignee_id: str | None
    risk_level: RiskLevel
    rule_id: str = Field(description="the lookback rule that scheduled it")
    status: LookbackStatus
    due_at: datetime
    result: str | None
    note: str | None
    recorded_by: str | None
    recorded_at: datetime | None
    reopened_assignment_id: uuid.UUID | None = Field(description="问题复发: the new assignment of the reopened case")
    version: int
