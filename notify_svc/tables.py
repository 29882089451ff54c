"""Tables of the ``notify`` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

SCHEMA = "notify"


class Recipient(SQLModel, table=True):
    """A staff member, learned from ``fq.org.member_upserted.v1`` (ids and roles only)."""

    __tablename__ = "recipients"
    __table_args__ = {"schema": SCHEMA}

    member_id: str = Field(primary_key=True, max_length=128)
    unit_id: str = Field(max_length=64, index=True)
    roles: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
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
