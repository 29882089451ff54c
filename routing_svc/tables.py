"""Tables of the ``routing`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, DateTime, String, Text
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


class Member(SQLModel, table=True):
    __tablename__ = "members"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=128)
    unit_id: str = Field(max_length=64, index=True)
    name_sealed: str = Field(sa_column=Column(Text, nullable=False))
    phone_sealed: str | None = Field(default=None, sa_column=Column(Text))
    roles: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    forces: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


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
