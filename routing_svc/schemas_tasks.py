"""HTTP schemas of co-handling (协办): tasks and the members responsible for a force per unit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from routing_svc.domain.cohandling import TaskStatus, personal_numbers
from shared.auth import UNIT_ID_PATTERN as ID_PATTERN
from shared.dictionaries import FORCE

ForceCode = Literal["police", "court", "petition", "people_mediation", "social", "arbitration", "procuratorate",
                    "legal_aid", "psychology", "labor"]
assert set(ForceCode.__args__) == set(FORCE), "ForceCode must list shared.dictionaries.FORCE"  # type: ignore[attr-defined]


def _staff_text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    kinds = personal_numbers(value)
    if kinds:
        raise ValueError(f"holds personal data ({', '.join(kinds)}): the case file keeps the parties' details")
    return value


class TaskPublic(BaseModel):
    """One force's co-handling task on a case, as its member and the lead unit see it."""

    id: uuid.UUID
    case_id: uuid.UUID
    case_code: str
    assignment_id: uuid.UUID = Field(description="the lead unit's (主办) assignment the task was opened for")
    force: str
    force_label: str
    member_id: str | None = Field(description="the responsible member (none: nobody answers for the force here)")
    member_unit_id: str | None
    required: bool = Field(description="a required live task holds back the case's resolution (409 cohandling_open)")
    status: TaskStatus
    due_at: datetime
    overdue: bool
    accepted_at: datetime | None
    completed_at: datetime | None
    report: str | None
    closed_at: datetime | None
    closed_by: str | None
    close_reason: str | None
    created_at: datetime
    version: int
    allowed_actions: list[str] = Field(description="what the caller may do with it now")


class TaskAcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskCompleteBody(BaseModel):
    """The short report (反馈) of what the force did: staff text, no phone or ID numbers."""

    model_config = ConfigDict(extra="forbid")

    report: Annotated[str, AfterValidator(_staff_text)] = Field(min_length=1, max_length=1000)


class TaskCloseBody(BaseModel):
    """The lead closes a task it no longer waits for, with a reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, AfterValidator(_staff_text)] = Field(min_length=1, max_length=500)


class ResponsibleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: ForceCode
    member_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)


class ResponsibleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)


class ResponsibleImport(ResponsibleCreate):
    """A row of the org import's ``responsibles``."""

    unit_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)


class ResponsiblePublic(BaseModel):
    unit_id: str
    force: str
    force_label: str
    member_id: str
    version: int
    updated_at: datetime
    inherited_from: str | None = Field(default=None, description="with effective=true: the unit above whose "
                                       "configuration applies (none: configured on this unit)")
