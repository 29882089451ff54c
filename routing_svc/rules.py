"""Rules and the working-time calendar: versioned storage, and caches every replica keeps fresh.

Each replica holds the active ``RuleSet`` and ``WorkCalendar`` in memory and checks a cheap revision (the
highest rule version; the calendar revision row) at most every ``check_seconds``: a new version saved on
any replica is applied by all of them without a restart. The replica that saved it applies it at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.locate import UnitInfo
from routing_svc.domain.rules import (
    CaseFacts,
    RuleSet,
    RulesInvalid,
    default_rules,
    describe_changes,
    load_document,
)
from routing_svc.tables import SCHEMA, CalendarDay, CalendarYear, RuleVersion
from shared.bus.outbox import add_event
from shared.clock import SHANGHAI, Clock
from shared.events import CalendarChanged, CalendarDayOverride, CaseReceived
from shared.problems import Problem
from shared.worktime import DEFAULT_HOURS, WorkCalendar, package_years

log = structlog.get_logger(__name__)

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
LOOKAHEAD_DAYS = 60  # deadlines set today can reach this far: the next year is "in use" this close to its start


async def bump_revision(session: AsyncSession, name: str) -> None:
    await session.execute(text(f"UPDATE {SCHEMA}.revisions SET revision = revision + 1 WHERE name = :n"), {"n": name})


# --- rules -----------------------------------------------------------------------------------------


def parse_rules_body(body: bytes, content_type: str) -> tuple[RuleSet, str]:
    """A PUT body (JSON or YAML by content type) → a validated rule set and the source text; raises Problem."""
    ctype = content_type.split(";")[0].strip().lower()
    try:
        source = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "invalid_rules", "the rules document must be UTF-8 text",
                      errors=[{"field": "document", "reason": "not UTF-8", "code": "encoding"}]) from None
    try:
        if ctype == "application/json":
            try:
                doc = json.loads(source)
            except json.JSONDecodeError as exc:
                raise RulesInvalid([{"field": "document", "reason": f"not valid JSON at line {exc.lineno}, column "
                                     f"{exc.colno}: {exc.msg}", "code": "syntax"}]) from None
        elif ctype in YAML_TYPES:
            doc = load_document(source)
        else:
            raise Problem(415, "unsupported_media_type", "send the rules as application/json or application/yaml")
        return RuleSet.parse(doc), source
    except RulesInvalid as exc:
        raise Problem(422, "invalid_rules", f"the rules document is invalid: {exc}", errors=exc.errors) from None


async def active_version(session: AsyncSession) -> RuleVersion | None:
    return (await session.execute(
        select(RuleVersion).order_by(RuleVersion.version.desc()).limit(1)  # type: ignore[attr-defined]
    )).scalar_one_or_none()


async def save_rules(session: AsyncSession, rules: RuleSet, source: str, *, who: str, comment: str,
                     now: datetime, if_match: int | None) -> RuleVersion:
    """Store ``rules`` as the next version (serialised across replicas by an advisory lock)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{SCHEMA}.rule_versions"})
    current = await active_version(session)
    current_no = current.version if current else 0
    if if_match is not None and if_match != current_no:
        raise Problem(412, "version_mismatch", f"the rules are at version {current_no}, not {if_match}",
                      current_version=current_no)
    try:
        previous: RuleSet | None = RuleSet.parse(current.document) if current else default_rules()
    except RulesInvalid:  # stored under looser checks: the summary then lists everything as new
        previous = None
    row = RuleVersion(version=current_no + 1, document=rules.source, source=source, created_by=who,
                      created_at=now, comment=comment, changes=describe_changes(previous, rules))
    session.add(row)
    await session.flush()
    log.info("rules_saved", version=row.version, changes=len(row.changes))
    return row


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


def case_facts(event: CaseReceived, unit: UnitInfo, calendar: WorkCalendar, at: datetime) -> CaseFacts:
    """What the rules engine reads about a received case located at ``unit`` and arriving at ``at``."""
    return CaseFacts(
        category=event.category, request_type=event.request_type.value, risk_level=event.risk_level.value,
        risk_signals=frozenset(event.risk_signals), channel=event.channel.value,
        people_involved=event.people_involved, amount_involved=event.amount_involved, unit_path=unit.path,
        unit_level=unit.level, local_time=at.astimezone(SHANGHAI), working_time=calendar.is_working_time(at),
        deadline_days=event.deadline_days, urgent=event.urgent,
    )


# --- calendar --------------------------------------------------------------------------------------


async def bump_calendar(session: AsyncSession) -> None:
    """Mark the calendar changed (in the caller's transaction) so every replica reloads it."""
    await bump_revision(session, "calendar")


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


def day_source(cal: WorkCalendar, d: date) -> str:
    if d in cal.overrides:
        return "override"
    if d.year in package_years():
        return "official"
    return "loaded" if d.year in cal.loaded_years else "fallback"


async def put_days(session: AsyncSession, days: list[tuple[date, bool, str]], remove: list[date], *, who: str,
                   now: datetime) -> None:
    for d, workday, note in days:
        values = dict(day=d, is_workday=workday, note=note, updated_by=who, updated_at=now)
        await session.execute(insert(CalendarDay).values(**values)
                              .on_conflict_do_update(index_elements=["day"], set_=values))
    if remove:
        await session.execute(delete(CalendarDay).where(CalendarDay.day.in_(remove)))  # type: ignore[attr-defined]
    await bump_calendar(session)


async def calendar_revision(session: AsyncSession) -> int:
    """0 until an admin first changes the calendar."""
    return int((await session.execute(
        text(f"SELECT revision FROM {SCHEMA}.revisions WHERE name = 'calendar'"))).scalar() or 0)


async def publish_calendar(session: AsyncSession, source: str) -> None:
    """In the caller's transaction, after a change: the whole calendar as ``fq.org.calendar_changed.v1``, so the
    services that compute working time too (notify's reminders) use the same days as routing's deadlines."""
    revision = await calendar_revision(session)
    days = (await session.execute(select(CalendarDay.day, CalendarDay.is_workday)
                                  .order_by(CalendarDay.day))).all()  # type: ignore[arg-type]
    years = (await session.execute(select(CalendarYear.year).order_by(CalendarYear.year))).scalars().all()
    await add_event(session, CalendarChanged(
        revision=revision,
        overrides=[CalendarDayOverride(day=d, is_workday=w) for d, w in days], loaded_years=list(years),
    ), source=source)


async def load_year(session: AsyncSession, year: int, holidays: list[tuple[date, str]],
                    workdays: list[tuple[date, str]], *, note: str, who: str, now: datetime) -> None:
    """Replace a year's overrides with its holiday notice and mark the year loaded."""
    await session.execute(delete(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1),  # type: ignore[attr-defined]
                                                                            date(year, 12, 31))))
    await put_days(session, [(d, False, n) for d, n in holidays] + [(d, True, n) for d, n in workdays], [],
                   who=who, now=now)
    values = dict(year=year, note=note, loaded_by=who, loaded_at=now)
    await session.execute(insert(CalendarYear).values(**values)
                          .on_conflict_do_update(index_elements=["year"], set_=values))

