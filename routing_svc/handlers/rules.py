"""Rules and calendar handlers: saving a rules version, the admin overrides and a year's holiday notice, and
publishing the calendar (``fq.org.calendar_changed.v1``) so the services that count working time too use the same
days. The caller owns the transaction; every replica's caches reload on the revision they bump."""

from __future__ import annotations

from datetime import date, datetime

import structlog
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.rules import RuleSet, RulesInvalid, default_rules, describe_changes
from routing_svc.store.revisions import (
    Revision,
    bump_revision,
    calendar_revision,
    lock_calendar,
    lock_rule_versions,
)
from routing_svc.tables import CalendarDay, CalendarYear, RuleVersion
from shared.bus.outbox import add_event
from shared.events import CalendarChanged, CalendarDayOverride
from shared.preconditions import check_version
from shared.worktime import WorkCalendar, package_years

log = structlog.get_logger(__name__)


# --- rules -----------------------------------------------------------------------------------------


async def active_version(session: AsyncSession) -> RuleVersion | None:
    return (await session.execute(
        select(RuleVersion).order_by(RuleVersion.version.desc()).limit(1)  # type: ignore[attr-defined]
    )).scalar_one_or_none()


async def save_rules(session: AsyncSession, rules: RuleSet, source: str, *, who: str, comment: str,
                     now: datetime, if_match: int) -> RuleVersion:
    """Store ``rules`` as the next version (serialised across replicas by an advisory lock)."""
    await lock_rule_versions(session)
    current = await active_version(session)
    current_no = current.version if current else 0
    check_version(current_no, if_match, "routing rules")
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


# --- calendar --------------------------------------------------------------------------------------


async def check_calendar(session: AsyncSession, if_match: int) -> None:
    """Before a calendar change: lock the calendar revision (its ETag) and 412 unless it is ``if_match``."""
    check_version(await lock_calendar(session), if_match, "calendar")


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
    await bump_revision(session, Revision.CALENDAR)  # every replica reloads the calendar


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
