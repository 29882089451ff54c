"""KPIs grouped: per category, channel, unit, level, … (breakdown), per day/week/month (trend), the funnel."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels
from analytics_svc.domain.kpis import FUNNEL, KPI_KEYS, Dimension
from analytics_svc.domain.windows import (
    Interval,
    bucket_start,
    next_bucket,
    previous_bucket,
    shift_year,
    year_earlier,
)
from analytics_svc.store import kpis as kpi_store
from analytics_svc.store import reports, units
from analytics_svc.store.kpis import Filters
from shared.clock import SHANGHAI
from shared.problems import field_problem

OWN_LEVEL = "（本级）"  # the group of the cases the scope unit handled itself


async def breakdown_items(session: AsyncSession, f: Filters, dimension: Dimension) -> list[dict[str, Any]]:
    """One group per value of ``dimension`` (units: the children of the scope unit), most received first."""
    case_g, assign_g, outcome_g = kpi_store.dimension_sql(dimension, f.depth or 0)
    groups = await kpi_store.grouped(session, f, case_g, assign_g, outcome_g)
    names = await units.names(session, [k for k in groups if k]) if dimension == Dimension.UNIT else {}

    def label(key: Any) -> str:
        if dimension != Dimension.UNIT:
            return labels.label(dimension, key)
        return names.get(key, key) if key else OWN_LEVEL

    items = [{"key": k, "label": label(k), "kpis": v} for k, v in groups.items()]
    items.sort(key=lambda i: (-i["kpis"]["received"], str(i["key"])))
    return items


def check_trend(f: Filters, metric: str, interval: Interval) -> None:
    if metric not in KPI_KEYS:
        raise field_problem("query.metric", f"must be one of: {', '.join(KPI_KEYS)}", "unknown_metric")
    if interval == Interval.DAY and f.end - f.start > timedelta(days=400):
        raise field_problem("query.interval", "a daily trend spans at most 400 days", "too_many_buckets")


async def trend_points(session: AsyncSession, f: Filters, metric: str, interval: Interval) -> list[dict[str, Any]]:
    """One value per bucket of the window, each with 环比 (the bucket before) and 同比 (a year earlier)."""
    check_trend(f, metric, interval)
    first = bucket_start(f.start, interval)
    prev_first = previous_bucket(first, interval)
    extended = f.within((min(f.start, datetime.combine(prev_first, time.min, SHANGHAI)), f.end))
    year = f.within((year_earlier(f.start), year_earlier(f.end)))

    async def series(flt: Filters) -> dict[date, Any]:
        groups = await kpi_store.grouped(session, flt, kpi_store.bucket_sql(interval, "received_at"),
                                         kpi_store.bucket_sql(interval, "a.received_at"))
        return {k: v[metric] for k, v in groups.items() if k is not None}

    now_series, year_series = await series(extended), await series(year)
    empty = 0 if metric == "received" else None
    points = []
    b = first
    last = bucket_start(f.end - timedelta(microseconds=1), interval)
    while b <= last:
        points.append({"bucket": b, "value": now_series.get(b, empty),
                       "previous": now_series.get(previous_bucket(b, interval), empty),
                       "year_ago": year_series.get(shift_year(b), empty)})
        b = next_bucket(b, interval)
    return points


async def funnel_stages(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    """提级漏斗: cases handled at a grid, and cases escalated to community/village, street, district."""
    row = await reports.funnel(session, f)
    return [{"level": k, "label": label, "count": int(row[k])} for k, label in FUNNEL]
