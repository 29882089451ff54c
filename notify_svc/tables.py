"""Tables of the ``notify`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

SCHEMA = "notify"


class Recipient(SQLModel, table=True):
    """A staff member, learned from ``fq.org.member_upserted.v1`` (ids and roles only)."""

    __tablename__ = "recipients"
    __table_args__ = {"schema": SCHEMA}

    member_id: str = Field(primary_key=True, max_length=128)
    unit_id: str = Field(max_length=64, index=True)
    roles: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    forces: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))


class InboxItem(SQLModel, table=True):
    __tablename__ = "inbox_items"
    __table_args__ = (UniqueConstraint("user_id", "event_id", name="uq_inbox_user_event"), {"schema": SCHEMA})

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: str = Field(max_length=128)
    event_id: str = Field(max_length=200)
    kind: str = Field(max_length=64)
    case_id: uuid.UUID | None = None
    case_code: str | None = Field(default=None, max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


# --- notifications (issue 6) ---------------------------------------------------------------------------


class Unit(SQLModel, table=True):
    """A unit of the org hierarchy, learned from ``fq.org.unit_upserted.v1``."""

    __tablename__ = "units"
    __table_args__ = {"schema": SCHEMA}

    unit_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    level: str = Field(max_length=16)
    parent_id: str | None = Field(default=None, max_length=64)
    path: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))


class CaseInfo(SQLModel, table=True):
    """What notify knows of a case from events: its code, current assignment and every unit it went through."""

    __tablename__ = "cases"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(primary_key=True)
    case_code: str | None = Field(default=None, max_length=32)
    assignment_id: uuid.UUID | None = None
    unit_id: str | None = Field(default=None, max_length=64)
    unit_path: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    # every unit on the path of any unit the case was assigned to: the units whose admins read its delivery log
    visible_units: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    leader_id: str | None = Field(default=None, max_length=128)  # the 包案领导 (migration 0004), a member id


class Delivery(SQLModel, table=True):
    """One notification to one recipient over one channel: the delivery outbox and its log."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("trigger_ce_id", "rule_id", "recipient_id", "channel", name="uq_delivery_once"),
        {"schema": SCHEMA},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    trigger_ce_id: str = Field(max_length=200)
    trigger_type: str = Field(max_length=100)
    rule_id: str = Field(max_length=100)
    channel: str = Field(max_length=16)
    recipient_id: str = Field(max_length=160)  # member id, 'unit:<id>' (mailbox/robot) or 'applicant:<case id>'
    case_id: uuid.UUID | None = Field(default=None, index=True)
    template_key: str = Field(max_length=64)
    template_version: int
    title: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # pending | delivered | failed | cancelled
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class Reminder(SQLModel, table=True):
    """A reminder (催办) due at a working-time fraction of an assignment's deadline."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("assignment_id", "clock", "fraction", name="uq_reminder_point"),
        {"schema": SCHEMA},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    assignment_id: uuid.UUID
    case_id: uuid.UUID = Field(index=True)
    unit_id: str = Field(max_length=64)
    clock: str = Field(max_length=16)  # accept | resolve
    fraction: float
    start_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    fire_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(max_length=16)  # pending | paused | fired | cancelled
    paused_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class RuleSetVersion(SQLModel, table=True):
    """Notification rules as data; every save is a new version (who and when), the newest is active."""

    __tablename__ = "rule_sets"
    __table_args__ = {"schema": SCHEMA}

    version: int = Field(primary_key=True)
    doc: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TemplateVersion(SQLModel, table=True):
    """A message template (Jinja2, Simplified Chinese); every save is a new version, the newest is active."""

    __tablename__ = "templates"
    __table_args__ = {"schema": SCHEMA}

    key: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ChannelTarget(SQLModel, table=True):
    """A unit's mailbox or robot: where its email and webhook notifications go."""

    __tablename__ = "channel_targets"
    __table_args__ = {"schema": SCHEMA}

    unit_id: str = Field(primary_key=True, max_length=64)
    channel: str = Field(primary_key=True, max_length=16)  # email | webhook
    address: str = Field(sa_column=Column(Text, nullable=False))  # mailbox address or robot URL
    secret: str | None = Field(default=None, sa_column=Column(Text))  # robot signing secret
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))  # 0005: ETag


class Survey(SQLModel, table=True):
    """A satisfaction survey (回访) sent to a case's applicant; the comment may hold personal data: it stays here."""

    __tablename__ = "surveys"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    assignment_id: uuid.UUID
    reply_code: str = Field(max_length=8)
    status: str = Field(max_length=16)  # pending | answered | unreached
    result: str | None = Field(default=None, max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class CalendarState(SQLModel, table=True):
    """The working-time calendar as routing last published it (``fq.org.calendar_changed.v1``): one row."""

    __tablename__ = "calendar"
    __table_args__ = {"schema": SCHEMA}

    id: int = Field(default=1, primary_key=True)
    revision: int
    overrides: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))  # ISO day → is_workday
    loaded_years: list[int] = Field(sa_column=Column(JSONB, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
