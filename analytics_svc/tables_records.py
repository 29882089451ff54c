"""Read models of the case file's documents (built only from events, rebuilt by a replay like the fact tables)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Column, Date, String
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlmodel import Field, SQLModel

from analytics_svc.tables import SCHEMA, TS


class AgreementFact(SQLModel, table=True):
    """A signed 人民调解协议书: its 司法确认 status and its 履行 as the events told them."""

    __tablename__ = "agreement_facts"
    __table_args__ = {"schema": SCHEMA}

    agreement_id: uuid.UUID = Field(sa_column=Column("agreement_id", UUID(as_uuid=True), primary_key=True))
    case_id: uuid.UUID = Field(sa_column=Column("case_id", UUID(as_uuid=True), nullable=False, index=True))
    unit_id: str | None = Field(default=None, sa_column=Column("unit_id", String(64)))
    signed_at: datetime = Field(sa_column=Column("signed_at", TS, nullable=False))
    performance_due: date = Field(sa_column=Column("performance_due", Date, nullable=False))
    performance: str | None = Field(default=None, sa_column=Column("performance", String(16)))
    confirmation: str | None = Field(default=None, sa_column=Column("confirmation", String(16)))


agreement_facts = AgreementFact.__table__  # type: ignore[attr-defined]


class CaseForces(SQLModel, table=True):
    """The forces (协同力量: 公安, 法院, 人民调解, …) routing called in for a case, over all its assignments."""

    __tablename__ = "case_forces"
    __table_args__ = {"schema": SCHEMA}

    case_id: uuid.UUID = Field(sa_column=Column("case_id", UUID(as_uuid=True), primary_key=True))
    forces: list[str] = Field(default_factory=list, sa_column=Column("forces", ARRAY(String), nullable=False,
                                                                     server_default="{}"))


case_forces = CaseForces.__table__  # type: ignore[attr-defined]
