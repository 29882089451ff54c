"""Topic ``case-events``: the co-handling tasks (协办) of a case — one per force (七调联动) the case calls in, held
by the force's member responsible for the area. Member ids only: no names, no report text, no reason text."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.case import CaseEvent


class CohandlingTaskEvent(CaseEvent):
    task_id: uuid.UUID
    assignment_id: uuid.UUID = Field(description="the lead unit's (主办) assignment the task was opened for")
    force: str = Field(max_length=32, description="the force code (police, legal_aid, …; GET /api/v1/dictionaries)")


class CohandlingTaskOpened(CohandlingTaskEvent):
    ce_type: ClassVar[str] = "fq.case.cohandling_task_opened.v1"
    description: ClassVar[str] = (
        "A force the case calls in got a co-handling task (协办) at its member responsible for the area; the "
        "member may read that case (and only it) from now on. Its deadline runs in working time."
    )
    case_code: str
    lead_unit_id: str = Field(max_length=64, description="the unit handling the case (主办)")
    member_id: str | None = Field(default=None, max_length=128, description="the responsible member (none: no "
                                  "member is responsible for the force anywhere up the unit path)")
    member_unit_id: str | None = Field(default=None, max_length=64)
    due_at: datetime
    required: bool = True


class CohandlingTaskAccepted(CohandlingTaskEvent):
    ce_type: ClassVar[str] = "fq.case.cohandling_task_accepted.v1"
    description: ClassVar[str] = "The responsible member accepted the co-handling task."
    member_id: str = Field(max_length=128)


class CohandlingTaskCompleted(CohandlingTaskEvent):
    ce_type: ClassVar[str] = "fq.case.cohandling_task_completed.v1"
    description: ClassVar[str] = ("The responsible member completed the co-handling task with a short report (the "
                                  "report stays in routing).")
    member_id: str = Field(max_length=128)
    completed_on_time: bool


class CohandlingTaskClosed(CohandlingTaskEvent):
    ce_type: ClassVar[str] = "fq.case.cohandling_task_closed.v1"
    description: ClassVar[str] = ("The lead unit closed the co-handling task with a reason (it no longer holds back "
                                  "the case's resolution); the reason stays in routing.")
    member_id: str | None = Field(default=None, max_length=128)
    closed_by: str = Field(max_length=128)


class CohandlingTaskOverdue(CohandlingTaskEvent):
    ce_type: ClassVar[str] = "fq.case.cohandling_task_overdue.v1"
    description: ClassVar[str] = ("A co-handling task is still open or accepted at its deadline (once per task): "
                                  "notify reminds its member and tells the lead unit (督办).")
    case_code: str
    lead_unit_id: str = Field(max_length=64, description="the unit handling the case (主办) now")
    member_id: str | None = Field(default=None, max_length=128)
    due_at: datetime
