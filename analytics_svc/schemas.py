"""Every HTTP model of the analytics API (responses; the query parameters are parsed in ``api.params``)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from analytics_svc.domain.kpis import Dimension
from analytics_svc.domain.windows import Interval


class KpiValues(BaseModel):
    received: int = Field(description="受理量")
    accepted_on_time_rate: float | None = Field(description="按时签收率")
    completion_rate: float | None = Field(description="办结率")
    resolution_rate: float | None = Field(description="化解率")
    on_time_completion_rate: float | None = Field(description="按时办结率")
    local_resolution_rate: float | None = Field(description="就地化解率")
    street_resolution_rate: float | None = Field(description="不出街道率")
    escalation_rate: float | None = Field(description="提级率")
    satisfaction_rate: float | None = Field(description="满意率")
    closed_loop_rate: float | None = Field(description="闭环率")
    reopen_rate: float | None = Field(description="重办率")
    repeat_applicant_rate: float | None = Field(description="重复来访率")
    median_accept_minutes: float | None = Field(description="签收时长中位数（工作分钟）")
    median_resolve_hours: float | None = Field(description="办结时长中位数（工作小时）")
    counts: dict[str, int] = Field(description="the numerators and denominators behind the rates")


class Window(KpiValues):
    model_config = ConfigDict(populate_by_name=True)
    from_: datetime = Field(alias="from")
    to: datetime


class Kpis(Window):
    unit_id: str | None
    unit_name: str | None = Field(default=None, description="the scope unit's name (None: everything)")
    assigned: int
    with_outcome: int
    resolved: int
    previous: Window | None = Field(default=None, description="环比: the window of the same length just before")
    year_ago: Window | None = Field(default=None, description="同比: the same window a year earlier")


class Hotline(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: datetime = Field(alias="from")
    to: datetime
    unit_id: str | None
    received: int
    accepted_on_time_rate: float | None = Field(description="按时签收率")
    on_time_completion_rate: float | None = Field(description="按时办结率")
    satisfaction_rate: float | None = Field(description="满意率")
    previous: dict[str, Any] | None
    year_ago: dict[str, Any] | None


class Group(BaseModel):
    key: str | None
    label: str
    kpis: KpiValues


class Breakdown(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    dimension: Dimension
    from_: datetime = Field(alias="from")
    to: datetime
    unit_id: str | None
    items: list[Group]


class Point(BaseModel):
    bucket: date = Field(description="first day of the bucket (Asia/Shanghai)")
    value: float | None
    previous: float | None = Field(description="环比: the bucket before")
    year_ago: float | None = Field(description="同比: the same bucket a year earlier")


class Trend(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    metric: str
    interval: Interval
    from_: datetime = Field(alias="from")
    to: datetime
    unit_id: str | None
    points: list[Point]


class Format(StrEnum):  # an export's file format
    CSV = "csv"
    XLSX = "xlsx"


class Table(StrEnum):  # what an export holds
    LEDGER = "ledger"
    KPIS = "kpis"
    BREAKDOWN = "breakdown"
