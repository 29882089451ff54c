"""Time windows and trend buckets in Asia/Shanghai: 环比 (the bucket before) and 同比 (a year earlier)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.clock import SHANGHAI


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def year_earlier(when: datetime) -> datetime:
    local = when.astimezone(SHANGHAI)
    try:
        return local.replace(year=local.year - 1)
    except ValueError:  # 29 February
        return local.replace(year=local.year - 1, day=28)


def bucket_start(when: datetime, interval: Interval) -> date:
    d = when.astimezone(SHANGHAI).date()
    if interval == Interval.WEEK:
        return d - timedelta(days=d.weekday())
    if interval == Interval.MONTH:
        return d.replace(day=1)
    return d


def previous_bucket(b: date, interval: Interval) -> date:
    if interval == Interval.DAY:
        return b - timedelta(days=1)
    if interval == Interval.WEEK:
        return b - timedelta(days=7)
    return (b - timedelta(days=1)).replace(day=1)


def next_bucket(b: date, interval: Interval) -> date:
    nxt = b + timedelta(days=1 if interval == Interval.DAY else 7 if interval == Interval.WEEK else 32)
    return nxt.replace(day=1) if interval == Interval.MONTH else nxt


def shift_year(b: date) -> date:
    try:
        return b.replace(year=b.year - 1)
    except ValueError:
        return b.replace(year=b.year - 1, day=28)
