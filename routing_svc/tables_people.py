"""Tables of the people of a case (``routing`` schema, migration 0005): its 包案领导 and its 专班."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from routing_svc.tables import SCHEMA


class CaseLeader(SQLModel, table=True):
    """The 包案领导 of a case: one per case, kept across its escalations."""

    __tablename__ = "case_leaders"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(primary_key=True)
    leader_id: str = Field(max_length=128)
    title: str = Field(default="", max_length=40)
    how: str = Field(max_length=16)
    set_by: str = Field(max_length=128)
    set_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))


class TaskForce(SQLModel, table=True):
    """The 专班 of a case: a lead member, members, a work plan with its deadline, milestones."""

    __tablename__ = "task_forces"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(primary_key=True)
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    lead_id: str = Field(max_length=128)
    member_ids: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    plan: str | None = Field(default=None, sa_column=Column(Text))
    plan_due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    plan_submitted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    plan_reminded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    plan_overdue_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # [{"id": "m1", "title": ..., "due_at": iso, "done": bool, "done_at": iso | None}]
    milestones: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
