"""Notify handlers: recipients from org events; notifications, reminders and surveys from case events.

The consumer owns the transaction. Inbox notifications are written here at once (with a NOTIFY for the live
streams); every other channel gets a pending delivery row that the worker sends.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import surveys
from notify_svc.channels import Contacts, HttpSmsProvider, SmsProvider, SmtpMailer, WebhookRobot
from notify_svc.config import CalendarCache, MembersCache, RulesCache, TargetsCache, TemplatesCache, outbox_row
from notify_svc.domain import templates
from notify_svc.domain.delivery import after_quiet_hours
from notify_svc.domain.rules import REMINDER, Channel, Rule, Selector, UnitRef
from notify_svc.settings import NotifySettings
from notify_svc.tables import (
    SCHEMA,
    CalendarState,
    CaseInfo,
    InboxItem,
    Recipient,
    Reminder,
    Unit,
)
from shared.bus.tables import notify_channel
from shared.clock import SHANGHAI, Clock
from shared.db import driver_connection
from shared.events import (
    CalendarChanged,
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseExtensionRejected,
    CaseOverdue,
    CaseReceived,
    CaseResolved,
    CaseResumed,
    CaseSuspended,
    CaseUrged,
    Envelope,
    HotspotAlert,
    MemberUpserted,
    NotificationDelivered,
    RiskChanged,
    UnitUpserted,
)
from shared.events.case import AssignCause, DeadlineClock, EscalationReason, Level, Track
from shared.problems import Problem
from shared.worktime import parse_hours

log = structlog.get_logger(__name__)

INBOX_CHANNEL = "fq_notify_inbox"
WAKE_CHANNEL = "fq_notify_deliveries"  # the delivery worker listens

NOTIFY_LIMIT = 7000  # NOTIFY payloads must stay under 8000 bytes


def push_payload(user_id: str, item_id: str, public: dict[str, Any]) -> str:
    """The NOTIFY payload of a new inbox item; ``public`` is the item as the stream shows it."""
    head = f"{json.dumps(user_id)}\n{item_id}\n"
    body = json.dumps(public, ensure_ascii=False)
    return head + body if len(head) + len(body.encode()) <= NOTIFY_LIMIT else head


class _Sql:
    """A hot-path statement run on the session's asyncpg connection, in its transaction: written with ``:name``
    parameters, sent as ``$n`` (asyncpg prepares it once per connection; no SQLAlchemy compile or result
    machinery per call)."""

    def __init__(self, sql: str) -> None:
        self.names: list[str] = []

        def number(m: re.Match[str]) -> str:
            if m.group(1) not in self.names:
                self.names.append(m.group(1))
            return f"${self.names.index(m.group(1)) + 1}"

        self.sql = re.sub(r"(?<![:\w]):([a-z_]+)\b", number, sql)

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        driver = await driver_connection(session)
        return list(await driver.fetch(self.sql, *(params[n] for n in self.names)))


CLOCK_ZH = {DeadlineClock.ACCEPT.value: "签收", DeadlineClock.RESOLVE.value: "办结"}
CAUSE_ZH = {AssignCause.ROUTED: "首次派发", AssignCause.RETURNED: "退单后重新派发", AssignCause.ESCALATED: "提级派发",
            AssignCause.REOPENED: "重办", AssignCause.DECIDED: "街道中心指定"}
TRACK_ZH = {Track.GENERAL: "普通门诊", Track.SPECIALIST: "专科门诊", Track.SPECIAL: "特需门诊",
            Track.FOLLOWUP: "社区门诊"}
URGE_SOURCE_ZH = {"hotline": "12345热线平台", "staff": "工作人员"}
REASON_ZH = {EscalationReason.RULE: "规则提级", EscalationReason.REQUEST: "申请提级", EscalationReason.TIMEOUT: "超时"}


class WorkPoints(Protocol):
    """The part of shared.worktime.WorkCalendar reminders need."""

    def point(self, start: datetime, end: datetime, fraction: float) -> datetime: ...


@dataclass
class NotifyDeps:
    clock: Clock
    settings: NotifySettings = field(default_factory=NotifySettings)
    source: str = "/fengqiao/notify"
    calendar: WorkPoints | None = None  # a fixed calendar (tests); None: routing's, as published (``calendars``)
    calendars: CalendarCache | None = None
    contacts: Contacts | None = None
    sms: SmsProvider | None = None
    rules: RulesCache = field(default_factory=RulesCache)
    templates: TemplatesCache = field(default_factory=TemplatesCache)
    targets: TargetsCache = field(default_factory=TargetsCache)
    members: MembersCache = field(default_factory=MembersCache)

    def __post_init__(self) -> None:
        s = self.settings
        if self.calendar is None and self.calendars is None:
            self.calendars = CalendarCache(parse_hours(s.work_hours))
        if self.contacts is None:
            self.contacts = Contacts(s)
        if self.sms is None and s.sms_url:
            self.sms = HttpSmsProvider(s.sms_url, s.sms_api_key, s.sms_signature, s.send_timeout_seconds)
        self.mailer = SmtpMailer(s)
        self.robot = WebhookRobot(s.send_timeout_seconds)


async def _work_calendar(deps: NotifyDeps, session: AsyncSession) -> WorkPoints:
    if deps.calendars is not None:
        return await deps.calendars.get(session)
    assert deps.calendar is not None
    return deps.calendar


def _local(at: datetime | None) -> str:
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if at else ""


# --- org -----------------------------------------------------------------------------------------------


async def on_member_upserted(deps: NotifyDeps, session: AsyncSession, event: MemberUpserted, env: Envelope) -> None:
    values = dict(member_id=event.member_id, unit_id=event.unit_id, roles=event.roles, forces=event.forces,
                  active=event.active)
    stmt = insert(Recipient).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["member_id"], set_=values))
    deps.members.invalidate()


async def on_unit_upserted(session: AsyncSession, event: UnitUpserted, env: Envelope) -> None:
    values = dict(unit_id=event.unit_id, name=event.name, level=event.level.value, parent_id=event.parent_id,
                  path=event.path, active=event.active)
    stmt = insert(Unit).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["unit_id"], set_=values))


# --- case facts ----------------------------------------------------------------------------------------


async def _case(session: AsyncSession, deps: NotifyDeps, case_id: uuid.UUID) -> CaseInfo:
    info = (await session.execute(select(CaseInfo).where(CaseInfo.case_id == case_id).with_for_update())
            ).scalar_one_or_none()
    if info is None:
        info = CaseInfo(case_id=case_id, unit_path=[], visible_units=[], updated_at=deps.clock.now())
        session.add(info)
    return info


async def _unit(session: AsyncSession, unit_id: str | None) -> Unit | None:
    return await session.get(Unit, unit_id) if unit_id else None


async def _unit_names(session: AsyncSession, *ids: str | None) -> dict[str, str]:
    wanted = [i for i in ids if i]
    rows = (await session.execute(select(Unit.unit_id, Unit.name).where(Unit.unit_id.in_(wanted)))).all()  # type: ignore[attr-defined]
    return {i: n for i, n in rows}


async def on_case_received(deps: NotifyDeps, session: AsyncSession, event: CaseReceived, env: Envelope) -> None:
    info = await _case(session, deps, event.case_id)
    info.case_code = event.code
    start = await _unit(session, event.location.grid_id) or await _unit(session, event.received_unit_id)
    path = list(start.path) if start else []
    if path and not info.unit_path:
        info.unit_path = path
        info.visible_units = sorted({*info.visible_units, *path})
    info.updated_at = deps.clock.now()
    await session.flush()
    await fire(session, deps, env.type, env.id, {"risk_level": event.risk_level.value},
               {"case_id": event.case_id, "case_code": event.code, "unit_id": path[-1] if path else None,
                "unit_path": path, "reasons": ""})


async def on_case_assigned(deps: NotifyDeps, session: AsyncSession, event: CaseAssigned, env: Envelope) -> None:
    """The case's facts, the accept clock's reminders (催办) and the notifications: written with the rest of the
    batch (one statement per consumer batch, see ``flush``)."""
    cal = await _work_calendar(deps, session)
    batch = _batch(session)
    if event.case_id in batch.case_ids:
        await flush(session)  # one row per case and statement
    if event.cause != AssignCause.ROUTED or event.previous_assignment_id is not None:
        await flush(session)  # the earlier assignments' reminders must be in the table to be cancelled
        await cancel_reminders(session, case_id=event.case_id, except_assignment=event.assignment_id)
    now = deps.clock.now()
    batch.case_ids.add(event.case_id)
    batch.cases.append((event.case_id, event.case_code, event.assignment_id, event.unit_id,
                        json.dumps(list(event.unit_path)), json.dumps(sorted(set(event.unit_path))), now))
    _queue_reminders(batch, deps, cal, event.assignment_id, event.case_id, event.unit_id, DeadlineClock.ACCEPT,
                     event.at, event.accept_due_at)
    await fire(session, deps, env.type, env.id, {"cause": event.cause.value, "level": event.level.value,
                                                   "track": event.track.value},
               {"case_id": event.case_id, "case_code": event.case_code, "unit_id": event.unit_id,
                "unit_name": event.unit_name, "unit_path": event.unit_path, "accept_due": _local(event.accept_due_at),
                "explanation": event.explanation, "cause": event.cause.value, "cause_label": CAUSE_ZH[event.cause],
                "track_label": TRACK_ZH[event.track]})
    if not session.info.get(DEFER):
        await flush(session)


async def on_case_accepted(deps: NotifyDeps, session: AsyncSession, event: CaseAccepted, env: Envelope) -> None:
    await cancel_reminders(session, assignment_id=event.assignment_id, clock=DeadlineClock.ACCEPT)
    await schedule_reminders(session, deps, event.assignment_id, event.case_id, event.unit_id,
                             DeadlineClock.RESOLVE, event.at, event.resolve_due_at)


async def on_case_extended(deps: NotifyDeps, session: AsyncSession, event: CaseExtended, env: Envelope) -> None:
    """The deadline moved: every reminder of that clock moves to its fraction of the new working time."""
    cal = await _work_calendar(deps, session)
    now = deps.clock.now()
    rows = (await session.execute(select(Reminder).where(
        Reminder.assignment_id == event.assignment_id, Reminder.clock == event.clock.value,
        Reminder.status.in_(("pending", "paused", "fired"))).with_for_update())).scalars()  # type: ignore[attr-defined]
    for r in rows:
        r.due_at = event.new_due_at
        r.fire_at = cal.point(r.start_at, r.due_at, r.fraction)
        if r.status == "fired" and r.fire_at > now:
            r.status = "pending"  # the later point of the longer deadline reminds again


async def on_calendar_changed(deps: NotifyDeps, session: AsyncSession, event: CalendarChanged,
                              env: Envelope) -> None:
    """Routing's working-time calendar changed: keep it (every replica reloads it) and move every pending reminder
    to its point on the new calendar. Deadlines stay where routing set them; paused ones are re-pointed on resume."""
    state = await session.get(CalendarState, 1, with_for_update=True)
    if state is not None and state.revision >= event.revision:
        return  # not newer than what is kept
    overrides = {d.day.isoformat(): d.is_workday for d in event.overrides}
    if state is None:
        session.add(CalendarState(id=1, revision=event.revision, overrides=overrides,
                                  loaded_years=list(event.loaded_years), updated_at=deps.clock.now()))
    else:
        state.revision, state.overrides, state.loaded_years = event.revision, overrides, list(event.loaded_years)
        state.updated_at = deps.clock.now()
    if deps.calendars is None:
        return  # a fixed calendar
    deps.calendars.invalidate()
    cal = deps.calendars.build(overrides, event.loaded_years)
    rows = (await session.execute(select(Reminder).where(
        Reminder.status == "pending").with_for_update())).scalars()  # type: ignore[arg-type]
    moved = 0
    for r in rows:
        fire_at = cal.point(r.start_at, r.due_at, r.fraction)
        if fire_at != r.fire_at:
            r.fire_at, moved = fire_at, moved + 1
    log.info("calendar_applied", revision=event.revision, overrides=len(overrides), reminders_moved=moved)


async def on_case_suspended(deps: NotifyDeps, session: AsyncSession, event: CaseSuspended, env: Envelope) -> None:
    await session.execute(update(Reminder).where(
        Reminder.assignment_id == event.assignment_id, Reminder.status == "pending"  # type: ignore[arg-type]
    ).values(status="paused", paused_at=event.at))


async def on_case_resumed(deps: NotifyDeps, session: AsyncSession, event: CaseResumed, env: Envelope) -> None:
    """Both clocks were paused: each reminder keeps its share of the remaining working time to the new deadline."""
    cal = await _work_calendar(deps, session)
    rows = (await session.execute(select(Reminder).where(
        Reminder.assignment_id == event.assignment_id, Reminder.status == "paused").with_for_update())).scalars()
    new_due = {DeadlineClock.ACCEPT.value: event.accept_due_at, DeadlineClock.RESOLVE.value: event.resolve_due_at}
    for r in rows:
        due = new_due.get(r.clock)
        if due is not None and r.paused_at is not None:
            shift = due - r.due_at  # the pause, as routing counted it
            r.start_at, r.due_at = r.start_at + shift, due
            r.fire_at = cal.point(r.start_at, r.due_at, r.fraction)
        r.status, r.paused_at = "pending", None


async def on_case_escalated(deps: NotifyDeps, session: AsyncSession, event: CaseEscalated, env: Envelope) -> None:
    await cancel_reminders(session, assignment_id=event.assignment_id)
    info = await _case(session, deps, event.case_id)
    names = await _unit_names(session, event.from_unit_id, event.to_unit_id)
    await fire(session, deps, env.type, env.id, {"reason": event.reason.value, "to_level": event.to_level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "from_unit_id": event.from_unit_id,
                "to_unit_id": event.to_unit_id, "from_unit_name": names.get(event.from_unit_id, ""),
                "to_unit_name": names.get(event.to_unit_id, ""), "reason_label": REASON_ZH[event.reason],
                "note": event.note, "unit_id": event.to_unit_id, "unit_path": info.unit_path})


async def on_case_extension_rejected(deps: NotifyDeps, session: AsyncSession, event: CaseExtensionRejected,
                                     env: Envelope) -> None:
    """The unit that asked for more time hears that the deadline stays (its reminders were never moved)."""
    info = await _case(session, deps, event.case_id)
    names = await _unit_names(session, event.unit_id)
    await fire(session, deps, env.type, env.id, {"clock": event.clock.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_name": names.get(event.unit_id, ""), "unit_path": info.unit_path,
                "clock_label": CLOCK_ZH[event.clock.value], "due": _local(event.due_at),
                "rejection_reason": event.rejection_reason})


async def on_case_overdue(deps: NotifyDeps, session: AsyncSession, event: CaseOverdue, env: Envelope) -> None:
    info = await _case(session, deps, event.case_id)
    names = await _unit_names(session, event.unit_id)
    await fire(session, deps, env.type, env.id, {"clock": event.clock.value, "escalated": event.escalated,
                                                   "level": event.level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_name": names.get(event.unit_id, ""), "unit_path": event.unit_path,
                "clock_label": CLOCK_ZH[event.clock.value], "due": _local(event.due_at), "escalated": event.escalated})


async def on_case_resolved(deps: NotifyDeps, session: AsyncSession, event: CaseResolved, env: Envelope) -> None:
    await cancel_reminders(session, assignment_id=event.assignment_id)
    info = await _case(session, deps, event.case_id)
    await fire(session, deps, env.type, env.id, {"outcome": event.outcome.value, "level": event.level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": event.unit_id,
                "unit_path": info.unit_path, "assignment_id": event.assignment_id})


async def on_case_urged(deps: NotifyDeps, session: AsyncSession, event: CaseUrged, env: Envelope) -> None:
    """催办 from outside (the 12345 platform): the unit handling the case hears of it, once per event."""
    info = (await session.execute(select(CaseInfo).where(CaseInfo.case_id == event.case_id))).scalar_one_or_none()
    unit_id = event.unit_id or (info.unit_id if info else None)
    names = await _unit_names(session, unit_id)
    await fire(session, deps, env.type, env.id, {"source": event.source, "urge_count": event.urge_count},
               {"case_id": event.case_id, "case_code": (info.case_code if info else None) or "",
                "unit_id": unit_id, "unit_name": names.get(unit_id or "", ""),
                "unit_path": info.unit_path if info else [], "urge_count": event.urge_count,
                "source_label": URGE_SOURCE_ZH.get(event.source, event.source)})


async def on_case_closed(deps: NotifyDeps, session: AsyncSession, event: CaseClosed, env: Envelope) -> None:
    await cancel_reminders(session, case_id=event.case_id)


async def on_risk_changed(deps: NotifyDeps, session: AsyncSession, event: RiskChanged, env: Envelope) -> None:
    info = await _case(session, deps, event.case_id)
    await fire(session, deps, env.type, env.id, {"risk_level": event.to_level.value,
                                                   "from_level": event.from_level.value},
               {"case_id": event.case_id, "case_code": info.case_code or "", "unit_id": info.unit_id,
                "unit_path": info.unit_path, "reasons": "、".join(event.reasons)})


async def on_hotspot(deps: NotifyDeps, session: AsyncSession, event: HotspotAlert, env: Envelope) -> None:
    names = await _unit_names(session, event.unit_id)
    await fire(session, deps, env.type, env.id, {"category": event.category},
               {"case_id": None, "unit_id": event.unit_id, "unit_name": names.get(event.unit_id, ""),
                "unit_path": event.unit_path, "category": event.category or "", "count": event.count,
                "baseline": event.baseline, "ratio": event.ratio, "window_start": _local(event.window_start),
                "window_end": _local(event.window_end)})


# --- reminders (催办) ----------------------------------------------------------------------------------


def _queue_reminders(batch: _Batch, deps: NotifyDeps, cal: WorkPoints, assignment_id: uuid.UUID,
                     case_id: uuid.UUID, unit_id: str, clock: DeadlineClock, start: datetime, due: datetime) -> None:
    """The reminders (催办) at the configured fractions of a deadline, in working time, added to the batch."""
    for fraction in deps.settings.reminder_fractions:
        batch.reminders.append((uuid.uuid4(), assignment_id, case_id, unit_id, clock.value, fraction, start, due,
                                cal.point(start, due, fraction)))


async def schedule_reminders(session: AsyncSession, deps: NotifyDeps, assignment_id: uuid.UUID, case_id: uuid.UUID,
                             unit_id: str, clock: DeadlineClock, start: datetime, due: datetime) -> None:
    _queue_reminders(_batch(session), deps, await _work_calendar(deps, session), assignment_id, case_id, unit_id,
                     clock, start, due)
    if not session.info.get(DEFER):
        await flush(session)


async def cancel_reminders(session: AsyncSession, *, assignment_id: uuid.UUID | None = None,
                           case_id: uuid.UUID | None = None, clock: DeadlineClock | None = None,
                           except_assignment: uuid.UUID | None = None) -> None:
    stmt = update(Reminder).where(Reminder.status.in_(("pending", "paused")))  # type: ignore[attr-defined]
    if assignment_id is not None:
        stmt = stmt.where(Reminder.assignment_id == assignment_id)  # type: ignore[arg-type]
    if case_id is not None:
        stmt = stmt.where(Reminder.case_id == case_id)  # type: ignore[arg-type]
    if clock is not None:
        stmt = stmt.where(Reminder.clock == clock.value)  # type: ignore[arg-type]
    if except_assignment is not None:
        stmt = stmt.where(Reminder.assignment_id != except_assignment)  # type: ignore[arg-type]
    await session.execute(stmt.values(status="cancelled"))


async def fire_reminder(session: AsyncSession, deps: NotifyDeps, r: Reminder) -> None:
    info = await session.get(CaseInfo, r.case_id)
    names = await _unit_names(session, r.unit_id)
    r.status = "fired"
    trigger_id = f"reminder:{r.id}:{int(r.fire_at.timestamp())}"
    await fire(session, deps, REMINDER, trigger_id, {"clock": r.clock, "fraction": r.fraction},
               {"case_id": r.case_id, "case_code": info.case_code if info else "", "unit_id": r.unit_id,
                "unit_name": names.get(r.unit_id, ""), "unit_path": info.unit_path if info else [],
                "clock": r.clock, "clock_label": CLOCK_ZH[r.clock], "due": _local(r.due_at),
                "percent": round(r.fraction * 100)})


# --- rules → deliveries --------------------------------------------------------------------------------


async def fire(session: AsyncSession, deps: NotifyDeps, trigger: str, trigger_id: str, facts: Mapping[str, Any],
               ctx: dict[str, Any]) -> None:
    """Run every rule matching ``trigger``."""
    _, ruleset = await deps.rules.get(session)
    for rule in ruleset.matching(trigger, facts):
        await _apply_rule(session, deps, rule, trigger, trigger_id, ctx)


async def _street_units(session: AsyncSession, path: list[str]) -> list[str]:
    stmt = select(Unit.unit_id).where(Unit.level == Level.STREET.value, Unit.active.is_(True))  # type: ignore[attr-defined]
    if path:
        stmt = stmt.where(Unit.unit_id.in_(path))  # type: ignore[attr-defined]
    return list((await session.execute(stmt)).scalars())


async def _selector_units(session: AsyncSession, sel: Selector, ctx: Mapping[str, Any]) -> list[str]:
    unit_id: str | None = ctx.get("unit_id")
    if sel.unit == UnitRef.EVENT:
        return [unit_id] if unit_id else []
    if sel.unit == UnitRef.PARENT:
        unit = await _unit(session, unit_id)
        return [unit.parent_id] if unit and unit.parent_id else []
    if sel.unit == UnitRef.FROM:
        return [ctx["from_unit_id"]] if ctx.get("from_unit_id") else []
    if sel.unit == UnitRef.TO:
        return [ctx["to_unit_id"]] if ctx.get("to_unit_id") else []
    return await _street_units(session, list(ctx.get("unit_path") or []))  # STREET


async def _recipients(session: AsyncSession, deps: NotifyDeps, rule: Rule,
                      ctx: Mapping[str, Any]) -> list[tuple[Channel, str]]:
    out: list[tuple[Channel, str]] = []
    for sel in rule.to:
        if sel.applicant:
            if ctx.get("case_id"):
                out += [(c, f"applicant:{ctx['case_id']}") for c in rule.channels if c == Channel.SMS]
            continue
        units = await _selector_units(session, sel, ctx)
        members = await deps.members.members(session, units, sel.roles) if units else []
        for channel in rule.channels:
            if channel in (Channel.INBOX, Channel.SMS):
                out += [(channel, m) for m in members]
            else:
                configured = await deps.targets.get(session)
                out += [(channel, f"unit:{u}") for u in units if (u, channel.value) in configured]
    return list(dict.fromkeys(out))


# --- the batch: one statement per consumer batch ---------------------------------------------------------

DEFER = "notify_defer"  # session.info flag: leave the batch to ``flush`` before the commit (the consumer's hook)
_BATCH = "notify_batch"


@dataclass
class _Batch:
    case_ids: set[uuid.UUID] = field(default_factory=set)
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    reminders: list[tuple[Any, ...]] = field(default_factory=list)
    deliveries: list[tuple[Any, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cases or self.reminders or self.deliveries)

    def take(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Everything held, leaving this batch (the same object, which callers may hold) empty."""
        taken = (self.cases, self.reminders, self.deliveries)
        self.case_ids, self.cases, self.reminders, self.deliveries = set(), [], [], []
        return taken


def _batch(session: AsyncSession) -> _Batch:
    batch = session.info.get(_BATCH)
    if batch is None:
        batch = session.info[_BATCH] = _Batch()
    return batch  # type: ignore[no-any-return]


_DELIVERY_COLUMNS = ("id", "trigger_ce_id", "trigger_type", "rule_id", "channel", "recipient_id", "case_id",
                     "template_key", "template_version", "title", "body", "due", "at", "item_id", "push", "o_id",
                     "o_headers", "o_payload", "event_id", "kind", "case_code")
_DELIVERY_TYPES = ("uuid", "text", "text", "text", "text", "text", "uuid", "text", "int", "text", "text",
                   "timestamptz", "timestamptz", "uuid", "text", "uuid", "text", "text", "text", "text", "text")
_UNNEST = ", ".join(f"CAST(:d_{c} AS {t}[])" for c, t in zip(_DELIVERY_COLUMNS, _DELIVERY_TYPES, strict=True))

_BATCH_SQL = _Sql(f"""
WITH c AS (
    INSERT INTO {SCHEMA}.cases (case_id, case_code, assignment_id, unit_id, unit_path, visible_units, updated_at)
    SELECT i, code, a, u, CAST(ARRAY(SELECT jsonb_array_elements_text(CAST(p AS jsonb))) AS varchar[]),
           CAST(ARRAY(SELECT jsonb_array_elements_text(CAST(v AS jsonb))) AS varchar[]), at
    FROM unnest(CAST(:c_ids AS uuid[]), CAST(:c_codes AS text[]), CAST(:c_assignments AS uuid[]),
                CAST(:c_units AS text[]), CAST(:c_paths AS text[]), CAST(:c_visible AS text[]),
                CAST(:c_at AS timestamptz[])) AS t(i, code, a, u, p, v, at)
    ON CONFLICT (case_id) DO UPDATE SET case_code = excluded.case_code, assignment_id = excluded.assignment_id,
        unit_id = excluded.unit_id, unit_path = excluded.unit_path, updated_at = excluded.updated_at,
        visible_units = ARRAY(SELECT DISTINCT u FROM unnest({SCHEMA}.cases.visible_units || excluded.visible_units) u
                              ORDER BY u)
), r AS (
    INSERT INTO {SCHEMA}.reminders (id, assignment_id, case_id, unit_id, clock, fraction, start_at, due_at, fire_at,
                                    status)
    SELECT i, a, c, u, k, f, s, d, x, 'pending'
    FROM unnest(CAST(:r_ids AS uuid[]), CAST(:r_assignments AS uuid[]), CAST(:r_cases AS uuid[]),
                CAST(:r_units AS text[]), CAST(:r_clocks AS text[]), CAST(:r_fractions AS float8[]),
                CAST(:r_starts AS timestamptz[]), CAST(:r_dues AS timestamptz[]), CAST(:r_fires AS timestamptz[]))
         AS t(i, a, c, u, k, f, s, d, x)
    ON CONFLICT ON CONSTRAINT uq_reminder_point DO NOTHING
), input AS (
    SELECT * FROM unnest({_UNNEST}) AS t({", ".join(_DELIVERY_COLUMNS)})
), d AS (
    INSERT INTO {SCHEMA}.deliveries (id, trigger_ce_id, trigger_type, rule_id, channel, recipient_id, case_id,
                                     template_key, template_version, title, body, status, attempts, next_attempt_at,
                                     created_at, delivered_at)
    SELECT id, trigger_ce_id, trigger_type, rule_id, channel, recipient_id, case_id, template_key, template_version,
           title, body, CASE WHEN channel = 'inbox' THEN 'delivered' ELSE 'pending' END,
           CASE WHEN channel = 'inbox' THEN 1 ELSE 0 END, due, at, CASE WHEN channel = 'inbox' THEN at END
    FROM input
    ON CONFLICT ON CONSTRAINT uq_delivery_once DO NOTHING
    RETURNING id
), new AS (
    SELECT input.* FROM input JOIN d USING (id)
), items AS (
    INSERT INTO {SCHEMA}.inbox_items (id, user_id, event_id, kind, case_id, case_code, title, body, created_at)
    SELECT item_id, recipient_id, event_id, kind, case_id, case_code, left(title, 200), body, at
    FROM new WHERE channel = 'inbox'
    ON CONFLICT ON CONSTRAINT uq_inbox_user_event DO NOTHING
), events AS (
    INSERT INTO {SCHEMA}.outbox (event_id, topic, key, ce_type, headers, payload)
    SELECT o_id, :o_topic, CAST(id AS text), :o_type, CAST(o_headers AS jsonb), CAST(o_payload AS jsonb)
    FROM new WHERE channel = 'inbox'
)
SELECT 'n', CAST(count(*) AS text) FROM new
UNION ALL SELECT 'i', CAST(pg_notify(:ch, push) AS text) FROM new WHERE channel = 'inbox'
UNION ALL SELECT 'o', CAST(pg_notify(:och, '') AS text) FROM (SELECT 1 FROM new WHERE channel = 'inbox' LIMIT 1) o
UNION ALL SELECT 'w', CAST(pg_notify('{WAKE_CHANNEL}', '') AS text)
    FROM (SELECT 1 FROM new WHERE channel <> 'inbox' LIMIT 1) w
""")


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


async def flush(session: AsyncSession) -> int:
    """Write what the session's batch holds in one statement: case facts, reminders, deliveries (a delivery already
    there means this event already notified this person over this channel: nothing else happens for it), and for
    each new inbox delivery its inbox item, its delivered event in the outbox and the live streams' NOTIFY, plus the
    relay's and the worker's wake-ups. Returns the number of new deliveries."""
    batch = session.info.get(_BATCH)
    if not batch:
        return 0
    cases, reminders, deliveries = batch.take()
    if session.new or session.dirty or session.deleted:
        await session.flush()  # the raw statement bypasses autoflush: the ORM's changes go first, as they came first
    c = _columns(cases, 7)
    r = _columns(reminders, 9)
    d = _columns(deliveries, len(_DELIVERY_COLUMNS))
    params: dict[str, Any] = {
        "c_ids": c[0], "c_codes": c[1], "c_assignments": c[2], "c_units": c[3], "c_paths": c[4], "c_visible": c[5],
        "c_at": c[6], "r_ids": r[0], "r_assignments": r[1], "r_cases": r[2], "r_units": r[3], "r_clocks": r[4],
        "r_fractions": r[5], "r_starts": r[6], "r_dues": r[7], "r_fires": r[8],
        "o_topic": NotificationDelivered.topic, "o_type": NotificationDelivered.ce_type,
        "ch": INBOX_CHANNEL, "och": notify_channel(SCHEMA)}
    params.update({f"d_{name}": col for name, col in zip(_DELIVERY_COLUMNS, d, strict=True)})
    rows = await _BATCH_SQL.fetch(session, params)
    return next(int(v) for k, v in rows if k == "n")


async def _apply_rule(session: AsyncSession, deps: NotifyDeps, rule: Rule, trigger: str, trigger_id: str,
                      ctx: dict[str, Any]) -> None:
    """Add the rule's deliveries to the session's batch (written now unless the consumer flushes before commit)."""
    recipients = await _recipients(session, deps, rule, ctx)
    if not recipients:
        return
    now = deps.clock.now()
    variables = dict(ctx)
    if rule.template == "survey" and ctx.get("case_id"):
        survey = await surveys.create(session, deps, ctx["case_id"], ctx.get("assignment_id"))
        variables.update(surveys.template_variables(deps, survey))
    spec = templates.SPECS[rule.template]
    version, subject, body = await deps.templates.get(session, rule.template)
    values = {k: variables.get(k, "") for k in spec.variables}
    title, text_body = templates.render(subject, body, values)
    case_id = ctx.get("case_id")
    case_code = ctx.get("case_code") or None
    kind = trigger.split(".")[2] if trigger.startswith("fq.") else trigger
    event_id = f"{trigger_id}:{rule.id}"
    at = now.isoformat()
    rows = _batch(session).deliveries
    for channel, recipient in recipients:
        delivery_id = uuid.uuid4()
        due = now
        if channel == Channel.SMS and recipient.startswith("applicant:"):
            due = after_quiet_hours(now, deps.settings.quiet_start, deps.settings.quiet_end)
        item_id = push = o_id = o_headers = o_payload = None
        if channel == Channel.INBOX:
            item_id = uuid.uuid4()
            push = push_payload(recipient, str(item_id), {
                "id": str(item_id), "kind": kind, "case_id": str(case_id) if case_id else None,
                "case_code": case_code, "title": title[:200], "body": text_body, "created_at": at, "read_at": None})
            row = outbox_row(NotificationDelivered(
                notification_id=delivery_id, case_id=case_id, rule_id=rule.id, channel=Channel.INBOX.value,
                recipient_id=recipient, trigger_ce_id=trigger_id, at=now, attempts=1), deps.source)
            o_id, o_headers, o_payload = row["event_id"], row["headers"], row["payload"]
        rows.append((delivery_id, trigger_id, trigger, rule.id, channel.value, recipient, case_id, rule.template,
                     version, title, text_body, due, now, item_id, push, o_id, o_headers, o_payload, event_id, kind,
                     case_code))
    if not session.info.get(DEFER):
        await flush(session)


# --- inbox ---------------------------------------------------------------------------------------------


async def mark_read(session: AsyncSession, deps: NotifyDeps, item_id: uuid.UUID, user_id: str,
                    read: bool = True) -> InboxItem:
    item = (await session.execute(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.user_id == user_id).with_for_update()
    )).scalar_one_or_none()
    if item is None:
        raise Problem(404, "inbox_item_not_found", f"no inbox item {item_id} for you")
    if read and item.read_at is None:
        item.read_at = deps.clock.now()
    elif not read:
        item.read_at = None
    return item

