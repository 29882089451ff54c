"""HTTP schemas of the routing API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.domain.cohandling import TaskStatus
from routing_svc.domain.locate import polygon_of
from routing_svc.schemas_people import UnitLeader
from routing_svc.schemas_tasks import ResponsibleImport
from shared.auth import UNIT_ID_PATTERN as ID_PATTERN
from shared.events.case import AssignCause, Level, Outcome, ReopenReason, RiskLevel, Track


class UnitImport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    level: Level
    parent_id: str | None = Field(default=None, max_length=64)
    address_keywords: list[str] = Field(default_factory=list, max_length=200)
    polygon: list[list[float]] | None = None
    active: bool = True
    leaders: list[UnitLeader] = Field(default_factory=list, max_length=20,
                                      description="responsible leaders (三级责任), the first is a red case's default "
                                                  "包案领导; members of this unit or of a unit above it")

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        if v is not None and (len(v) < 4 or any(len(p) != 2 for p in v)):
            raise ValueError("a polygon is a closed ring of at least 4 [lng, lat] points")
        return v


class MemberImport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    role: str | None = None
    roles: list[str] = Field(default_factory=list)
    unit_id: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    forces: list[str] = Field(default_factory=list)
    active: bool = True

    def all_roles(self) -> list[str]:
        return sorted({*self.roles, *([self.role] if self.role else [])})


class OrgImport(BaseModel):
    units: list[UnitImport] = Field(default_factory=list, max_length=20000)
    members: list[MemberImport] = Field(default_factory=list, max_length=50000)
    responsibles: list[ResponsibleImport] = Field(default_factory=list, max_length=50000,
                                                  description="who answers for a force in a unit's area (协办)")


class OrgImportResult(BaseModel):
    units: int
    members: int


class UnitPublic(BaseModel):
    id: str
    name: str
    level: Level
    parent_id: str | None
    path: list[str]
    address_keywords: list[str]
    active: bool
    leaders: list[UnitLeader] = Field(default_factory=list, description="responsible leaders (三级责任)")
    version: int = Field(description="its ETag; a PATCH sends it back as If-Match")


class MemberPublic(BaseModel):
    id: str
    unit_id: str
    name: str
    phone: str | None
    roles: list[str]
    forces: list[str]
    active: bool
    version: int = Field(description="its ETag; a PATCH sends it back as If-Match")


class AssignmentPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    case_code: str
    unit_id: str
    level: Level
    track: Track
    forces: list[str]
    status: AssignmentStatus
    accept_due_at: datetime
    resolve_due_at: datetime | None
    rule_id: str
    explanation: str
    accepted_by: str | None
    accepted_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    outcome: Outcome | None
    created_at: datetime
    version: int
    cause: AssignCause = AssignCause.ROUTED
    previous_assignment_id: uuid.UUID | None = None
    close_due_at: datetime | None = None
    closed_at: datetime | None = None
    assignee_id: str | None = Field(default=None, description="the member (承办人) holding it; none: the unit's")
    assignee_at: datetime | None = None


class CaseRouting(BaseModel):
    case_id: uuid.UUID
    current: AssignmentPublic | None
    history: list[AssignmentPublic]


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: str | None = Field(default=None, max_length=5000)
    mediation_agreement: bool = False  # 人民调解协议书
    judicial_confirmation: bool = False  # 司法确认


# --- the workflow (routing-flow) -----------------------------------------------------------------------

Reason = Field(min_length=1, max_length=2000, description="staff text, without personal data")


class ReasonBody(BaseModel):
    """退单 / 中止 / 延期驳回: a reason is required."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Reason


class EscalateBody(ReasonBody):
    """提级 on request."""


class ExtensionBody(BaseModel):
    """延期申请: why, and the deadline wanted for the running clock."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Reason
    due_at: AwareDatetime


class ApproveExtensionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)
    due_at: AwareDatetime | None = Field(default=None, description="overrides the deadline asked for")


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class TakeBody(BaseModel):
    """认领: a member of the handling unit takes the assignment."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class AssignMemberBody(BaseModel):
    """派单到人: the unit's leader gives the assignment to one of its members; a reason is required when it already
    has a 承办人 (改派)."""

    model_config = ConfigDict(extra="forbid")

    member_id: str = Field(min_length=1, max_length=128, pattern=ID_PATTERN)
    reason: str | None = Field(default=None, min_length=1, max_length=2000,
                               description="why it is re-dispatched (required once a member holds it)")


class WorkItem(BaseModel):
    """One open assignment, one co-handling task (协办) of the caller, or a 回头看 due (kind ``lookback``), in a
    work list (我的待办 / 单位待办)."""

    kind: Literal["assignment", "task", "lookback"] = Field(
        default="assignment", description="assignment: an open assignment of the unit; task: a co-handling task (协办) "
        "held by the caller; lookback: a 回头看 of a closed case (its due_at, clock lookback; record it at "
        "/api/v1/lookbacks/{id}/result)")
    task_id: uuid.UUID | None = Field(default=None, description="kind task: the task (GET /api/v1/tasks/{id})")
    force: str | None = Field(default=None, description="kind task: the force it co-handles for")
    lookback_id: uuid.UUID | None = Field(default=None, description="kind lookback: the 回头看")
    assignment_id: uuid.UUID
    case_id: uuid.UUID
    case_code: str
    title: str | None = Field(default=None, description="routing does not hold case titles: always null; the case "
                              "file (intake) has it")
    unit_id: str
    assignee_id: str | None
    risk_level: RiskLevel | None
    track: Track
    status: AssignmentStatus | TaskStatus
    accept_due_at: datetime
    resolve_due_at: datetime | None
    due_at: datetime | None = Field(description="the running clock's deadline (accept while 待签收, else resolve; "
                                    "a task's own deadline; a 回头看's due)")
    clock: str | None = Field(description="accept, resolve, cohandling or lookback: which deadline is running")
    working_seconds_left: float | None = Field(description="working time until due_at (negative: overdue by that "
                                               "much); none without a hard deadline")
    overdue: bool
    pending_extension: bool
    version: int


class WorkList(BaseModel):
    items: list[WorkItem]
    counts: dict[str, int] = Field(description="open assignments per status under the same filters, status aside; "
                                   "lookback: the open 回头看")
    task_counts: dict[str, int] = Field(default_factory=dict, description="the caller's live co-handling tasks per "
                                        "status under the same filters (scope=me)")
    total: int
    next_cursor: str | None = Field(default=None, description="pass as ?cursor= for the next page; none at the end")


class DispatchBody(BaseModel):
    """The street centre sends the case to a unit of its choice."""

    model_config = ConfigDict(extra="forbid")

    unit_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    note: str | None = Field(default=None, max_length=2000)


class ReopenBody(BaseModel):
    """重办 requested by staff or the 12345 adapter."""

    model_config = ConfigDict(extra="forbid")

    reason: ReopenReason = ReopenReason.STAFF
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _not_lookback(cls, v: ReopenReason) -> ReopenReason:
        if v == ReopenReason.LOOKBACK_RECURRED:
            raise ValueError("a 回头看's 问题复发 is recorded on the 回头看 (POST /api/v1/lookbacks/{id}/result)")
        if v == ReopenReason.PERFORMANCE_FAILED:
            raise ValueError("未履行 is recorded on the agreement (POST …/agreements/{aid}/performance)")
        return v


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    actor: str
    detail: dict[str, Any]


class PendingExtension(BaseModel):
    clock: str
    reason: str
    requested_due_at: datetime
    requested_by: str
    requested_at: datetime


class TaskForcePublic(BaseModel):
    lead: str
    plan_due_at: datetime


class AssignmentDetail(AssignmentPublic):
    """One assignment with its workflow state and history; ``allowed_actions`` is what the caller may do now."""

    suspended_at: datetime | None = None
    pending_extension: PendingExtension | None = None
    task_force: TaskForcePublic | None = None
    escalate_on_resolve_overdue: bool = False
    mediation_agreement: bool = False
    judicial_confirmation: bool = False
    read_only: bool = False
    allowed_actions: list[str] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)


# --- org updates and the internal contact read --------------------------------------------------


class UnitUpdate(BaseModel):
    """PATCH a unit: only the fields sent change. Moving a unit (parent) is an import of its subtree."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    address_keywords: list[str] | None = Field(default=None, max_length=200)
    polygon: list[list[float]] | None = None
    active: bool | None = None
    leaders: list[UnitLeader] | None = Field(default=None, max_length=20, description="responsible leaders, replaced")

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        if v is not None and polygon_of(v) is None:
            raise ValueError("a polygon is a valid closed ring of at least 4 [lng, lat] points")
        return v


class MemberUpdate(BaseModel):
    """PATCH a member: only the fields sent change (``null`` clears phone or email)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    unit_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=ID_PATTERN)
    roles: list[str] | None = Field(default=None, min_length=1)
    forces: list[str] | None = None
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    active: bool | None = None


class MemberContact(BaseModel):
    member_id: str
    unit_id: str
    name: str
    phone: str | None
    active: bool


# --- rules and calendar ----------------------------------------------------------------------------
