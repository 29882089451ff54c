"""Read models of the ``analytics`` schema, built only from events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

SCHEMA = "analytics"


class UnitPath(SQLModel, table=True):
    __tablename__ = "units"
    __table_args__ = {"schema": SCHEMA}

    unit_id: str = Field(primary_key=True, max_length=64)
    level: str = Field(max_length=16)
    path: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))


class CaseFact(SQLModel, table=True):
    __tablename__ = "case_facts"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(primary_key=True)
    received_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), index=True))
    channel: str | None = Field(default=None, max_length=32)
    request_type: str | None = Field(default=None, max_length=32)
    category: str | None = Field(default=None, max_length=64)
    risk_level: str | None = Field(default=None, max_length=16)
    unit_id: str | None = Field(default=None, max_length=64)
    unit_path: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    level: str | None = Field(default=None, max_length=16)
    assigned_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    accepted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    outcome: str | None = Field(default=None, max_length=32)
    outcome_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    resolved_level: str | None = Field(default=None, max_length=16)
