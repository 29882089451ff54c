"""Analytics REST API: KPIs with 同比/环比, breakdowns, trends, hotline 三率, funnel, hotspots."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels, queries
from analytics_svc.queries import Filters
from analytics_svc.tables import hotspot_alerts, units
from shared.auth import CurrentUser, Principal
from shared.clock import SHANGHAI
from shared.events.case import Channel, RequestType
from shared.problems import Problem, field_problem, require_aware
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


class Dimension(StrEnum):
    CATEGORY = "category"
    CHANNEL = "channel"
    UNIT = "unit"
    LEVEL = "level"
    TRACK = "track"
    REQUEST_TYPE = "request_type"
    RISK_LEVEL = "risk_level"


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


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


# --- windows and scope -----------------------------------------------------------------------------------


def as_instant(value: str, *, end: bool) -> datetime:
    """A date (a whole day in Asia/Shanghai; as ``to`` inclusive) or a time with a UTC offset."""
    field = f"query.{'to' if end else 'from'}"
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, SHANGHAI)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise field_problem(field, "must be a date (2026-11-23) or a time with offset", "invalid_datetime") from None
    require_aware(when, field)
    return when


def year_earlier(when: datetime) -> datetime:
    local = when.astimezone(SHANGHAI)
    try:
        return local.replace(year=local.year - 1)
    except ValueError:  # 29 February
        return local.replace(year=local.year - 1, day=28)


@dataclass
class Query_:
    filters: Filters
    scope_path: list[str]
    unit_name: str | None = None


async def resolve_scope(session: AsyncSession, user: Principal,
                        unit_id: str | None) -> tuple[str | None, list[str], str | None]:
    """The unit whose subtree the numbers cover (404 outside the caller's scope); None = everything (global roles).

    Cases count in a unit's subtree once they are assigned; until then they have no unit path.
    """
    wanted = unit_id if unit_id is not None else user.scope_unit()
    if wanted is None:
        return None, [], None
    row = (await session.execute(select(units.c.path, units.c.name).where(units.c.unit_id == wanted))).first()
    if row is None or not user.can_see(list(row.path)):
        if unit_id is None:
            raise Problem(404, "unit_not_found", f"your unit {wanted} is not known to analytics yet")
        raise Problem(404, "unit_not_found", f"no unit {unit_id} in your scope")
    path = list(row.path)
    return wanted, path, row.name


async def window_query(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="start (a date: that whole day)")]
    = None,
    to: Annotated[str | None, Query(max_length=40, description="end, exclusive (a date: inclusive)")] = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    channel: Channel | None = None,
    category: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)?$")] = None,
    request_type: RequestType | None = None,
    days: Annotated[int | None, Query(ge=1, le=3660, description="without `from`: the window's length")] = None,
) -> Query_:
    now = request.app.state.runtime.clock.now()
    end = as_instant(to, end=True) if to else now
    start = as_instant(from_, end=False) if from_ else end - timedelta(days=days or 30)
    if start >= end:
        raise field_problem("query.from", "must be before `to`", "invalid_range")
    if end - start > timedelta(days=3660):
        raise field_problem("query.from", "the window may span at most ten years", "window_too_long")
    scope, path, name = await resolve_scope(session, user, unit_id)
    f = Filters(start, end, scope, channel.value if channel else None, category,
                request_type.value if request_type else None, len(path) or None)
    return Query_(f, path, name)


WindowDep = Annotated[Query_, Depends(window_query)]


def _window(values: dict[str, Any], f: Filters) -> dict[str, Any]:
    return {"from": f.start, "to": f.end, **values}


async def kpis_with_compare(session: AsyncSession, f: Filters, compare: bool) -> dict[str, Any]:
    """The window's KPIs and, with ``compare``, those of 环比 and 同比 (one query when they coincide)."""
    windows = [f]
    if compare:
        length = f.end - f.start
        windows += [f.within((f.start - length, f.start)), f.within((year_earlier(f.start), year_earlier(f.end)))]
    distinct: dict[tuple[datetime, datetime], Filters] = {}
    for w in windows:
        distinct.setdefault((w.start, w.end), w)  # a one-year window: 环比 = 同比

    async def other(w: Filters) -> dict[str, Any]:
        async with AsyncSession(session.bind) as own:  # a session (connection) of its own: the windows run at once
            return await queries.kpis(own, w)

    first, *rest = distinct.values()
    results = await asyncio.gather(queries.kpis(session, first), *(other(w) for w in rest))
    by_window = dict(zip(distinct, results, strict=True))
    current = by_window[(f.start, f.end)]
    out = {**_window(current, f), "unit_id": f.unit_id, "assigned": current["counts"]["assigned"],
           "with_outcome": current["counts"]["with_outcome"], "resolved": current["counts"]["resolved"]}
    if compare:
        for name, w in (("previous", windows[1]), ("year_ago", windows[2])):
            out[name] = _window(by_window[(w.start, w.end)], w)
    return out


@router.get("/kpis", response_model=Kpis, response_model_by_alias=True)
async def kpis(session: SessionDep, q: WindowDep, compare: bool = True) -> dict[str, Any]:
    """Section 7 KPIs over the cases received in the window (default: the last 30 days) in a unit's subtree,
    with 环比 (`previous`) and 同比 (`year_ago`) unless `compare=false`."""
    return {**await kpis_with_compare(session, q.filters, compare), "unit_name": q.unit_name}


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


HOTLINE_KEYS = ("received", "accepted_on_time_rate", "on_time_completion_rate", "satisfaction_rate")


@router.get("/kpis/hotline", response_model=Hotline, response_model_by_alias=True)
async def hotline(session: SessionDep, q: WindowDep) -> dict[str, Any]:
    """12345 三率 (按时签收率, 按时办结率, 满意率) over the hotline_12345 cases of the window."""
    f = q.filters
    f.channel = Channel.HOTLINE_12345.value
    full = await kpis_with_compare(session, f, True)
    pick = lambda d: {k: d[k] for k in ("from", "to", *HOTLINE_KEYS)}  # noqa: E731
    return {**pick(full), "unit_id": f.unit_id, "previous": pick(full["previous"]), "year_ago": pick(full["year_ago"])}


async def _unit_names(session: AsyncSession, ids: list[str]) -> dict[str, str]:
    rows = await session.execute(select(units.c.unit_id, units.c.name).where(units.c.unit_id.in_(ids)))
    return {r.unit_id: r.name or r.unit_id for r in rows}


def dimension_sql(dimension: Dimension, depth: int) -> tuple[str, str | None, str | None]:
    """(case group expression, assignment group expression, outcome-side case group expression)."""
    if dimension == Dimension.UNIT:
        i = depth + 1  # PostgreSQL arrays are 1-based: the child of the scope unit on each path
        return f"home_path[{i}]", f"a.unit_path[{i}]", f"outcome_path[{i}]"
    case_expr = queries.CASE_DIMENSIONS[dimension.value]
    return case_expr, queries.ASSIGNMENT_DIMENSIONS.get(dimension.value, f"c.{dimension.value}"), None


async def breakdown_items(session: AsyncSession, q: Query_, dimension: Dimension) -> list[dict[str, Any]]:
    case_g, assign_g, outcome_g = dimension_sql(dimension, len(q.scope_path))
    groups = await queries.grouped(session, q.filters, case_g, assign_g, outcome_g)
    names = await _unit_names(session, [k for k in groups if k]) if dimension == Dimension.UNIT else {}
    def label(key: Any) -> str:
        if dimension != Dimension.UNIT:
            return labels.label(dimension, key)
        return names.get(key, key) if key else "（本级）"  # handled by the scope unit itself

    items = [{"key": k, "label": label(k), "kpis": v} for k, v in groups.items()]
    items.sort(key=lambda i: (-i["kpis"]["received"], str(i["key"])))
    return items


@router.get("/breakdown", response_model=Breakdown, response_model_by_alias=True)
async def breakdown(session: SessionDep, q: WindowDep, dimension: Dimension = Dimension.CATEGORY) -> dict[str, Any]:
    """KPIs per category, channel, unit (the children of the scope unit), level, track, request type or risk."""
    f = q.filters
    return {"dimension": dimension, "from": f.start, "to": f.end, "unit_id": f.unit_id,
            "items": await breakdown_items(session, q, dimension)}


def _bucket_sql(interval: Interval, column: str) -> str:
    return f"(date_trunc('{interval.value}', {column} AT TIME ZONE 'Asia/Shanghai'))::date"


def _bucket_start(when: datetime, interval: Interval) -> date:
    d = when.astimezone(SHANGHAI).date()
    if interval == Interval.WEEK:
        return d - timedelta(days=d.weekday())
    if interval == Interval.MONTH:
        return d.replace(day=1)
    return d


def _previous_bucket(b: date, interval: Interval) -> date:
    if interval == Interval.DAY:
        return b - timedelta(days=1)
    if interval == Interval.WEEK:
        return b - timedelta(days=7)
    return (b - timedelta(days=1)).replace(day=1)


def _shift_year(b: date) -> date:
    try:
        return b.replace(year=b.year - 1)
    except ValueError:
        return b.replace(year=b.year - 1, day=28)


async def trend_points(session: AsyncSession, f: Filters, metric: str, interval: Interval) -> list[dict[str, Any]]:
    first = _bucket_start(f.start, interval)
    prev_first = _previous_bucket(first, interval)
    extended = f.within((min(f.start, datetime.combine(prev_first, time.min, SHANGHAI)), f.end))
    year = f.within((year_earlier(f.start), year_earlier(f.end)))

    async def series(flt: Filters) -> dict[date, Any]:
        groups = await queries.grouped(session, flt, _bucket_sql(interval, "received_at"),
                                       _bucket_sql(interval, "a.received_at"))
        return {k: v[metric] for k, v in groups.items() if k is not None}

    now_series, year_series = await series(extended), await series(year)
    points = []
    b = first
    last = _bucket_start(f.end - timedelta(microseconds=1), interval)
    while b <= last:
        points.append({"bucket": b, "value": now_series.get(b, 0 if metric == "received" else None),
                       "previous": now_series.get(_previous_bucket(b, interval), 0 if metric == "received" else None),
                       "year_ago": year_series.get(_shift_year(b), 0 if metric == "received" else None)})
        nxt = b + timedelta(days=1 if interval == Interval.DAY else 7 if interval == Interval.WEEK else 32)
        b = nxt.replace(day=1) if interval == Interval.MONTH else nxt
    return points


@router.get("/trend", response_model=Trend, response_model_by_alias=True)
async def trend(session: SessionDep, q: WindowDep, metric: str = "received",
                interval: Interval = Interval.DAY) -> dict[str, Any]:
    """One KPI per day, week or month (buckets in Asia/Shanghai), each with 环比 and 同比."""
    if metric not in queries.KPI_KEYS:
        raise field_problem("query.metric", f"must be one of: {', '.join(queries.KPI_KEYS)}", "unknown_metric")
    f = q.filters
    if interval == Interval.DAY and f.end - f.start > timedelta(days=400):
        raise field_problem("query.interval", "a daily trend spans at most 400 days", "too_many_buckets")
    return {"metric": metric, "interval": interval, "from": f.start, "to": f.end, "unit_id": f.unit_id,
            "points": await trend_points(session, f, metric, interval)}


# --- funnel and hotspots ---------------------------------------------------------------------------------

FUNNEL = (("grid", "网格"), ("community", "社区/村居"), ("street", "街道"), ("district", "区"))


async def funnel_counts(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """提级漏斗: cases handled at a grid, and cases escalated to community/village, street, district."""
    scope = "home_path @> CAST(ARRAY[:u] AS varchar[])" if f.unit_id else "TRUE"
    row = (await session.execute(text(f"""
        SELECT count(*) FILTER (WHERE 'grid' = ANY(levels_reached)) AS grid,
               count(*) FILTER (WHERE escalated_levels && CAST(ARRAY['community', 'village'] AS varchar[]))
                 AS community,
               count(*) FILTER (WHERE 'street' = ANY(escalated_levels)) AS street,
               count(*) FILTER (WHERE 'district' = ANY(escalated_levels)) AS district
        FROM case_facts WHERE received_at >= :start AND received_at < :end AND merged_into IS NULL
          AND {scope}{f.facets()}"""), f.bind())).mappings().one()
    return [{"level": k, "label": label, "count": int(row[k])} for k, label in FUNNEL]


@router.get("/funnel")
async def funnel(session: SessionDep, q: WindowDep) -> dict[str, Any]:
    """The escalation funnel (grid → community → street → district) of the window's cases."""
    f = q.filters
    return {"from": f.start, "to": f.end, "unit_id": f.unit_id, "stages": await funnel_counts(session, f)}


async def hotspot_lists(session: AsyncSession, f: Filters, limit: int) -> dict[str, Any]:
    scope = "home_path @> CAST(ARRAY[:u] AS varchar[])" if f.unit_id else "TRUE"
    base = (f"FROM case_facts WHERE received_at >= :start AND received_at < :end AND merged_into IS NULL "
            f"AND {scope}{f.facets()}")
    params = {**f.bind(), "limit": limit}

    async def top(expr: str, extra: str = "") -> list[tuple[Any, int]]:
        rows = await session.execute(text(
            f"SELECT {expr} AS k, count(*) AS n {base} AND {expr} IS NOT NULL{extra} GROUP BY 1 "
            "ORDER BY n DESC, k LIMIT :limit"), params)
        return [(r.k, int(r.n)) for r in rows]

    grids = await top("coalesce(grid_id, CASE WHEN home_level = 'grid' THEN home_unit_id END)")
    buildings = await top("building_id")
    names = await _unit_names(session, [k for k, _ in grids + buildings])
    addresses = await top("address_key")
    cats = await top("category")
    repeaters = await top("applicant_key", "")
    spikes_q = select(hotspot_alerts).where(hotspot_alerts.c.window_start < f.end,
                                            hotspot_alerts.c.window_end > f.start)
    if f.unit_id:
        spikes_q = spikes_q.where(hotspot_alerts.c.unit_path.contains([f.unit_id]))
    spikes = (await session.execute(spikes_q.order_by(hotspot_alerts.c.ratio.desc()).limit(limit))).mappings().all()
    spike_names = await _unit_names(session, [s["unit_id"] for s in spikes])
    return {
        "grids": [{"unit_id": k, "label": names.get(k, k), "count": n} for k, n in grids],
        "buildings": [{"unit_id": k, "label": names.get(k, k), "count": n} for k, n in buildings],
        # addresses only as opaque blind-index keys (shortened): never address text
        "addresses": [{"address_key": k[:16], "count": n} for k, n in addresses],
        "categories": [{"category": k, "label": labels.label("category", k), "count": n} for k, n in cats],
        "repeat_applicants": [{"applicant_key": k[:16], "count": n} for k, n in repeaters if n >= 2],
        "spikes": [{"alert_id": str(s["alert_id"]), "unit_id": s["unit_id"],
                    "label": spike_names.get(s["unit_id"], s["unit_id"]), "category": s["category"],
                    "category_label": labels.label("category", s["category"]), "day": s["day"].isoformat(),
                    "count": s["count"], "baseline": s["baseline"], "ratio": s["ratio"]} for s in spikes],
    }


@router.get("/hotspots")
async def hotspots(session: SessionDep, q: WindowDep,
                   limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """分析研判: top grids, buildings, addresses (blind-index keys), categories and repeat applicants; spikes found."""
    f = q.filters
    return {"from": f.start, "to": f.end, "unit_id": f.unit_id, **await hotspot_lists(session, f, limit)}
