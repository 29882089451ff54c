"""Tables of the hotline adapter, in intake's schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from intake_svc.hotline.domain import CallbackStatus, OrderPhase
from intake_svc.tables import SCHEMA


class HotlineOrder(SQLModel, table=True):
    """A work order (工单) pushed by a 12345 platform and the case it became."""

    __tablename__ = "hotline_orders"
    __table_args__ = {"schema": SCHEMA}

    client_id: str = Field(primary_key=True, max_length=64)
    order_no: str = Field(primary_key=True, max_length=64)
    case_id: uuid.UUID | None = Field(default=None, index=True)
    primary_case_id: uuid.UUID | None = Field(default=None, index=True)  # when linked as a duplicate
    mapping: str = Field(max_length=64)
    platform_received_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    deadline_days: int | None = None
    urgent: bool = False
    callback_ok: bool = True
    phase: str = Field(default=OrderPhase.RECEIVED, max_length=16)
    unit_name: str | None = Field(default=None, max_length=200)  # the unit handling it now (from routing)
    result_text: str | None = Field(default=None, sa_column=Column(Text))  # staff's reply for the next 办结
    body_sha256: str = Field(max_length=64)
    next_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class HotlineCallback(SQLModel, table=True):
    """A status update owed to the platform (the callback outbox): sent in ``seq`` order per order."""

    __tablename__ = "hotline_callbacks"
    __table_args__ = (UniqueConstraint("client_id", "order_no", "seq"), {"schema": SCHEMA})

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    client_id: str = Field(max_length=64)
    order_no: str = Field(max_length=64)
    seq: int
    case_id: uuid.UUID | None = None
    action: str = Field(max_length=32)
    idempotency_key: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))  # canonical; mapped when sent
    traceparent: str | None = Field(default=None, max_length=55)  # the trace it was owed in: sent with it
    status: str = Field(default=CallbackStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class HotlineCallbackAttempt(SQLModel, table=True):
    """Every attempt to deliver a callback and the platform's answer (reconciliation)."""

    __tablename__ = "hotline_callback_attempts"
    __table_args__ = {"schema": SCHEMA}

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    callback_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status_code: int | None = None
    response: str | None = Field(default=None, sa_column=Column(Text))
    error: str | None = Field(default=None, sa_column=Column(Text))


class HotlineMessage(SQLModel, table=True):
    """What the platform told us about an order (回访, 重办, 催办), once per message id."""

    __tablename__ = "hotline_messages"
    __table_args__ = {"schema": SCHEMA}

    client_id: str = Field(primary_key=True, max_length=64)
    message_id: str = Field(primary_key=True, max_length=64)
    order_no: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # feedback | redo | urge
    case_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    outcome: str = Field(max_length=32)
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class HotlineNonce(SQLModel, table=True):
    """Nonces seen inside the clock-skew window: a second use is a replay."""

    __tablename__ = "hotline_nonces"
    __table_args__ = {"schema": SCHEMA}

    client_id: str = Field(primary_key=True, max_length=64)
    nonce: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
