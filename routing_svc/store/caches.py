"""The caches every replica keeps fresh: the active org units (for locating; with their responsible leaders, for
the default 包案领导), the active rule set and the working-time calendar.

Each checks a cheap revision (the org revision row; the highest rule version; the calendar revision row) — the
rules and calendar at most every ``check_seconds`` — so a change saved on any replica is applied by all of them
without a restart. The replica that saved it applies it at once (``invalidate``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.locate import UnitInfo, polygon_of
from routing_svc.domain.rules import RuleSet, RulesInvalid, default_rules
from routing_svc.store.revisions import Revision, calendar_revision, revision
from routing_svc.tables import CalendarDay, CalendarYear, OrgUnit, RuleVersion
from shared.clock import SHANGHAI, Clock
from shared.events.case import Level
from shared.worktime import DEFAULT_HOURS, WorkCalendar

log = structlog.get_logger(__name__)

LOOKAHEAD_DAYS = 60  # deadlines set today can reach this far: the next year is "in use" this close to its start


class UnitCache:
    """Active units for locating, reloaded only when the org changed (any replica's change bumps the stamp)."""

    def __init__(self) -> None:
        self._stamp: int | None = None
        self._units: dict[str, UnitInfo] = {}

    async def get(self, session: AsyncSession) -> dict[str, UnitInfo]:
        stamp = await revision(session, Revision.ORG)
        if stamp != self._stamp:
            rows = (await session.execute(select(OrgUnit).where(OrgUnit.active.is_(True)))).scalars()  # type: ignore[attr-defined]
            self._units = {u.id: UnitInfo(u.id, u.name, Level(u.level), u.parent_id, tuple(u.path),
                                          tuple(u.address_keywords), polygon_of(u.polygon),
                                          tuple((x["member_id"], x.get("title") or "") for x in u.leaders or ()))
                           for u in rows}
            self._stamp = stamp
        return self._units


class RulesCache:
    """The active rule set of this replica; reloads when any replica saved a newer version."""

    def __init__(self, check_seconds: float = 1.0) -> None:
        self.check_seconds = check_seconds
        self.version = -1
        self._rules: RuleSet = default_rules()
        self._checked = float("-inf")

    def invalidate(self) -> None:
        self._checked = float("-inf")

    async def get(self, session: AsyncSession) -> RuleSet:
        if time.monotonic() - self._checked < self.check_seconds and self.version >= 0:
            return self._rules
        latest = (await session.execute(select(func.max(RuleVersion.version)))).scalar() or 0
        self._checked = time.monotonic()
        if latest != self.version:
            if latest == 0:
                self._rules = default_rules()
            else:
                row = await session.get(RuleVersion, latest)
                try:
                    self._rules = RuleSet.parse(row.document)  # type: ignore[union-attr]
                except RulesInvalid as exc:  # stored by an older release with looser checks: keep what works
                    log.error("stored_rules_invalid", version=latest, error=str(exc)[:300])
            log.info("rules_loaded", version=latest)
            self.version = latest
        return self._rules


def years_in_use(today: date) -> set[int]:
    return {today.year, (today + timedelta(days=LOOKAHEAD_DAYS)).year}


class CalendarCache:
    """The working-time calendar with the admin overrides; reloads when the calendar revision changes.

    Keeps the gap visible: years in use with neither official data nor a loaded holiday notice are logged
    once, exported as ``fq_calendar_missing_year{year}`` and named in ``/readyz`` details.
    """

    def __init__(self, hours: Iterable[Any] = DEFAULT_HOURS, clock: Clock | None = None,
                 check_seconds: float = 1.0) -> None:
        self.hours = tuple(hours)
        self.clock = clock or Clock()
        self.check_seconds = check_seconds
        self.revision = -1
        self._calendar = WorkCalendar(hours=self.hours)
        self._checked = float("-inf")
        self._gauge: Gauge | None = None
        self.missing: set[int] = set()
        self._warned: set[int] = set()

    def bind_metrics(self, registry: CollectorRegistry) -> None:
        self._gauge = Gauge("fq_calendar_missing_year", "1 for a year in use without an official calendar "
                            "(Monday–Friday fallback)", ["year"], registry=registry)

    def invalidate(self) -> None:
        self._checked = float("-inf")

    async def get(self, session: AsyncSession) -> WorkCalendar:
        if time.monotonic() - self._checked >= self.check_seconds or self.revision < 0:
            revision = await calendar_revision(session)
            self._checked = time.monotonic()
            if revision != self.revision:
                days = (await session.execute(select(CalendarDay.day, CalendarDay.is_workday))).all()
                years = (await session.execute(select(CalendarYear.year))).scalars().all()
                self._calendar = WorkCalendar({d: w for d, w in days}, hours=self.hours, loaded_years=years)
                self.revision = revision or 0
                log.info("calendar_loaded", revision=self.revision, overrides=len(days), loaded_years=sorted(years))
        self._watch_gap()
        return self._calendar

    def _watch_gap(self) -> None:
        cal = self._calendar
        today = self.clock.now().astimezone(SHANGHAI).date()
        missing = cal.missing_years(years_in_use(today) | cal.fallback_years)
        if missing == self.missing:
            return
        for year in sorted(missing - self._warned):
            log.warning("calendar_year_missing", year=year, fallback="monday_to_friday",
                        fix=f"PUT /api/v1/calendar/years/{year}")
            self._warned.add(year)
        if self._gauge is not None:
            for year in self.missing - missing:
                self._gauge.labels(year=str(year)).set(0)
            for year in missing:
                self._gauge.labels(year=str(year)).set(1)
        self.missing = missing

    def gap_detail(self) -> str:
        if not self.missing:
            return "ok"
        years = ", ".join(str(y) for y in sorted(self.missing))
        return (f"no official holiday calendar for {years}: working time falls back to Monday–Friday; "
                f"load the holiday notice with PUT /api/v1/calendar/years/{{year}}")
