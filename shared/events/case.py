"""Topic ``case-events``: facts about one case, keyed by its id."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.events.base import Event, Topic
from shared.events.case_types import (
    AssignCause,
    CancelReason,
    Channel,
    CloseReason,
    DeadlineClock,
    EscalationReason,
    FeedbackResult,
    Level,
    LocationRef,
    Outcome,
    ReopenReason,
    RequestType,
    RiskLevel,
    Track,
)


class CaseEvent(Event):
    topic: ClassVar[str] = Topic.CASE
    case_id: uuid.UUID
    at: datetime = Field(description="when the fact happened (UTC)")

    def key(self) -> str:
        return str(self.case_id)


class CaseReceived(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.received.v1"
    description: ClassVar[str] = "A case was registered at intake (any channel)."
    code: str
    channel: Channel
    request_type: RequestType
    category: str | None = None
    risk_level: RiskLevel = RiskLevel.BLUE
    risk_signals: list[str] = Field(
        default_factory=list,
        description="risk signals found at intake: violence, threat, group, large_amount, repeat_applicant, ...",
    )
    people_involved: int | None = None
    amount_involved: float | None = None
    location: LocationRef
    received_unit_id: str | None = None
    urgent: bool = Field(default=False, description="marked urgent by the channel (e.g. a 12345 urgent order)")
    deadline_days: int | None = Field(
        default=None, ge=1, description="a resolve deadline in working days imposed by the channel (12345 工单)",
    )
    applicant_key: str | None = Field(
        default=None, max_length=128,
        description="opaque keyed hash (blind index) of the applicant, so analytics can count repeat applicants; "
                    "not personal data, never the phone or ID number itself",
    )
    address_key: str | None = Field(
        default=None, max_length=128,
        description="opaque keyed hash (blind index) of the normalised address, for address hotspots",
    )


class CaseAssigned(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.assigned.v1"
    description: ClassVar[str] = "Routing assigned the case to a unit; the accept clock starts."
    assignment_id: uuid.UUID
    case_code: str
    unit_id: str
    unit_name: str = ""
    unit_path: list[str] = Field(description="ids from the root down to the unit itself")
    level: Level
    track: Track
    forces: list[str] = Field(default_factory=list)
    accept_due_at: datetime
    rule_id: str
    explanation: str
    cause: AssignCause = AssignCause.ROUTED
    previous_assignment_id: uuid.UUID | None = None
    task_force: bool = Field(default=False, description="a task force (专班) with a named lead handles the case")
    building_id: str | None = Field(default=None, description="the building (楼栋) the case was located in, when "
                                    "routing placed it in one (routed assignments only)")


class CaseAccepted(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.accepted.v1"
    description: ClassVar[str] = "The assigned unit accepted (签收) the case; the resolve clock starts."
    assignment_id: uuid.UUID
    unit_id: str
    accepted_by: str
    resolve_due_at: datetime
    accepted_on_time: bool
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")

class AssigneeHow(StrEnum):
    """How a member came to hold an assignment."""

    TAKE = "take"  # a member of the unit claimed it (认领)
    DISPATCH = "dispatch"  # the unit's leader assigned a member (派单到人)


class CaseAssigneeSet(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.assignee_set.v1"
    description: ClassVar[str] = (
        "A member of the handling unit became the assignment's 承办人: taken by the member, or dispatched (again, "
        "with a reason) by the unit's leader. Member ids only."
    )
    assignment_id: uuid.UUID
    unit_id: str
    assignee_id: str = Field(max_length=128, description="the member who holds the assignment now")
    previous_assignee_id: str | None = Field(default=None, max_length=128)
    how: AssigneeHow
    set_by: str = Field(max_length=128, description="the member id who took or dispatched it")
    reason: str = Field(default="", description="why it was re-dispatched, staff text without personal data")


class CaseResolved(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.resolved.v1"
    description: ClassVar[str] = "The handling unit reached an outcome (办结)."
    assignment_id: uuid.UUID
    unit_id: str
    level: Level
    outcome: Outcome
    resolved_by: str
    resolved_on_time: bool
    mediation_agreement: bool = False
    judicial_confirmation: bool = False
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")


class FeedbackReceived(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.feedback_received.v1"
    description: ClassVar[str] = "A follow-up (回访) result was recorded for a resolved case."
    result: FeedbackResult
    source: str = Field(description="staff | survey | hotline")
    recorded_by: str


class RiskChanged(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.risk_changed.v1"
    description: ClassVar[str] = "A handler raised (or lowered) the case's risk level (红黄蓝)."
    from_level: RiskLevel
    to_level: RiskLevel
    reasons: list[str]
    changed_by: str


class CaseReclassified(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.reclassified.v1"
    description: ClassVar[str] = "Staff overrode the case's category or request type (auto-classified or not)."
    from_category: str | None
    to_category: str
    from_request_type: RequestType
    to_request_type: RequestType
    changed_by: str


class CaseMerged(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.merged.v1"
    description: ClassVar[str] = (
        "A new report was recognised as the same matter as an open case (一件事只立一案) and linked to it; "
        "it is not routed or counted on its own."
    )
    code: str
    primary_case_id: uuid.UUID
    similarity: float
    channel: Channel
    linked_by: str = Field(description="'auto' or the staff member's id")


# --- the assignment workflow (routing) -----------------------------------------------------------------
# Every change of the handling unit is a pair: the event saying why (returned / escalated / reopened) and
# then a new ``fq.case.assigned.v1`` for the new assignment. Consumers that only track "who has the case now"
# can follow ``assigned`` alone.


class CaseReturned(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.returned.v1"
    description: ClassVar[str] = (
        "The assigned unit returned the case (退单, e.g. not its jurisdiction); routing re-routes it and a new "
        "fq.case.assigned.v1 follows. A case returned twice goes to the street centre, which decides."
    )
    assignment_id: uuid.UUID
    unit_id: str
    level: Level
    reason: str = Field(description="the returning unit's reason, staff text without personal data")
    returned_by: str
    return_count: int = Field(ge=1, description="how many times this case has been returned so far")


class CaseExtensionRequested(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.extension_requested.v1"
    description: ClassVar[str] = "The handling unit asked its parent unit for more time (延期申请)."
    assignment_id: uuid.UUID
    unit_id: str
    clock: DeadlineClock
    reason: str
    requested_by: str
    requested_due_at: datetime
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")


class CaseExtensionRejected(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.extension_rejected.v1"
    description: ClassVar[str] = (
        "The parent unit rejected an extension request (延期申请未获批准): the deadline stays where it was."
    )
    assignment_id: uuid.UUID
    unit_id: str
    clock: DeadlineClock
    reason: str = Field(description="the requesting unit's reason, staff text without personal data")
    rejection_reason: str = Field(description="the deciding leader's reason, staff text without personal data")
    rejected_by: str
    requested_due_at: datetime
    due_at: datetime | None = Field(default=None, description="the deadline that still holds")


class CaseExtended(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.extended.v1"
    description: ClassVar[str] = "An extension (延期) was approved by the parent unit: the deadline moved."
    assignment_id: uuid.UUID
    unit_id: str
    clock: DeadlineClock
    reason: str
    approved_by: str
    previous_due_at: datetime
    new_due_at: datetime
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")


class CaseSuspended(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.suspended.v1"
    description: ClassVar[str] = "Handling was suspended (中止): both clocks are paused."
    assignment_id: uuid.UUID
    unit_id: str
    reason: str
    suspended_by: str
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")


class CaseResumed(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.resumed.v1"
    description: ClassVar[str] = "Handling resumed after a suspension; the running clock's deadline moved by the pause."
    assignment_id: uuid.UUID
    unit_id: str
    resumed_by: str
    accept_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")


class CaseEscalated(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.escalated.v1"
    description: ClassVar[str] = (
        "The case went up the ladder (提级: grid → community → street → district); a new fq.case.assigned.v1 "
        "for the receiving unit follows."
    )
    assignment_id: uuid.UUID = Field(description="the assignment that was left")
    from_unit_id: str
    from_level: Level
    to_unit_id: str
    to_level: Level
    reason: EscalationReason
    note: str = ""
    escalated_by: str = Field(description="a staff member's id, or 'scheduler' for timeouts")
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")


class CaseOverdue(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.overdue.v1"
    description: ClassVar[str] = (
        "A deadline passed (超期): accept → escalated for timeout; resolve → supervision (督办)."
    )
    assignment_id: uuid.UUID
    unit_id: str
    unit_path: list[str] = Field(description="ids from the root down to the unit itself")
    level: Level
    clock: DeadlineClock
    due_at: datetime
    escalated: bool = Field(description="whether the case was escalated because of this")
    assignee_id: str | None = Field(default=None, max_length=128, description="the member (承办人) who holds the "
                                    "assignment, by member id; none while it is the unit's alone")


class CaseReopened(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.reopened.v1"
    description: ClassVar[str] = (
        "A resolved case was reopened (重办): back to the resolving unit, one level up on a second reopen; "
        "a new fq.case.assigned.v1 follows."
    )
    previous_assignment_id: uuid.UUID
    reason: ReopenReason
    reopen_count: int = Field(ge=1)
    reopened_by: str


class CaseClosed(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.closed.v1"
    description: ClassVar[str] = "The case was closed (销号) after its follow-up: the loop is complete (闭环)."
    assignment_id: uuid.UUID
    unit_id: str
    reason: CloseReason
    closed_by: str


class CaseAssignmentCancelled(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.assignment_cancelled.v1"
    description: ClassVar[str] = (
        "Routing ended the case's live assignment without a successor (e.g. the case was merged into another after "
        "it was routed): its clocks stop, nothing escalates it, its reminders and surveys are cancelled."
    )
    assignment_id: uuid.UUID
    unit_id: str
    level: Level
    reason: CancelReason
    primary_case_id: uuid.UUID | None = Field(default=None, description="the case it was merged into")
    cancelled_by: str = Field(description="e.g. 'merge:<linked_by>'")


# --- from the 12345 hotline platform (intake's hotline adapter) -----------------------------------------


class CaseReopenRequested(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.reopen_requested.v1"
    description: ClassVar[str] = (
        "Someone outside routing asked for a resolved case to be redone (重办), e.g. a 12345 重办 order. Routing "
        "reopens it (fq.case.reopened.v1 + fq.case.assigned.v1) when ``assignment_id`` is still the case's resolved "
        "assignment, and ignores the request otherwise (the case was already reopened)."
    )
    assignment_id: uuid.UUID | None = Field(description="the resolved assignment to redo, as intake last saw it")
    reason: ReopenReason
    requested_by: str = Field(description="e.g. 'hotline:<client id>' or a staff member's id")
    source: str = Field(description="hotline | staff")


class CaseUrged(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.urged.v1"
    description: ClassVar[str] = (
        "The case was urged (催办), e.g. by the 12345 platform: the handling unit's members should be notified."
    )
    assignment_id: uuid.UUID | None = None
    unit_id: str | None = Field(default=None, description="the unit handling the case when it was urged")
    urge_count: int = Field(ge=1, description="how many times this case has been urged so far")
    source: str = Field(description="hotline | staff")
    urged_by: str
