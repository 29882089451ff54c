"""Tables of the ``intake`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

SCHEMA = "intake"


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(sa_column=Column(String(32), unique=True, nullable=False))
    channel: str = Field(max_length=32)
    request_type: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str = Field(sa_column=Column(Text, nullable=False))
    category: str | None = Field(default=None, max_length=64)
    category_confidence: float | None = None  # None when staff chose it
    request_type_confidence: float | None = None
    classified_by: str = Field(default="staff", max_length=16)  # staff | classifier
    risk_level: str = Field(max_length=16)
    risk_reasons: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    occurred_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # location: address sealed (AES-GCM), lat/lng, grid id
    location: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    # parties: role, kind, name/phone/id_number sealed
    parties: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    people_involved: int | None = None
    amount_involved: float | None = Field(default=None, sa_column=Column(Numeric(16, 2)))
    external_ref: str | None = Field(default=None, max_length=100)
    # transfer {organization, reference} or patrol {reporter_id, grid_id}, by channel
    channel_details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    urgent: bool = False  # marked urgent by the channel or the operator
    deadline_days: int | None = None  # a resolve deadline in working days imposed by the channel (12345 工单)
    status: str = Field(max_length=32)
    current_unit_id: str | None = Field(default=None, max_length=64)
    assignment_id: uuid.UUID | None = None
    outcome: str | None = Field(default=None, max_length=32)
    # every unit that may see the case: the receiving unit and the paths of all units it was assigned to
    visible_units: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    # blind index (keyed hash) of applicants' phones and ID numbers: finds repeat applicants without decrypting
    applicant_index: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    address_index: str | None = Field(default=None, max_length=64)
    # blind index of the place (compound, plus the building when named: ``dedup.place_key``)
    place_index: str | None = Field(default=None, max_length=64)
    duplicate_of: uuid.UUID | None = None
    duplicate_candidates: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = {"schema": SCHEMA}

    key: str = Field(primary_key=True, max_length=200)
    principal: str = Field(primary_key=True, max_length=128)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TimelineEntry(SQLModel, table=True):
    """Everything that happened to a case, in order: the staff timeline and (``public``) the citizen's."""

    __tablename__ = "timeline"
    __table_args__ = {"schema": SCHEMA}

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    case_id: uuid.UUID = Field(index=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=128)
    summary: str = Field(sa_column=Column(Text, nullable=False))  # Simplified Chinese, no personal data
    public: bool = True
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))


class Feedback(SQLModel, table=True):
    """回访 results recorded for a case (the comment may hold personal data: it stays here)."""

    __tablename__ = "feedback"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    result: str = Field(max_length=16)
    source: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str = Field(max_length=128)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PiiAccess(SQLModel, table=True):
    """Who read a case's personal data in full, when, and why (个人信息访问记录)."""

    __tablename__ = "pii_access_log"
    __table_args__ = {"schema": SCHEMA}

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    case_id: uuid.UUID = Field(index=True)
    accessed_by: str = Field(max_length=128)
    roles: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    unit_id: str | None = Field(default=None, max_length=64)
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    fields: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Note(SQLModel, table=True):
    """A staff note on a case (处置记录): the text sealed (it may hold phone and ID numbers), its masked copy for
    every ordinary read. ``version`` grows with each edit; earlier versions are in ``note_versions``."""

    __tablename__ = "notes"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))  # when it was done
    text_sealed: str = Field(sa_column=Column(Text, nullable=False))
    text_masked: str = Field(sa_column=Column(Text, nullable=False))
    visibility: str = Field(max_length=16)
    author: str = Field(max_length=128)
    unit_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))


class NoteVersion(SQLModel, table=True):
    """A note as it was before an edit."""

    __tablename__ = "note_versions"
    __table_args__ = {"schema": SCHEMA}

    note_id: uuid.UUID = Field(primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, primary_key=True))
    kind: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    text_sealed: str = Field(sa_column=Column(Text, nullable=False))
    text_masked: str = Field(sa_column=Column(Text, nullable=False))
    visibility: str = Field(max_length=16)
    written_by: str = Field(max_length=128)
    written_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Attachment(SQLModel, table=True):
    """A file filed with a case, owned by the case or one of its records (``owner_kind`` + ``owner_id``). The bytes
    live in the storage backend under ``storage_key``; a redacted copy (images) under ``redacted_key``."""

    __tablename__ = "attachments"
    __table_args__ = {"schema": SCHEMA}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    owner_kind: str = Field(max_length=16)
    owner_id: uuid.UUID
    name: str = Field(max_length=255)
    content_type: str = Field(max_length=100)  # as detected from the content
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    redacted_key: str | None = Field(default=None, max_length=200)
    redacted_content_type: str | None = Field(default=None, max_length=100)
    redacted_size: int | None = Field(default=None, sa_column=Column(BigInteger))
    redacted_sha256: str | None = Field(default=None, max_length=64)
    redacted_by: str | None = Field(default=None, max_length=128)
    uploaded_by: str = Field(max_length=128)
    uploaded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
