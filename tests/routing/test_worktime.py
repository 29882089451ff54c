"""Working time on China's official calendar: holidays, 调休 make-up workdays, overrides, missing years."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.worktime import SHANGHAI, WorkCalendar, WorkSpan, package_years, parse_hours


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def test_national_day_2026_and_its_make_up_saturday() -> None:
    cal = WorkCalendar()
    # 2026: Oct 1–7 off (Thu–Wed); Sat Oct 10 is the 调休 make-up workday; Sun Oct 11 off.
    week = {date(2026, 9, 30) + timedelta(days=i): None for i in range(13)}
    got = {d: cal.is_workday(d) for d in week}
    assert got[date(2026, 9, 30)] is True
    assert not any(got[date(2026, 10, d)] for d in range(1, 8))
    assert got[date(2026, 10, 8)] and got[date(2026, 10, 9)]
    assert got[date(2026, 10, 10)] is True  # Saturday, make-up workday
    assert got[date(2026, 10, 11)] is False
    assert got[date(2026, 10, 12)] is True
    # a 4h accept deadline set on the eve of the holiday at 16:00 runs 1.5h then, 2.5h on Thu Oct 8
    due = cal.add(local(2026, 9, 30, 16), WorkSpan(hours=4))
    assert due == local(2026, 10, 8, 11).astimezone(UTC)
    # "2 working days" from Fri Oct 9: Sat Oct 10 (make-up) then Mon Oct 12, at the close of day
    assert cal.add(local(2026, 10, 9, 10), WorkSpan(days=2)) == local(2026, 10, 12, 17, 30).astimezone(UTC)
    # the working time across the holiday week: Sep 30 (7.5h) + Oct 8, 9, 10 (3 × 7.5h)
    assert cal.working_seconds(local(2026, 9, 30), local(2026, 10, 11)) == 4 * 7.5 * 3600


def test_a_year_the_package_lacks_falls_back_to_monday_to_friday() -> None:
    assert 2027 not in package_years()
    cal = WorkCalendar()
    assert cal.is_workday(date(2027, 1, 1)) is True  # a Friday; the package would know it is New Year's Day
    assert cal.is_workday(date(2027, 1, 2)) is False
    assert cal.missing_years({2026, 2027}) == {2027}
    assert cal.fallback_years == {2027}
    due = cal.add(local(2027, 1, 1, 17), WorkSpan(hours=1))
    assert due == local(2027, 1, 4, 9).astimezone(UTC)  # Friday 17:00 + 1h → Monday 09:00
    # Thu Dec 31 + 3 working days: Fri Jan 1 (a workday by the fallback), Mon Jan 4, Tue Jan 5
    assert cal.add(local(2026, 12, 31, 9), WorkSpan(days=3)) == local(2027, 1, 5, 17, 30).astimezone(UTC)


def test_admin_overrides_win_and_a_loaded_year_is_no_longer_missing() -> None:
    notice = {date(2027, 1, 1): False, date(2027, 2, 6): True}  # a holiday notice loaded as data
    cal = WorkCalendar(notice, loaded_years=[2027])
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.is_workday(date(2027, 2, 6)) is True  # a Saturday made a workday
    assert cal.missing_years({2027}) == set()
    assert WorkCalendar({date(2026, 10, 10): False}).is_workday(date(2026, 10, 10)) is False  # beats the package


def test_spans_parse_and_print() -> None:
    assert WorkSpan.parse("4h") == WorkSpan(hours=4)
    assert WorkSpan.parse("30m") == WorkSpan(hours=0.5)
    assert WorkSpan.parse("2d") == WorkSpan(days=2)
    assert WorkSpan.parse("1d4h") == WorkSpan(hours=4, days=1)
    assert [str(WorkSpan.parse(x)) for x in ("4h", "30m", "2d", "1d4h")] == ["4h", "30m", "2d", "1d4h"]
    for bad in ("", "4", "h", "-1h", "4x", "2 days"):
        with pytest.raises(ValueError):
            WorkSpan.parse(bad)
    assert parse_hours("09:00-12:00,14:00-18:00") == ((time(9), time(12)), (time(14), time(18)))
    for bad in ("9-12", "12:00-09:00", "08:00-12:00,11:00-13:00"):
        with pytest.raises(ValueError):
            parse_hours(bad)


def test_outside_hours_the_clock_starts_at_the_next_working_period() -> None:
    cal = WorkCalendar()
    assert cal.add(local(2026, 11, 23, 12, 30), WorkSpan(hours=1)) == local(2026, 11, 23, 14, 30).astimezone(UTC)
    assert cal.add(local(2026, 11, 23, 20), WorkSpan(hours=0.5)) == local(2026, 11, 24, 9).astimezone(UTC)
    assert cal.is_working_time(local(2026, 11, 23, 9)) and not cal.is_working_time(local(2026, 11, 23, 12, 30))
    with pytest.raises(ValueError):
        cal.add(datetime(2026, 11, 23, 9), WorkSpan(hours=1))  # naive


def test_points_between_two_instants_are_in_working_time() -> None:
    cal = WorkCalendar()
    start, end = local(2026, 11, 23, 16), local(2026, 11, 24, 10, 30)  # 1.5h + 2h of working time
    assert cal.point(start, end, 0.5) == local(2026, 11, 24, 8, 45).astimezone(UTC)
    assert cal.point(start, end, 1) == end.astimezone(UTC)
    assert cal.point(start, end, 0) == start.astimezone(UTC)
    night = local(2026, 11, 23, 18), local(2026, 11, 23, 20)
    assert cal.point(*night, 0.5) == local(2026, 11, 23, 19).astimezone(UTC)


@given(start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
       hours=st.floats(min_value=0.1, max_value=60), days=st.integers(min_value=0, max_value=10))
def test_adding_hours_adds_exactly_that_working_time(start: datetime, hours: float, days: int) -> None:
    cal = WorkCalendar()
    begin = start.replace(tzinfo=SHANGHAI)
    due = cal.add(begin, WorkSpan(hours=hours))
    assert due.tzinfo is not None and due >= begin
    assert cal.working_seconds(begin, due) == pytest.approx(hours * 3600, abs=1e-3)
    day_end = cal.add(begin, WorkSpan(days=days + 1))
    assert day_end.astimezone(SHANGHAI).time() == time(17, 30)
    assert cal.is_workday(day_end.astimezone(SHANGHAI).date())


@given(start=st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2027, 3, 1)),
       length=st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=20)),
       fraction=st.sampled_from([0.5, 0.8]))
def test_reminder_points_split_the_working_time(start: datetime, length: timedelta, fraction: float) -> None:
    cal = WorkCalendar()
    begin = start.replace(tzinfo=SHANGHAI)
    end = begin + length
    at = cal.point(begin, end, fraction)
    assert begin <= at <= end
    total = cal.working_seconds(begin, end)
    if total > 0:
        assert cal.working_seconds(begin, at) == pytest.approx(total * fraction, abs=1e-3)


def test_same_day_spans_end_at_todays_close_or_the_next_workdays() -> None:
    cal = WorkCalendar()
    close = local(2026, 12, 1, 17, 30).astimezone(UTC)  # Tuesday
    assert cal.add(local(2026, 12, 1, 10), WorkSpan.parse("today")) == close
    assert cal.add(local(2026, 12, 1, 7), WorkSpan.parse("today")) == close  # before opening: still today
    assert cal.add(local(2026, 12, 1, 17, 30), WorkSpan.parse("today")) == local(2026, 12, 2, 17, 30).astimezone(UTC)
    cut = WorkSpan.parse("today<16:00")
    assert cal.add(local(2026, 12, 1, 15, 59), cut) == close
    assert cal.add(local(2026, 12, 1, 16, 0), cut) == local(2026, 12, 2, 17, 30).astimezone(UTC)
    # received on Saturday: Monday's close; over the 2026 National Day holiday: Thu Oct 8's close
    assert cal.add(local(2026, 12, 5, 10), cut) == local(2026, 12, 7, 17, 30).astimezone(UTC)
    assert cal.add(local(2026, 10, 2, 10), WorkSpan.parse("today")) == local(2026, 10, 8, 17, 30).astimezone(UTC)
    assert (str(cut), str(WorkSpan.parse(" today "))) == ("today<16:00", "today")
    for bad in ("today<25:00", "today2d", "today<16", "tomorrow"):
        with pytest.raises(ValueError):
            WorkSpan.parse(bad)
    with pytest.raises(ValueError):
        WorkSpan(days=1, same_day=True)
