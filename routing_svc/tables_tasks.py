"""Tables of the ``routing`` schema for co-handling (协办, migration 0005): who answers for a force in a unit's area,
and the tasks of a case's forces."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Text
from sqlmodel import Field, SQLModel

from routing_svc.tables import SCHEMA


class ForceResponsible(SQLModel, table=True):
    """The member who answers for ``force`` in ``unit_id``'s area (the community's 法律顾问, the beat officer…).
    A unit without one for a force falls back to the nearest unit above it that has one."""

    __tablename__ = "force_responsibles"
    __table_args__ = {"schema": SCHEMA}

    unit_id: str = Field(primary_key=True, max_length=64)
    force: str = Field(primary_key=True, max_length=32)
    member_id: str = Field(max_length=128, index=True)
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
    updated_by: str = Field(max_length=128)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class CohandlingTask(SQLModel, table=True):
    """One force's co-handling task on a case: open → accepted → completed, or closed by the lead with a reason."""

    __tablename__ = "cohandling_tasks"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    case_code: str = Field(max_length=32)
    assignment_id: uuid.UUID  # the lead's assignment it was opened for
    force: str = Field(max_length=32)
    member_id: str | None = Field(default=None, max_length=128)
    member_unit_id: str | None = Field(default=None, max_length=64)
    required: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    status: str = Field(max_length=16)
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    risk_level: str | None = Field(default=None, max_length=16)
    track: str = Field(max_length=16)
    accepted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    report: str | None = Field(default=None, sa_column=Column(Text))
    closed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    overdue_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))  # migration 0009
    closed_by: str | None = Field(default=None, max_length=128)
    close_reason: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
