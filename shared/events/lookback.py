"""Topic ``case-events``: the 回头看 (re-visit of a closed case) — scheduled at closing by routing's lookback rules,
due N working days later, and its result: 稳定 (stable) or 问题复发 (the problem came back: the case reopens).

Member and unit ids only: the result's note stays on routing's lookback record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.case import CaseEvent


class _LookbackEvent(CaseEvent):
    lookback_id: uuid.UUID
    assignment_id: uuid.UUID = Field(description="the closed assignment the 回头看 re-visits")
    unit_id: str = Field(description="the resolving unit, which does the 回头看")
    unit_path: list[str] = Field(description="ids from the root down to the unit itself")
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who held the "
                                    "closed assignment, by member id; none when it was the unit's alone")
    due_at: datetime


class LookbackScheduled(_LookbackEvent):
    ce_type: ClassVar[str] = "fq.case.lookback_scheduled.v1"
    description: ClassVar[str] = (
        "A closed case got a 回头看: a lookback rule (by category, risk, channel) matched when it was closed; the "
        "resolving unit re-visits it by ``due_at`` (N working days after closing)."
    )
    rule_id: str


class LookbackDue(_LookbackEvent):
    ce_type: ClassVar[str] = "fq.case.lookback_due.v1"
    description: ClassVar[str] = "A scheduled 回头看 fell due (the scheduler, once per lookback): the unit is told."


class LookbackStable(_LookbackEvent):
    ce_type: ClassVar[str] = "fq.case.lookback_stable.v1"
    description: ClassVar[str] = "The 回头看 found the matter stable (稳定): the case stays closed."
    recorded_by: str = Field(max_length=128)


class LookbackRecurred(_LookbackEvent):
    ce_type: ClassVar[str] = "fq.case.lookback_recurred.v1"
    description: ClassVar[str] = (
        "The 回头看 found the problem back (问题复发): routing reopens the closed case to the resolving unit "
        "(fq.case.reopened.v1 with reason lookback_recurred, then fq.case.assigned.v1); counted in 复发率."
    )
    recorded_by: str = Field(max_length=128)
