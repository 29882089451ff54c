"""The ``intake`` schema's table of 调解 sessions (split from ``tables.py``: the records' own module)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from intake_svc.tables import SCHEMA


class MediationSession(SQLModel, table=True):
    """A 调解 session of a case. ``place`` is the venue as staff typed it: stored sealed (it can be a home) with a
    masked copy; never in events or logs. The minutes likewise (sealed + masked, like notes)."""

    __tablename__ = "mediation_sessions"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    scheduled_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    place_sealed: str = Field(sa_column=Column(Text, nullable=False))
    place_masked: str = Field(sa_column=Column(Text, nullable=False))
    mediators: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    parties_present: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    forces_present: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    status: str = Field(max_length=16)
    result: str | None = Field(default=None, max_length=16)
    minutes_sealed: str | None = Field(default=None, sa_column=Column(Text))
    minutes_masked: str | None = Field(default=None, sa_column=Column(Text))
    # earlier times of a rescheduled session, oldest first
    previous_times: list[datetime] = Field(default_factory=list,
                                           sa_column=Column(ARRAY(DateTime(timezone=True)), nullable=False))
    created_by: str = Field(max_length=128)
    unit_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
