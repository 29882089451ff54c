"""Routing rules and the working-time calendar over HTTP (changes: admins only)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from routing_svc.domain.locate import Located, UnitInfo, climb_to, locate
from routing_svc.domain.rules import DEFAULT_RULES_FILE, CaseFacts, Decision, RuleSet, RulesInvalid, default_rules
from routing_svc.handlers import RoutingDeps
from routing_svc.rules import (
    YAML_TYPES,
    active_version,
    day_source,
    load_year,
    parse_rules_body,
    publish_calendar,
    put_days,
    save_rules,
)
from routing_svc.tables import CalendarDay, CalendarYear, RuleVersion
from shared.auth import CurrentUser, Principal, Role
from shared.clock import SHANGHAI
from shared.events.case import Channel, Level, RequestType, RiskLevel, Track
from shared.problems import Problem, require_aware
from shared.runtime import SessionDep
from shared.worktime import package_years

router = APIRouter(prefix="/api/v1")
MAX_RULES_BYTES = 1_000_000


def _deps(request: Request) -> RoutingDeps:
    deps: RoutingDeps = request.app.state.deps
    return deps


def _admin(user: Principal, what: str) -> None:
    if not user.has_any(Role.ADMIN):
        raise Problem(403, "forbidden_role", f"only admins change {what}")


# --- rules -----------------------------------------------------------------------------------------


class RulesVersionInfo(BaseModel):
    version: int  # 0 = the shipped default rules, never saved
    created_by: str
    created_at: datetime | None
    comment: str
    changes: list[str]


class RulesPublic(RulesVersionInfo):
    document: dict[str, Any]


def _info(row: RuleVersion) -> dict[str, Any]:
    return dict(version=row.version, created_by=row.created_by, created_at=row.created_at, comment=row.comment,
                changes=row.changes)


def _wants_yaml(accept: str | None) -> bool:
    return bool(accept) and any(t in (accept or "") for t in YAML_TYPES[:4])


@router.get("/rules", response_model=RulesPublic, tags=["rules"])
async def get_rules(session: SessionDep, user: CurrentUser, response: Response,
                    accept: Annotated[str | None, Header()] = None) -> Any:
    """The active rules (JSON; ``Accept: application/yaml`` gives the text as it was saved). ETag = version."""
    row = await active_version(session)
    if row is None:
        source, info = DEFAULT_RULES_FILE.read_text(encoding="utf-8"), dict(
            version=0, created_by="system", created_at=None, comment="shipped default rules", changes=[])
        document = default_rules().source
    else:
        source, info, document = row.source, _info(row), row.document
    etag = f'"{info["version"]}"'
    if _wants_yaml(accept):
        return Response(source, media_type="application/yaml; charset=utf-8", headers={"ETag": etag})
    response.headers["ETag"] = etag
    return RulesPublic(**info, document=document)


@router.get("/rules/versions", response_model=list[RulesVersionInfo], tags=["rules"])
async def rule_versions(session: SessionDep, user: CurrentUser,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RulesVersionInfo]:
    """The version history, newest first: who, when, the comment and what changed."""
    rows = (await session.execute(
        select(RuleVersion).order_by(RuleVersion.version.desc()).limit(limit)  # type: ignore[attr-defined]
    )).scalars()
    return [RulesVersionInfo(**_info(r)) for r in rows]


@router.get("/rules/versions/{version}", response_model=RulesPublic, tags=["rules"])
async def rule_version(version: int, session: SessionDep, user: CurrentUser) -> RulesPublic:
    row = await session.get(RuleVersion, version)
    if row is None:
        raise Problem(404, "rules_version_not_found", f"no rules version {version}")
    return RulesPublic(**_info(row), document=row.document)


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Problem(422, "validation_failed", "If-Match must be a rules version ETag, e.g. \"3\"",
                      errors=[{"field": "header.if-match", "reason": "not a version ETag", "code": "invalid"}])
    return int(raw)


@router.put("/rules", response_model=RulesPublic, tags=["rules"],
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}}}}})
async def put_rules(request: Request, session: SessionDep, user: CurrentUser, response: Response,
                    comment: Annotated[str, Query(max_length=500)] = "",
                    if_match: Annotated[str | None, Header()] = None,
                    content_type: Annotated[str, Header()] = "") -> RulesPublic:
    """Save a new rules version (YAML or JSON by ``Content-Type``); every replica applies it without restart.

    Invalid documents answer 422 with ``errors[].field`` like ``rules[2].when.amount_involved``;
    ``If-Match: "<version>"`` guards against overwriting someone else's change (412)."""
    _admin(user, "the routing rules")
    body = await request.body()
    if len(body) > MAX_RULES_BYTES:
        raise Problem(413, "too_large", f"a rules document is at most {MAX_RULES_BYTES} bytes")
    rules, source = parse_rules_body(body, content_type)
    deps = _deps(request)
    async with session.begin():
        row = await save_rules(session, rules, source, who=user.sub, comment=comment, now=deps.clock.now(),
                               if_match=_if_match(if_match))
        out = RulesPublic(**_info(row), document=row.document)
    deps.rules.invalidate()
    response.headers["ETag"] = f'"{row.version}"'
    return out


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grid_id: str | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lng: float | None = Field(default=None, ge=-180, le=180)
    address: str | None = Field(default=None, max_length=500)


class EvaluateBody(BaseModel):
    """A case description for a dry run. Give ``unit_id`` (the located unit) or a ``location``."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=64)
    request_type: RequestType = RequestType.DISPUTE
    risk_level: RiskLevel = RiskLevel.BLUE
    risk_signals: list[str] = Field(default_factory=list, max_length=50)
    channel: Channel = Channel.WALK_IN
    people_involved: int | None = Field(default=None, ge=0)
    amount_involved: float | None = Field(default=None, ge=0)
    unit_id: str | None = Field(default=None, max_length=64)
    location: LocationIn | None = None
    at: datetime | None = Field(default=None, description="when the case arrives (default: now); with an offset")
    deadline_days: int | None = Field(default=None, ge=1, le=365)
    urgent: bool = False
    document: dict[str, Any] | None = Field(default=None, description="a draft rules document to try instead")


class TraceOut(BaseModel):
    rule_id: str
    matched: bool
    why: str


class DeadlinesOut(BaseModel):
    accept: str
    resolve: str | None
    escalate_on_resolve_overdue: bool


class TaskForceOut(BaseModel):
    lead: str
    plan: str


class DecisionOut(BaseModel):
    rule_id: str
    level: Level | None
    unit_id: str | None
    target_unit_id: str
    track: Track
    forces: list[str]
    deadlines: DeadlinesOut
    task_force: TaskForceOut | None
    explanation: str
    trace: list[TraceOut]


class LocatedOut(BaseModel):
    unit_id: str
    unit_name: str
    level: Level
    method: str
    explanation: str


class EvaluateResult(BaseModel):
    version: int | None  # None when a draft document was evaluated
    located: LocatedOut
    working_time: bool
    decision: DecisionOut
    accept_due_at: datetime
    resolve_due_if_accepted_at_once: datetime | None


def decision_out(d: Decision, target: UnitInfo) -> DecisionOut:
    return DecisionOut(
        rule_id=d.rule_id, level=d.level, unit_id=d.unit_id, target_unit_id=target.id, track=d.track,
        forces=list(d.forces), explanation=d.explanation,
        deadlines=DeadlinesOut(accept=str(d.deadlines.accept),
                               resolve=str(d.deadlines.resolve) if d.deadlines.resolve else None,
                               escalate_on_resolve_overdue=d.deadlines.escalate_on_resolve_overdue),
        task_force=TaskForceOut(lead=d.task_force.lead, plan=str(d.task_force.plan)) if d.task_force else None,
        trace=[TraceOut(rule_id=s.rule_id, matched=s.matched, why=s.why) for s in d.trace],
    )


@router.post("/rules/evaluate", response_model=EvaluateResult, tags=["rules"])
async def evaluate(body: EvaluateBody, request: Request, session: SessionDep, user: CurrentUser) -> EvaluateResult:
    """Dry run: where would this case go, on which track, with which deadlines — and the trace of why."""
    deps = _deps(request)
    require_aware(body.at, "at")
    if body.document is not None:
        try:
            rules, version = RuleSet.parse(body.document), None
        except RulesInvalid as exc:
            raise Problem(422, "invalid_rules", f"the draft rules are invalid: {exc}",
                          errors=[{**e, "field": f"document.{e['field']}"} for e in exc.errors]) from None
    else:
        rules = await deps.rules.get(session)
        version = deps.rules.version
    units = await deps.units.get(session)
    calendar = await deps.calendar.get(session)
    if body.unit_id is not None:
        if body.unit_id not in units:
            raise Problem(422, "validation_failed", f"no active unit {body.unit_id}",
                          errors=[{"field": "unit_id", "reason": "unknown or inactive unit", "code": "unknown_unit"}])
        u = units[body.unit_id]
        located = Located(u, "given", f"unit given: {u.id} {u.name}")
    else:
        loc = body.location or LocationIn()
        found = locate(loc.grid_id, loc.address, units, lat=loc.lat, lng=loc.lng)
        if found is None:
            raise Problem(409, "no_org", "no org units are imported yet, so nothing can be located")
        located = found
    at = body.at or deps.clock.now()
    local = at.astimezone(SHANGHAI)
    working = calendar.is_working_time(at)
    facts = CaseFacts(
        category=body.category, request_type=body.request_type.value, risk_level=body.risk_level.value,
        risk_signals=frozenset(body.risk_signals), channel=body.channel.value, people_involved=body.people_involved,
        amount_involved=body.amount_involved, unit_path=located.unit.path, unit_level=located.unit.level,
        local_time=local, working_time=working, deadline_days=body.deadline_days, urgent=body.urgent,
    )
    decision = rules.evaluate(facts)
    if decision.unit_id is not None and decision.unit_id in units:
        target = units[decision.unit_id]
    else:
        target = climb_to(located.unit, decision.level, units) if decision.level else located.unit
    accept_due = calendar.add(at, decision.deadlines.accept)
    resolve_due = calendar.add(accept_due, decision.deadlines.resolve) if decision.deadlines.resolve else None
    return EvaluateResult(
        version=version, working_time=working, decision=decision_out(decision, target),
        located=LocatedOut(unit_id=located.unit.id, unit_name=located.unit.name, level=located.unit.level,
                           method=located.method, explanation=located.explanation),
        accept_due_at=accept_due, resolve_due_if_accepted_at_once=resolve_due,
    )


# --- calendar --------------------------------------------------------------------------------------


class DayOut(BaseModel):
    day: date
    is_workday: bool
    source: str  # override | official | loaded | fallback
    note: str = ""


class DayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date
    is_workday: bool
    note: str = Field(default="", max_length=200)


class DaysPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[DayIn] = Field(default_factory=list, max_length=400)
    remove: list[date] = Field(default_factory=list, max_length=400)


class YearNotice(BaseModel):
    """A year's official holiday notice (国务院办公厅关于XXXX年部分节假日安排的通知) as data.

    ``holidays``: days off (``YYYY-MM-DD`` or a range ``YYYY-MM-DD/YYYY-MM-DD``); ``workdays``: the 调休
    make-up workdays (usually weekends). Replaces every override of that year."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)
    holidays: list[str] = Field(default_factory=list, max_length=200)
    workdays: list[str] = Field(default_factory=list, max_length=100)


class YearOut(BaseModel):
    year: int
    source: str  # official | loaded | missing
    note: str = ""
    loaded_by: str | None = None
    loaded_at: datetime | None = None


@router.get("/calendar/days", response_model=list[DayOut], tags=["calendar"])
async def calendar_days(request: Request, session: SessionDep, user: CurrentUser,
                        from_: Annotated[date | None, Query(alias="from")] = None,
                        to: date | None = None) -> list[DayOut]:
    """The effective calendar from ``from`` to ``to`` (default: the next 31 days; at most 366), each day with
    where its answer comes from."""
    deps = _deps(request)
    start = from_ or deps.clock.now().astimezone(SHANGHAI).date()
    end = to or start + timedelta(days=30)
    if end < start or (end - start).days > 365:
        raise Problem(422, "validation_failed", "to must be on or after from, at most 366 days later",
                      errors=[{"field": "query.to", "reason": "bad range", "code": "invalid_range"}])
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
async def put_calendar_days(body: DaysPut, request: Request, session: SessionDep,
                            user: CurrentUser) -> list[DayOut]:
    """Set (``days``) or drop (``remove``) admin overrides; every replica reloads the calendar."""
    _admin(user, "the calendar")
    deps = _deps(request)
    both = sorted({d.day for d in body.days} & set(body.remove))
    if both:
        raise Problem(422, "validation_failed", f"days both set and removed: {[str(d) for d in both]}",
                      errors=[{"field": "remove", "reason": "also in days", "code": "conflict"}])
    async with session.begin():
        await put_days(session, [(d.day, d.is_workday, d.note) for d in body.days], body.remove, who=user.sub,
                       now=deps.clock.now())
        await publish_calendar(session, deps.source)
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
async def put_calendar_year(year: Annotated[int, PathParam(ge=2000, le=2100)], body: YearNotice, request: Request,
                            session: SessionDep, user: CurrentUser) -> YearOut:
    """Load a year's official holiday notice as data; the year then counts as covered (no fallback)."""
    _admin(user, "the calendar")
    holidays, workdays = _dates(body.holidays, year, "holidays"), _dates(body.workdays, year, "workdays")
    clash = sorted(set(holidays) & set(workdays))
    if clash:
        raise Problem(422, "validation_failed", f"days both holiday and workday: {[str(d) for d in clash]}",
                      errors=[{"field": "workdays", "reason": "also a holiday", "code": "conflict"}])
    deps = _deps(request)
    now = deps.clock.now()
    async with session.begin():
        await load_year(session, year, [(d, body.note[:200]) for d in holidays],
                        [(d, body.note[:200]) for d in workdays], note=body.note, who=user.sub, now=now)
        await publish_calendar(session, deps.source)
    deps.calendar.invalidate()
    return YearOut(year=year, source="loaded", note=body.note, loaded_by=user.sub, loaded_at=now)


@router.get("/calendar/years", response_model=list[YearOut], tags=["calendar"])
async def calendar_years(request: Request, session: SessionDep, user: CurrentUser) -> list[YearOut]:
    """Which years have an official calendar (package or loaded notice) — from the package's first year to two
    years ahead — and which fall back to Monday–Friday."""
    deps = _deps(request)
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
