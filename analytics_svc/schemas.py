"""Every HTTP model of the analytics API (responses; the query parameters are parsed in ``api.params``)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

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
    RECURRENCE = "recurrence"  # 复发率 by unit or category (dimension=unit|category)
    PEOPLE = "people"  # per-person figures (leaders of units)
    FORCES = "forces"
    AGING = "aging"  # open red/yellow cases older than aging_days, by unit


class RecurrenceGroupBy(StrEnum):
    UNIT = "unit"
    CATEGORY = "category"


class RecurrenceGroup(BaseModel):
    key: str | None = Field(description="the unit id (a child of the scope unit; None: the scope unit itself) or "
                            "the category code")
    label: str
    closed: int = Field(description="assignments closed (销号) in the window")
    recurred: int = Field(description="of those, found back by their 回头看 (问题复发)")
    recurrence_rate: float | None = Field(description="复发率: recurred ÷ closed (None when nothing closed)")


class Recurrence(BaseModel):
    """复发率 over the closures (销号) of the window in a unit's subtree (credited to the closing unit)."""

    model_config = ConfigDict(populate_by_name=True)
    from_: datetime = Field(alias="from")
    to: datetime
    unit_id: str | None
    closed: int
    recurred: int
    recurrence_rate: float | None = Field(description="复发率: recurred ÷ closed")
    items: list[RecurrenceGroup] = Field(description="per group, with group=unit|category; most closed first")


class GridNumbers(BaseModel):
    """One grid's cases received in the window (where they happened) and their state now."""

    unit_id: str
    name: str = Field(description="网格名称")
    received: int = Field(description="受理量")
    open: int = Field(description="在办: no outcome yet")
    resolved: int = Field(description="已化解")
    overdue: int = Field(description="超期过: cases that missed a deadline at least once")
    red: int = Field(description="红色风险")
    yellow: int = Field(description="黄色风险")
    blue: int = Field(description="蓝色风险")
    resolution_rate: float | None = Field(description="化解率")
    satisfaction_rate: float | None = Field(description="满意率")


class PolygonArea(BaseModel):
    type: Literal["Polygon"]
    coordinates: list[list[list[float]]] = Field(description="GeoJSON rings of [lng, lat], the outer one first")


class GridFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: PolygonArea
    properties: GridNumbers


class GridMap(BaseModel):
    """网格地图: a GeoJSON (RFC 7946) FeatureCollection of the scope's grids, with the window in foreign members."""

    model_config = ConfigDict(populate_by_name=True)
    type: Literal["FeatureCollection"] = "FeatureCollection"
    from_: datetime = Field(alias="from")
    to: datetime
    unit_id: str | None
    features: list[GridFeature]
    unmapped: int = Field(description="the window's cases in the scope whose grid has no area on the map")
