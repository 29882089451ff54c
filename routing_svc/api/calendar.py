"""The working-time calendar over HTTP: the effective days and years, admin overrides and a year's holiday notice
(changes: admins only; each publishes ``fq.org.calendar_changed.v1``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi import Path as PathParam
from sqlalchemy import select

from routing_svc.api.rules import admin_only
from routing_svc.deps import Deps
from routing_svc.handlers.rules import check_calendar, day_source, load_year, publish_calendar, put_days
from routing_svc.schemas_rules import DayOut, DaysPut, YearNotice, YearOut
from routing_svc.store.revisions import calendar_revision
from routing_svc.tables import CalendarDay, CalendarYear
from shared.auth import CurrentUser
from shared.bus import pending
from shared.clock import SHANGHAI
from shared.inputs import IsoDate
from shared.preconditions import etag, parse_if_match
from shared.problems import Problem
from shared.runtime import SessionDep
from shared.worktime import package_years

router = APIRouter(prefix="/api/v1")
# read in the body, after the admin check (a non-admin gets 403 before 428)
IfMatchHeader = Annotated[str | None, Header(max_length=64)]


@router.get("/calendar/days", response_model=list[DayOut], tags=["calendar"])
async def calendar_days(deps: Deps, session: SessionDep, user: CurrentUser, response: Response,
                        from_: Annotated[IsoDate | None, Query(alias="from")] = None,
                        to: IsoDate | None = None) -> list[DayOut]:
    """The effective calendar from ``from`` to ``to`` (default: the next 31 days; at most 366), each day with
    where its answer comes from. ``ETag`` is the calendar's revision: a change sends it back as ``If-Match``."""
    start = from_ or deps.clock.now().astimezone(SHANGHAI).date()
    end = to or start + timedelta(days=30)
    if end < start or (end - start).days > 365:
        raise Problem(422, "validation_failed", "to must be on or after from, at most 366 days later",
                      errors=[{"field": "query.to", "reason": "bad range", "code": "invalid_range"}])
    response.headers["ETag"] = etag(await calendar_revision(session))
    cal = await deps.calendar.get(session)
    notes = {r.day: r.note for r in (await session.execute(
        select(CalendarDay).where(CalendarDay.day.between(start, end)))).scalars()}  # type: ignore[attr-defined]
    out = []
    d = start
    while d <= end:
        out.append(DayOut(day=d, is_workday=cal.is_workday(d), source=day_source(cal, d), note=notes.get(d, "")))
        d += timedelta(days=1)
    return out


@router.put("/calendar/days", response_model=list[DayOut], tags=["calendar"])
async def put_calendar_days(body: DaysPut, deps: Deps, session: SessionDep, user: CurrentUser, response: Response,
                            if_match: IfMatchHeader = None) -> list[DayOut]:
    """Set (``days``) or drop (``remove``) admin overrides; every replica reloads the calendar. ``If-Match``: the
    ``ETag`` of ``GET /calendar/days`` or ``/calendar/years`` (412 when the calendar changed since)."""
    admin_only(user, "the calendar")
    version = parse_if_match(if_match)
    both = sorted({d.day for d in body.days} & set(body.remove))
    if both:
        raise Problem(422, "validation_failed", f"days both set and removed: {[str(d) for d in both]}",
                      errors=[{"field": "remove", "reason": "also in days", "code": "conflict"}])
    async with pending.transaction(session):
        await check_calendar(session, version)
        await put_days(session, [(d.day, d.is_workday, d.note) for d in body.days], body.remove, who=user.sub,
                       now=deps.clock.now())
        await publish_calendar(session, deps.source)
        response.headers["ETag"] = etag(await calendar_revision(session))
    deps.calendar.invalidate()
    cal = await deps.calendar.get(session)
    return [DayOut(day=d.day, is_workday=cal.is_workday(d.day), source=day_source(cal, d.day), note=d.note)
            for d in body.days]


def _dates(items: list[str], year: int, field: str) -> list[date]:
    out: list[date] = []
    errors = []
    for i, item in enumerate(items):
        try:
            a, _, b = item.partition("/")
            first, last = date.fromisoformat(a.strip()), date.fromisoformat((b or a).strip())
            if last < first or (last - first).days > 60:
                raise ValueError("a range runs forward and spans at most 60 days")
            if first.year != year or last.year != year:
                raise ValueError(f"not in {year}")
        except ValueError as exc:
            errors.append({"field": f"{field}[{i}]", "reason": str(exc), "code": "invalid_date"})
            continue
        out += [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if errors:
        raise Problem(422, "validation_failed", "invalid dates in the holiday notice", errors=errors)
    return out


@router.put("/calendar/years/{year}", response_model=YearOut, tags=["calendar"])
async def put_calendar_year(year: Annotated[int, PathParam(ge=2000, le=2100)], body: YearNotice, deps: Deps,
                            session: SessionDep, user: CurrentUser, response: Response,
                            if_match: IfMatchHeader = None) -> YearOut:
    """Load a year's official holiday notice as data; the year then counts as covered (no fallback).
    ``If-Match``: the calendar's ``ETag``, as for ``PUT /calendar/days``."""
    admin_only(user, "the calendar")
    version = parse_if_match(if_match)
    holidays, workdays = _dates(body.holidays, year, "holidays"), _dates(body.workdays, year, "workdays")
    clash = sorted(set(holidays) & set(workdays))
    if clash:
        raise Problem(422, "validation_failed", f"days both holiday and workday: {[str(d) for d in clash]}",
                      errors=[{"field": "workdays", "reason": "also a holiday", "code": "conflict"}])
    now = deps.clock.now()
    async with pending.transaction(session):
        await check_calendar(session, version)
        await load_year(session, year, [(d, body.note[:200]) for d in holidays],
                        [(d, body.note[:200]) for d in workdays], note=body.note, who=user.sub, now=now)
        await publish_calendar(session, deps.source)
        response.headers["ETag"] = etag(await calendar_revision(session))
    deps.calendar.invalidate()
    return YearOut(year=year, source="loaded", note=body.note, loaded_by=user.sub, loaded_at=now)


@router.get("/calendar/years", response_model=list[YearOut], tags=["calendar"])
async def calendar_years(deps: Deps, session: SessionDep, user: CurrentUser,
                         response: Response) -> list[YearOut]:
    """Which years have an official calendar (package or loaded notice) — from the package's first year to two
    years ahead — and which fall back to Monday–Friday. ``ETag``: the calendar's revision."""
    response.headers["ETag"] = etag(await calendar_revision(session))
    loaded = {r.year: r for r in (await session.execute(select(CalendarYear))).scalars()}
    this_year = deps.clock.now().astimezone(SHANGHAI).year
    out = []
    for y in range(max(min(package_years()), this_year - 1), this_year + 3):
        if y in loaded:
            r = loaded[y]
            out.append(YearOut(year=y, source="loaded", note=r.note, loaded_by=r.loaded_by, loaded_at=r.loaded_at))
        else:
            out.append(YearOut(year=y, source="official" if y in package_years() else "missing"))
    return out
