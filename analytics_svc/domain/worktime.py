"""Working time (工作时间): China's official calendar of workdays, in Asia/Shanghai dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from shared.clock import SHANGHAI


@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    """China's official calendar, 调休 make-up workdays included; Monday–Friday outside its known years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def working_seconds(start: datetime, end: datetime) -> float:
    """Seconds of [start, end) that fall on working days (Asia/Shanghai dates; whole days count)."""
    if end <= start:
        return 0.0
    a, b = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    first, last = a.date(), b.date()
    if first == last:
        return (b - a).total_seconds() if is_workday(first) else 0.0
    if a.utcoffset() != b.utcoffset():  # a change of offset in between (none in Asia/Shanghai since 1991)
        return _working_seconds_by_day(a, b)
    total = timedelta()
    if is_workday(first):
        total += datetime.combine(first + timedelta(days=1), time.min, SHANGHAI) - a
    if is_workday(last):
        total += b - datetime.combine(last, time.min, SHANGHAI)
    total += timedelta(days=sum(is_workday(first + timedelta(days=i)) for i in range(1, (last - first).days)))
    return total.total_seconds()


def _working_seconds_by_day(a: datetime, b: datetime) -> float:
    total = 0.0
    day = a.date()
    while day <= b.date():
        if is_workday(day):
            lo = max(a, datetime.combine(day, time.min, SHANGHAI))
            hi = min(b, datetime.combine(day + timedelta(days=1), time.min, SHANGHAI))
            total += max((hi - lo).total_seconds(), 0.0)
        day += timedelta(days=1)
    return total
