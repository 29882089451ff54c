"""Tables of the ``intake`` schema for the case file's documents: 人民调解协议书 and their 司法确认."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, DateTime, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from intake_svc.tables import SCHEMA


class Agreement(SQLModel, table=True):
    """A 人民调解协议书: the facts and terms sealed (they name people), a draft until its signed scan is filed
    (``signed_attachment_id``), then the follow-up of its 履行."""

    __tablename__ = "agreements"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    number: int = Field(sa_column=Column(BigInteger, nullable=False))  # 1, 2, … within the case
    status: str = Field(max_length=16)  # draft | signed
    facts_sealed: str = Field(sa_column=Column(Text, nullable=False))
    terms_sealed: str = Field(sa_column=Column(Text, nullable=False))
    performance_way: str = Field(max_length=16)
    performance_due: date = Field(sa_column=Column(Date, nullable=False))
    mediators: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    committee: str = Field(max_length=100)
    signed_on: date | None = Field(default=None, sa_column=Column(Date))
    signed_attachment_id: uuid.UUID | None = None
    signed_by: str | None = Field(default=None, max_length=128)
    unit_id: str | None = Field(default=None, max_length=64)  # the resolving unit the follow-up reminds
    performance: str = Field(default="pending", max_length=16)  # pending | performed | not_performed
    performance_note_sealed: str | None = Field(default=None, sa_column=Column(Text))
    performance_recorded_by: str | None = Field(default=None, max_length=128)
    performance_recorded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))


class JudicialConfirmation(SQLModel, table=True):
    """The 司法确认 of one agreement: applied on, the court, accepted, confirmed or refused, the ruling."""

    __tablename__ = "judicial_confirmations"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    agreement_id: uuid.UUID = Field(unique=True)
    applied_on: date = Field(sa_column=Column(Date, nullable=False))
    court: str = Field(max_length=100)
    accepted: bool | None = None
    confirmed: bool | None = None
    ruling_number: str | None = Field(default=None, max_length=64)
    decided_on: date | None = Field(default=None, sa_column=Column(Date))
    status: str = Field(max_length=16)
    recorded_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
