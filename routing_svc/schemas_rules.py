"""HTTP schemas of the routing API: rules (versions, the dry run) and the working-time calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from routing_svc.domain.locate import LocateMethod
from shared.events.case import Channel, Level, RequestType, RiskLevel, Track


class RulesVersionInfo(BaseModel):
    version: int  # 0 = the shipped default rules, never saved
    created_by: str
    created_at: datetime | None
    comment: str
    changes: list[str]


class RulesPublic(RulesVersionInfo):
    document: dict[str, Any]


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grid_id: str | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)


class EvaluateBody(BaseModel):
    """A case description for a dry run. Give ``unit_id`` (the located unit) or a ``location``."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=64)
    request_type: RequestType = RequestType.DISPUTE
    risk_level: RiskLevel = RiskLevel.BLUE
    risk_signals: list[str] = Field(default_factory=list, max_length=50)
    channel: Channel = Channel.WALK_IN
    people_involved: int | None = Field(default=None, ge=0)
    amount_involved: float | None = Field(default=None, ge=0)
    unit_id: str | None = Field(default=None, max_length=64)
    location: LocationIn | None = None
    at: datetime | None = Field(default=None, description="when the case arrives (default: now); with an offset")
    deadline_days: int | None = Field(default=None, ge=1, le=365)
    urgent: bool = False
    document: dict[str, Any] | None = Field(default=None, description="a draft rules document to try instead")


class TraceOut(BaseModel):
    rule_id: str
    matched: bool
    why: str


class DeadlinesOut(BaseModel):
    accept: str
    resolve: str | None
    escalate_on_resolve_overdue: bool


class TaskForceOut(BaseModel):
    lead: str
    plan: str


class DecisionOut(BaseModel):
    rule_id: str
    level: Level | None
    unit_id: str | None
    target_unit_id: str
    track: Track
    forces: list[str]
    deadlines: DeadlinesOut
    task_force: TaskForceOut | None
    explanation: str
    trace: list[TraceOut]


class LocatedOut(BaseModel):
    unit_id: str
    unit_name: str
    level: Level
    method: LocateMethod
    explanation: str


class EvaluateResult(BaseModel):
    version: int | None  # None when a draft document was evaluated
    located: LocatedOut
    working_time: bool
    decision: DecisionOut
    accept_due_at: datetime
    resolve_due_if_accepted_at_once: datetime | None


class DayOut(BaseModel):
    day: date
    is_workday: bool
    source: str  # override | official | loaded | fallback
    note: str = ""


class DayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    is_workday: bool
    note: str = Field(default="", max_length=200)


class DaysPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[DayIn] = Field(default_factory=list, max_length=400)
    remove: list[date] = Field(default_factory=list, max_length=400)


class YearNotice(BaseModel):
    """A year's official holiday notice (国务院办公厅关于XXXX年部分节假日安排的通知) as data.

    ``holidays``: days off (``YYYY-MM-DD`` or a range ``YYYY-MM-DD/YYYY-MM-DD``); ``workdays``: the 调休
    make-up workdays (usually weekends). Replaces every override of that year."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)
    holidays: list[str] = Field(default_factory=list, max_length=200)
    workdays: list[str] = Field(default_factory=list, max_length=100)


class YearOut(BaseModel):
    year: int
    source: str  # official | loaded | missing
    note: str = ""
    loaded_by: str | None = None
    loaded_at: datetime | None = None
