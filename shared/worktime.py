"""Working time on China's official calendar (a mechanism used by routing and notify).

A day is a workday when, in this order: an admin override says so; else the ``chinese_calendar``
package knows the year (statutory holidays and 调休 make-up workdays); else Monday–Friday. The package
only ships the years the State Council has announced (it stops at 2026): a later year never crashes, it
falls back to Monday–Friday, and ``missing_years`` names it so the gap can be shown (log, metric, readyz)
until an admin loads that year's holiday notice as overrides.

Working hours are configurable (default 08:30–12:00 and 13:30–17:30, Asia/Shanghai).

Semantics of a ``WorkSpan``:

- ``hours`` (or minutes) are working time: the clock runs only inside working hours on workdays.
- ``days`` are whole working days: ``N`` days after a start ends at the close of the Nth workday *after*
  the start's local day (the start day itself is not counted, whether the start is in working hours or
  not). This is how 12345 and petition offices count "N 个工作日内办结".
- A span with both first counts the days, then adds the hours in working time from that point.
- ``today`` (当天) ends at the close of the start's working day; when the start is not on a workday, or after
  that day's close, at the close of the next workday. ``today<16:00`` is the same with a cut-off: received
  before 16:00 on a workday, the close of that day; else the close of the next workday (当天受理、当天办结).
  A same-day span is written alone (no days or hours with it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
import structlog

log = structlog.get_logger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOURS: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30)))
DEFAULT_HOURS_TEXT = "08:30-12:00,13:30-17:30"
MAX_SEARCH_DAYS = 3660  # a calendar with no workday in ten years is a configuration error, not a loop

_TODAY = re.compile(r"^\s*today\s*(?:<\s*(?P<cut>\d{1,2}:\d{2})\s*)?$")
_SPAN = re.compile(r"^\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*$")


@dataclass(frozen=True)
class WorkSpan:
    """An amount of working time: ``days`` whole working days plus ``hours`` working hours."""

    hours: float = 0
    days: int = 0
    same_day: bool = False  # ``today``: to the close of the start's working day
    cutoff: time | None = None  # with ``same_day``: started at or after this local time, the next workday's close

    def __post_init__(self) -> None:
        if self.hours < 0 or self.days < 0:
            raise ValueError("a working-time span cannot be negative")
        if self.same_day and (self.hours or self.days):
            raise ValueError("a same-day span (today) is written alone, without days or hours")
        if self.cutoff is not None and not self.same_day:
            raise ValueError("a cut-off time goes with a same-day span (today<16:00)")

    @classmethod
    def parse(cls, text: str) -> WorkSpan:
        """``"4h"``, ``"2d"``, ``"30m"``, ``"1d4h"``, ``"1.5h"``, ``"today"``, ``"today<16:00"``; raises
        ``ValueError`` otherwise."""
        today = _TODAY.match(text) if isinstance(text, str) else None
        if today is not None:
            cut = today.group("cut")
            try:
                cutoff = time.fromisoformat(cut.zfill(5)) if cut else None
            except ValueError as exc:
                raise ValueError(f"not a time of day in {text!r} (use e.g. today<16:00)") from exc
            return cls(same_day=True, cutoff=cutoff)
        m = _SPAN.match(text) if isinstance(text, str) else None
        if m is None or not any(m.group(g) for g in "dhm"):
            raise ValueError(f"not a working-time span: {text!r} (use e.g. 4h, 30m, 2d, 1d4h, today, today<16:00)")
        hours = float(m.group("h") or 0) + float(m.group("m") or 0) / 60
        return cls(hours=hours, days=int(m.group("d") or 0))

    @property
    def is_zero(self) -> bool:
        return self.days == 0 and self.hours == 0 and not self.same_day

    def __str__(self) -> str:
        if self.same_day:
            return "today" if self.cutoff is None else f"today<{self.cutoff.strftime('%H:%M')}"
        parts = []
        if self.days:
            parts.append(f"{self.days}d")
        if self.hours or not self.days:
            minutes = round(self.hours * 60)
            parts.append(f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m")
        return "".join(parts)


def parse_hours(text: str) -> tuple[tuple[time, time], ...]:
    """``"08:30-12:00,13:30-17:30"`` → ordered, non-overlapping local intervals; raises ``ValueError``."""
    out: list[tuple[time, time]] = []
    for part in text.split(","):
        try:
            a, b = (time.fromisoformat(x.strip()) for x in part.split("-"))
        except ValueError as exc:
            raise ValueError(f"working hours must look like 08:30-12:00,13:30-17:30, not {text!r}") from exc
        if a >= b or (out and a < out[-1][1]):
            raise ValueError(f"working hours must be increasing and non-overlapping: {text!r}")
        out.append((a, b))
    if not out:
        raise ValueError("no working hours given")
    return tuple(out)


@cache
def package_years() -> frozenset[int]:
    """Years the installed ``chinese_calendar`` has official data for."""
    known = [*chinese_calendar.holidays, *chinese_calendar.workdays]
    return frozenset(range(min(known).year, max(known).year + 1))


class WorkCalendar:
    def __init__(self, overrides: Mapping[date, bool] | None = None, *,
                 hours: Sequence[tuple[time, time]] = DEFAULT_HOURS, loaded_years: Iterable[int] = (),
                 tz: ZoneInfo = SHANGHAI) -> None:
        """``overrides``: day → is_workday (admin table); ``loaded_years``: years whose holiday notice an
        admin loaded as overrides (they count as covered)."""
        self.overrides = dict(overrides or {})
        self.hours = tuple(hours)
        self.loaded_years = frozenset(loaded_years)
        self.tz = tz
        self.fallback_years: set[int] = set()  # years this calendar answered with Monday–Friday

    # --- days ------------------------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        if d in self.overrides:
            return self.overrides[d]
        if d.year in package_years():
            return bool(chinese_calendar.is_workday(d))
        if d.year not in self.loaded_years and d.year not in self.fallback_years:
            self.fallback_years.add(d.year)
            log.warning("calendar_year_missing", year=d.year, fallback="monday_to_friday")
        return d.weekday() < 5

    def missing_years(self, years: Iterable[int]) -> set[int]:
        """Years with neither package data nor a loaded holiday notice."""
        return {y for y in years if y not in package_years() and y not in self.loaded_years}

    def _intervals(self, d: date) -> list[tuple[datetime, datetime]]:
        if not self.is_workday(d):
            return []
        return [(datetime.combine(d, a, self.tz), datetime.combine(d, b, self.tz)) for a, b in self.hours]

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("working-time arithmetic needs timezone-aware datetimes")
        return at.astimezone(self.tz)

    def is_working_time(self, at: datetime) -> bool:
        local = self._local(at)
        return any(a <= local < b for a, b in self._intervals(local.date()))

    def day_seconds(self) -> float:
        """Working seconds in one workday."""
        return sum((datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()
                   for a, b in self.hours)

    # --- spans -----------------------------------------------------------------------------------

    def add(self, start: datetime, span: WorkSpan) -> datetime:
        """The instant ``span`` of working time after ``start`` (UTC)."""
        at = self._local(start)
        if span.same_day:
            return self._same_day_close(at, span.cutoff).astimezone(UTC)
        if span.days:
            d = at.date()
            for _ in range(span.days):
                d = self._next_workday(d)
            at = datetime.combine(d, self.hours[-1][1], self.tz)
        if span.hours:
            at = self._add_seconds(at, span.hours * 3600)
        return at.astimezone(UTC)

    def _same_day_close(self, at: datetime, cutoff: time | None) -> datetime:
        close = self.hours[-1][1]
        d = at.date()
        before = at.time() < min(cutoff, close) if cutoff is not None else at.time() < close
        if not (self.is_workday(d) and before):
            d = self._next_workday(d)
        return datetime.combine(d, close, self.tz)

    def _next_workday(self, d: date) -> date:
        for _ in range(MAX_SEARCH_DAYS):
            d += timedelta(days=1)
            if self.is_workday(d):
                return d
        raise ValueError(f"no workday within {MAX_SEARCH_DAYS} days after {d}: check the calendar overrides")

    def _add_seconds(self, at: datetime, seconds: float) -> datetime:
        left = seconds
        d = at.date()
        for _ in range(MAX_SEARCH_DAYS):
            for a, b in self._intervals(d):
                if b <= at:
                    continue
                begin = max(a, at)
                available = (b - begin).total_seconds()
                if left <= available:
                    return begin + timedelta(seconds=left)
                left -= available
            d += timedelta(days=1)
        raise ValueError(f"no working time within {MAX_SEARCH_DAYS} days after {at}: check the calendar overrides")

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working seconds between ``start`` and ``end`` (0 when ``end`` is not after ``start``)."""
        a0, b0 = self._local(start), self._local(end)
        if b0 <= a0:
            return 0.0
        total = 0.0
        d = a0.date()
        while d <= b0.date():
            for a, b in self._intervals(d):
                lo, hi = max(a, a0), min(b, b0)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            d += timedelta(days=1)
        return total

    def point(self, start: datetime, end: datetime, fraction: float) -> datetime:
        """The instant when ``fraction`` of the working time between ``start`` and ``end`` has passed
        (e.g. 0.5 and 0.8 for reminders). Without working time in between, the wall-clock fraction."""
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        total = self.working_seconds(start, end)
        if total <= 0:
            return (start + (end - start) * fraction).astimezone(UTC) if end > start else end.astimezone(UTC)
        if fraction in (0, 1):
            return (start if fraction == 0 else end).astimezone(UTC)
        return self._add_seconds(self._local(start), total * fraction).astimezone(UTC)
