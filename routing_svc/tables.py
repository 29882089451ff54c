"""Tables of the ``routing`` schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

SCHEMA = "routing"


class OrgUnit(SQLModel, table=True):
    __tablename__ = "org_units"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    level: str = Field(max_length=16)
    parent_id: str | None = Field(default=None, max_length=64)
    path: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    address_keywords: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    polygon: list[Any] | None = Field(default=None, sa_column=Column(JSONB))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # responsible leaders (三级责任, migration 0005): [{"member_id", "title": "街道书记"}], first: default 包案领导
    leaders: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False,
                                                                                 server_default="[]"))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))  # 0008: ETag


class Member(SQLModel, table=True):
    __tablename__ = "members"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=128)
    unit_id: str = Field(max_length=64, index=True)
    name_sealed: str = Field(sa_column=Column(Text, nullable=False))
    phone_sealed: str | None = Field(default=None, sa_column=Column(Text))
    email_sealed: str | None = Field(default=None, sa_column=Column(Text))  # migration 0002
    roles: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    forces: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))  # 0008: ETag


class Assignment(SQLModel, table=True):
    __tablename__ = "assignments"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    case_code: str = Field(max_length=32)
    unit_id: str = Field(max_length=64)
    unit_path: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    level: str = Field(max_length=16)
    track: str = Field(max_length=16)
    forces: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    status: str = Field(max_length=16)
    accept_due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    resolve_due_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    rule_id: str = Field(max_length=64)
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    accepted_by: str | None = Field(default=None, max_length=128)
    accepted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    resolved_by: str | None = Field(default=None, max_length=128)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    outcome: str | None = Field(default=None, max_length=32)
    outcome_note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
    # --- the workflow (routing-flow, migration 0003) ---
    cause: str = Field(default="routed", max_length=16)
    previous_assignment_id: uuid.UUID | None = Field(default=None)
    suspended_from: str | None = Field(default=None, max_length=16)
    suspended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    pending_extension: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    task_force: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    resolve_span: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))  # None: no hard deadline
    escalate_on_resolve_overdue: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    accept_overdue_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    resolve_overdue_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    mediation_agreement: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    judicial_confirmation: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    close_due_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    close_reason: str | None = Field(default=None, max_length=16)
    # the case's facts the rules matched on (no personal data; the address stays sealed), to re-route it later
    facts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    # --- the 承办人 (migration 0004): the member of the unit who took it or was dispatched it; None = the unit's
    assignee_id: str | None = Field(default=None, max_length=128)
    assignee_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


# --- the assignment workflow (routing-flow) -----------------------------------------------------------


class AssignmentLog(SQLModel, table=True):
    """The history of an assignment: every action, who took it, when, and its details."""

    __tablename__ = "assignment_log"
    __table_args__ = {"schema": SCHEMA}

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    assignment_id: uuid.UUID = Field(index=True)
    case_id: uuid.UUID
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    action: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))


# --- rules and the working-time calendar (migration 0002) ---------------------------------------------


class RuleVersion(SQLModel, table=True):
    """Every saved rules document; the highest version is active."""

    __tablename__ = "rule_versions"
    __table_args__ = {"schema": SCHEMA}

    version: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    document: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))  # the text as sent (YAML or JSON)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    changes: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))


class CalendarDay(SQLModel, table=True):
    """An admin override of the official calendar: this day is (not) a workday."""

    __tablename__ = "calendar_days"
    __table_args__ = {"schema": SCHEMA}

    day: date = Field(sa_column=Column(Date, primary_key=True))
    is_workday: bool = Field(sa_column=Column(Boolean, nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class CalendarYear(SQLModel, table=True):
    """A year whose official holiday notice an admin loaded (its days are in ``calendar_days``)."""

    __tablename__ = "calendar_years"
    __table_args__ = {"schema": SCHEMA}

    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    loaded_by: str = Field(max_length=128)
    loaded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))



class Revision(SQLModel, table=True):
    """One row per cached data set (``calendar``, ``org``), bumped by every change: replicas reload when it
    moves."""

    __tablename__ = "revisions"
    __table_args__ = {"schema": SCHEMA}

    name: str = Field(primary_key=True, max_length=32)
    revision: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class Lookback(SQLModel, table=True):
    """A 回头看 of a closed case (migration 0005): scheduled at closing by a lookback rule, due in working time,
    done by the resolving unit (its 承办人, when it had one) with a result: 稳定 or 问题复发 (the case reopens)."""

    __tablename__ = "lookbacks"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    case_code: str = Field(max_length=32)
    assignment_id: uuid.UUID  # the closed assignment
    unit_id: str = Field(max_length=64)
    unit_path: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    assignee_id: str | None = Field(default=None, max_length=128)
    track: str = Field(max_length=16)
    risk_level: str = Field(max_length=16)
    rule_id: str = Field(max_length=64)
    status: str = Field(max_length=16)
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    due_fired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    result: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str | None = Field(default=None, max_length=128)
    recorded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    reopened_assignment_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
