"""Read models of the people of cases (``analytics`` schema, migration 0008), built only from events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, String
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from analytics_svc.tables import SCHEMA, TS, _path


class PersonCase(SQLModel, table=True):
    """A member (承办人, by id) held an assignment of the case; ``resolved_by``: the case was resolved in the
    member's hands. The unit is the one the member held it in."""

    __tablename__ = "person_cases"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(sa_column=Column("case_id", UUID(as_uuid=True), primary_key=True))
    assignee_id: str = Field(sa_column=Column("assignee_id", String(128), primary_key=True))
    unit_id: str = Field(sa_column=Column("unit_id", String(64), nullable=False))
    unit_path: list[str] = Field(default_factory=list, sa_column=_path("unit_path"))
    since: datetime = Field(sa_column=Column("since", TS, nullable=False))
    resolved_by: bool = Field(sa_column=Column("resolved_by", Boolean, nullable=False, server_default="false"))


person_cases = PersonCase.__table__  # type: ignore[attr-defined]
