"""Topic ``case-events``, the people of a case: its 包案领导 and its 专班 (task force). Member ids only."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.events.case import CaseEvent


class LeaderHow(StrEnum):
    """How a case came to have its 包案领导."""

    AUTO = "auto"  # a red case: the handling unit's (or the nearest unit above's) first responsible leader
    MANUAL = "manual"  # given by a street/district admin or a responsible leader of the unit


class CaseLeaderSet(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.leader_set.v1"
    description: ClassVar[str] = (
        "The case was given a 包案领导 (the leader answerable for it): told of its escalations, overdue clocks and "
        "extension requests from now on. Carries the member id only."
    )
    assignment_id: uuid.UUID = Field(description="the assignment current when the leader was set")
    case_code: str = Field(default="", max_length=32)
    leader_id: str = Field(max_length=128, description="the member who answers for the case")
    title: str = Field(default="", max_length=40, description="the leader's title for the unit, e.g. 街道书记")
    previous_leader_id: str | None = Field(default=None, max_length=128)
    how: LeaderHow
    set_by: str = Field(max_length=128, description="a member id, or 'routing' for the automatic default")


class TaskForceSet(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.task_force_set.v1"
    description: ClassVar[str] = (
        "The case's 专班 (task force) was formed or its people changed: a lead member, members, and the deadline "
        "of its work plan. Member ids only."
    )
    task_force_id: uuid.UUID
    lead_id: str = Field(max_length=128)
    member_ids: list[str] = Field(default_factory=list, description="the members besides the lead")
    plan_due_at: datetime = Field(description="when the 专班's work plan is due")
    plan_submitted: bool = Field(default=False, description="the plan was handed in")


class TaskForcePlanStage(StrEnum):
    SOON = "soon"  # the reminder before the deadline
    OVERDUE = "overdue"  # the deadline passed without a plan


class TaskForcePlanDue(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.task_force_plan_due.v1"
    description: ClassVar[str] = (
        "The 专班's work plan is due soon (stage soon, once, a while before the deadline) or its deadline passed "
        "without a plan (stage overdue, once): the lead is reminded or supervised."
    )
    task_force_id: uuid.UUID
    case_code: str = Field(default="", max_length=32)
    lead_id: str = Field(max_length=128)
    stage: TaskForcePlanStage
    plan_due_at: datetime
