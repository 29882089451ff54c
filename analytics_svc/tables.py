"""Read models of the ``analytics`` schema, built only from events (SQLModel tables; code uses their ``__table__``).

Every column of ``case_facts`` and ``assignment_facts`` is the output of ``analytics_svc.domain``'s fold; the
schema can be dropped and rebuilt by replaying the topics from the earliest offset.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field, SQLModel

SCHEMA = "analytics"
TS = DateTime(timezone=True)


def _path(name: str) -> Column[list[str]]:
    return Column(name, ARRAY(String), nullable=False, server_default="{}")


def _flag(name: str) -> Column[bool]:
    return Column(name, Boolean, nullable=False, server_default="false")


class Unit(SQLModel, table=True):
    __tablename__ = "units"
    __table_args__ = {"schema": SCHEMA}

    unit_id: str = Field(sa_column=Column("unit_id", String(64), primary_key=True))
    name: str | None = Field(default=None, sa_column=Column("name", String(200)))
    level: str = Field(sa_column=Column("level", String(16), nullable=False))
    parent_id: str | None = Field(default=None, sa_column=Column("parent_id", String(64)))
    path: list[str] = Field(default_factory=list, sa_column=_path("path"))
    active: bool = Field(sa_column=Column("active", Boolean, nullable=False, server_default="true"))
    # the unit's area: a GeoJSON Polygon geometry as the event carries it (None: no area known)
    polygon: dict[str, Any] | None = Field(default=None, sa_column=Column("polygon", JSONB))


units = Unit.__table__  # type: ignore[attr-defined]


class CaseFact(SQLModel, table=True):
    __tablename__ = "case_facts"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(sa_column=Column("case_id", UUID(as_uuid=True), primary_key=True))
    code: str | None = Field(default=None, sa_column=Column("code", String(64)))
    received_at: datetime | None = Field(default=None, sa_column=Column("received_at", TS))
    channel: str | None = Field(default=None, sa_column=Column("channel", String(32)))
    request_type: str | None = Field(default=None, sa_column=Column("request_type", String(32)))
    category: str | None = Field(default=None, sa_column=Column("category", String(64)))
    risk_level: str | None = Field(default=None, sa_column=Column("risk_level", String(16)))
    urgent: bool = Field(sa_column=Column("urgent", Boolean, nullable=False, server_default="false"))
    deadline_days: int | None = Field(default=None, sa_column=Column("deadline_days", Integer))
    grid_id: str | None = Field(default=None, sa_column=Column("grid_id", String(64)))
    received_unit_id: str | None = Field(default=None, sa_column=Column("received_unit_id", String(64)))
    # blind index: opaque, not personal data
    applicant_key: str | None = Field(default=None, sa_column=Column("applicant_key", String(128)))
    address_key: str | None = Field(default=None, sa_column=Column("address_key", String(128)))
    building_id: str | None = Field(default=None, sa_column=Column("building_id", String(64)))
    merged_into: uuid.UUID | None = Field(default=None, sa_column=Column("merged_into", UUID(as_uuid=True)))
    home_unit_id: str | None = Field(default=None, sa_column=Column("home_unit_id", String(64)))
    home_path: list[str] = Field(default_factory=list, sa_column=_path("home_path"))
    home_level: str | None = Field(default=None, sa_column=Column("home_level", String(16)))
    first_assigned_at: datetime | None = Field(default=None, sa_column=Column("first_assigned_at", TS))
    unit_id: str | None = Field(default=None, sa_column=Column("unit_id", String(64)))
    unit_path: list[str] = Field(default_factory=list, sa_column=_path("unit_path"))
    unit_name: str | None = Field(default=None, sa_column=Column("unit_name", String(200)))
    level: str | None = Field(default=None, sa_column=Column("level", String(16)))
    track: str | None = Field(default=None, sa_column=Column("track", String(16)))
    assigned_at: datetime | None = Field(default=None, sa_column=Column("assigned_at", TS))
    assignment_id: uuid.UUID | None = Field(default=None, sa_column=Column("assignment_id", UUID(as_uuid=True)))
    levels_reached: list[str] = Field(default_factory=list, sa_column=_path("levels_reached"))
    escalated_levels: list[str] = Field(default_factory=list, sa_column=_path("escalated_levels"))
    max_level_rank: int | None = Field(default=None, sa_column=Column("max_level_rank", Integer))
    task_force: bool = Field(sa_column=Column("task_force", Boolean, nullable=False, server_default="false"))
    accepted_at: datetime | None = Field(default=None, sa_column=Column("accepted_at", TS))
    accept_due_at: datetime | None = Field(default=None, sa_column=Column("accept_due_at", TS))
    resolve_due_at: datetime | None = Field(default=None, sa_column=Column("resolve_due_at", TS))
    returns: int = Field(sa_column=Column("returns", Integer, nullable=False, server_default="0"))
    extension_requests: int = Field(sa_column=Column("extension_requests", Integer, nullable=False, server_default="0"))
    extensions: int = Field(sa_column=Column("extensions", Integer, nullable=False, server_default="0"))
    suspensions: int = Field(sa_column=Column("suspensions", Integer, nullable=False, server_default="0"))
    escalations: int = Field(sa_column=Column("escalations", Integer, nullable=False, server_default="0"))
    overdue_count: int = Field(sa_column=Column("overdue_count", Integer, nullable=False, server_default="0"))
    outcome: str | None = Field(default=None, sa_column=Column("outcome", String(32)))
    outcome_at: datetime | None = Field(default=None, sa_column=Column("outcome_at", TS))
    resolved_level: str | None = Field(default=None, sa_column=Column("resolved_level", String(16)))
    outcome_unit_id: str | None = Field(default=None, sa_column=Column("outcome_unit_id", String(64)))
    outcome_path: list[str] = Field(default_factory=list, sa_column=_path("outcome_path"))
    outcome_on_time: bool | None = Field(default=None, sa_column=Column("outcome_on_time", Boolean))
    resolve_hours: float | None = Field(default=None, sa_column=Column("resolve_hours", Float))
    mediation_agreement: bool = Field(sa_column=_flag("mediation_agreement"))
    judicial_confirmation: bool = Field(sa_column=_flag("judicial_confirmation"))
    feedback_result: str | None = Field(default=None, sa_column=Column("feedback_result", String(16)))
    feedback_answers: int = Field(sa_column=Column("feedback_answers", Integer, nullable=False, server_default="0"))
    feedback_satisfied: int = Field(sa_column=Column("feedback_satisfied", Integer, nullable=False, server_default="0"))
    closed_at: datetime | None = Field(default=None, sa_column=Column("closed_at", TS))
    close_reason: str | None = Field(default=None, sa_column=Column("close_reason", String(32)))
    reopen_count: int = Field(sa_column=Column("reopen_count", Integer, nullable=False, server_default="0"))
    reopened_at: datetime | None = Field(default=None, sa_column=Column("reopened_at", TS))


case_facts = CaseFact.__table__  # type: ignore[attr-defined]


class AssignmentFact(SQLModel, table=True):
    __tablename__ = "assignment_facts"
    __table_args__ = {"schema": SCHEMA}

    assignment_id: uuid.UUID = Field(sa_column=Column("assignment_id", UUID(as_uuid=True), primary_key=True))
    case_id: uuid.UUID = Field(sa_column=Column("case_id", UUID(as_uuid=True), nullable=False, index=True))
    received_at: datetime | None = Field(default=None, sa_column=Column("received_at", TS))
    unit_id: str | None = Field(default=None, sa_column=Column("unit_id", String(64)))
    unit_path: list[str] = Field(default_factory=list, sa_column=_path("unit_path"))
    level: str | None = Field(default=None, sa_column=Column("level", String(16)))
    track: str | None = Field(default=None, sa_column=Column("track", String(16)))
    cause: str | None = Field(default=None, sa_column=Column("cause", String(16)))
    assigned_at: datetime | None = Field(default=None, sa_column=Column("assigned_at", TS))
    accept_due_at: datetime | None = Field(default=None, sa_column=Column("accept_due_at", TS))
    accepted_at: datetime | None = Field(default=None, sa_column=Column("accepted_at", TS))
    accept_minutes: float | None = Field(default=None, sa_column=Column("accept_minutes", Float))
    accept_overdue: bool = Field(sa_column=Column("accept_overdue", Boolean, nullable=False, server_default="false"))
    resolve_due_at: datetime | None = Field(default=None, sa_column=Column("resolve_due_at", TS))
    resolve_overdue: bool = Field(sa_column=Column("resolve_overdue", Boolean, nullable=False, server_default="false"))
    returned_at: datetime | None = Field(default=None, sa_column=Column("returned_at", TS))
    left_at: datetime | None = Field(default=None, sa_column=Column("left_at", TS))
    outcome: str | None = Field(default=None, sa_column=Column("outcome", String(32)))
    resolved_at: datetime | None = Field(default=None, sa_column=Column("resolved_at", TS))
    # the case was merged into another (并案), before or after this assignment: it counts in no on-time figure
    merged: bool = Field(sa_column=Column("merged", Boolean, nullable=False, server_default="false"))


assignment_facts = AssignmentFact.__table__  # type: ignore[attr-defined]


class Closure(SQLModel, table=True):
    """A closed assignment (销号) and whether its 回头看 found the problem back (问题复发): 复发率's rows."""

    __tablename__ = "closures"
    __table_args__ = {"schema": SCHEMA}

    assignment_id: uuid.UUID = Field(sa_column=Column("assignment_id", UUID(as_uuid=True), primary_key=True))
    case_id: uuid.UUID = Field(sa_column=Column("case_id", UUID(as_uuid=True), nullable=False, index=True))
    unit_id: str = Field(sa_column=Column("unit_id", String(64), nullable=False))
    unit_path: list[str] = Field(default_factory=list, sa_column=_path("unit_path"))
    closed_at: datetime | None = Field(default=None, sa_column=Column("closed_at", TS, index=True))
    recurred_at: datetime | None = Field(default=None, sa_column=Column("recurred_at", TS))
    lookback_id: uuid.UUID | None = Field(default=None, sa_column=Column("lookback_id", UUID(as_uuid=True)))


closures = Closure.__table__  # type: ignore[attr-defined]


class HotspotAlertRow(SQLModel, table=True):
    __tablename__ = "hotspot_alerts"
    __table_args__ = {"schema": SCHEMA}

    unit_id: str = Field(sa_column=Column("unit_id", String(64), primary_key=True))
    category: str = Field(sa_column=Column("category", String(64), primary_key=True))  # top-level category code
    day: date = Field(sa_column=Column("day", Date, primary_key=True))  # Asia/Shanghai day of the window
    alert_id: uuid.UUID = Field(sa_column=Column("alert_id", UUID(as_uuid=True), nullable=False))
    unit_path: list[str] = Field(default_factory=list, sa_column=_path("unit_path"))
    count: int = Field(sa_column=Column("count", Integer, nullable=False))
    baseline: float = Field(sa_column=Column("baseline", Float, nullable=False))
    ratio: float = Field(sa_column=Column("ratio", Float, nullable=False))
    window_start: datetime = Field(sa_column=Column("window_start", TS, nullable=False))
    window_end: datetime = Field(sa_column=Column("window_end", TS, nullable=False))
    at: datetime = Field(sa_column=Column("at", TS, nullable=False))


hotspot_alerts = HotspotAlertRow.__table__  # type: ignore[attr-defined]


class ProjectionEpoch(SQLModel, table=True):
    __tablename__ = "projection_epoch"
    __table_args__ = {"schema": SCHEMA}

    epoch: str = Field(sa_column=Column("epoch", String(64), primary_key=True))
    created_at: datetime = Field(sa_column=Column("created_at", TS, nullable=False))


projection_epoch = ProjectionEpoch.__table__  # type: ignore[attr-defined]

CASE_COLUMNS = [c.name for c in case_facts.columns]
ASSIGNMENT_COLUMNS = [c.name for c in assignment_facts.columns]
