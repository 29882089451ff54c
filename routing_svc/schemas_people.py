"""API models of the people of a unit and a case: responsible leaders (三级责任), 包案领导, 专班."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.auth import UNIT_ID_PATTERN as ID_PATTERN

MAX_TASK_FORCE_MEMBERS = 50
MAX_MILESTONES = 50


class UnitLeader(BaseModel):
    """A responsible leader of a unit (街道书记, 社区书记, 包村干部, …): a member, by id, with the title."""

    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=40, examples=["街道书记"])


# --- 包案领导 -------------------------------------------------------------------------------------------


class LeaderBody(BaseModel):
    """Give the case its 包案领导: a member of the handling unit or of a unit above it."""

    model_config = ConfigDict(extra="forbid")

    leader_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    title: str | None = Field(default=None, min_length=1, max_length=40,
                              description="default: the member's title among the unit's responsible leaders")


class CaseLeaderPublic(BaseModel):
    case_id: uuid.UUID
    leader_id: str
    title: str
    how: str = Field(description="auto (a red case's default) or manual")
    set_by: str
    set_at: datetime
    version: int


# --- 专班 ------------------------------------------------------------------------------------------------


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=40, description="kept when sent back; new ones get one")
    title: str = Field(min_length=1, max_length=200)
    due_at: AwareDatetime
    done: bool = False
    done_at: datetime | None = Field(default=None, description="set by the service when done turns true")


class TaskForceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    member_ids: list[str] = Field(default_factory=list, max_length=MAX_TASK_FORCE_MEMBERS)
    plan_due_at: AwareDatetime | None = Field(default=None, description="default: the deadline the routing rule "
                                              "set for the 专班's plan (the assignment's task_force.plan_due_at)")
    milestones: list[Milestone] = Field(default_factory=list, max_length=MAX_MILESTONES)

    @field_validator("member_ids")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        return _member_ids(v)


class TaskForceUpdate(BaseModel):
    """Only the fields sent change. Sending ``plan`` hands the work plan in (the deadline is met)."""

    model_config = ConfigDict(extra="forbid")

    lead_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=ID_PATTERN)
    member_ids: list[str] | None = Field(default=None, max_length=MAX_TASK_FORCE_MEMBERS)
    plan: str | None = Field(default=None, min_length=1, max_length=20000)
    plan_due_at: AwareDatetime | None = None
    milestones: list[Milestone] | None = Field(default=None, max_length=MAX_MILESTONES)

    @field_validator("member_ids")
    @classmethod
    def _ids(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _member_ids(v)


def _member_ids(v: list[str]) -> list[str]:
    import re

    bad = [x for x in v if not (1 <= len(x) <= 128 and re.fullmatch(ID_PATTERN, x))]
    if bad:
        raise ValueError(f"not member ids: {bad[:5]}")
    return list(dict.fromkeys(v))


class TaskForcePublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    lead_id: str
    member_ids: list[str]
    plan: str | None
    plan_due_at: datetime
    plan_submitted_at: datetime | None
    plan_overdue: bool = Field(description="the deadline passed without a plan (marked by the scheduler)")
    plan_overdue_at: datetime | None
    milestones: list[Milestone]
    version: int
