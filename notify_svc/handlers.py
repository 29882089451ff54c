"""Notify handlers: recipients from org events; notifications, reminders and surveys from case events.

The consumer owns the transaction. Inbox notifications are written here at once (with a NOTIFY for the live
streams); every other channel gets a pending delivery row that the worker sends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc import surveys
from notify_svc.channels import Contacts, HttpSmsProvider, SmsProvider, SmtpMailer, WebhookRobot
from notify_svc.config import MembersCache, RulesCache, TargetsCache, TemplatesCache, outbox_row
from notify_svc.domain import templates
from notify_svc.domain.delivery import after_quiet_hours
from notify_svc.domain.rules import REMINDER, Channel, Rule, Selector, UnitRef
from notify_svc.settings import NotifySettings
from notify_svc.tables import (
    SCHEMA,
    CaseInfo,
    Delivery,
    InboxItem,
    Recipient,
    Reminder,
    Unit,
)
from shared.bus.tables import notify_channel
from shared.clock import SHANGHAI, Clock
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseOverdue,
    CaseReceived,
    CaseResolved,
    CaseResumed,
    CaseSuspended,
    Envelope,
    HotspotAlert,
    MemberUpserted,
    NotificationDelivered,
    RiskChanged,
    UnitUpserted,
)
from shared.events.case import AssignCause, DeadlineClock, EscalationReason, Level, Track
from shared.problems import Problem
from shared.worktime import WorkCalendar, parse_hours

log = structlog.get_logger(__name__)

INBOX_CHANNEL = "fq_notify_inbox"
# Core tables for the hot-path inserts (no ORM bulk bookkeeping)
_CASES, _REMINDERS, _DELIVERIES, _INBOX = (m.__table__ for m in (CaseInfo, Reminder, Delivery, InboxItem))  # type: ignore[attr-defined]

CLOCK_ZH = {DeadlineClock.ACCEPT.value: "签收", DeadlineClock.RESOLVE.value: "办结"}
CAUSE_ZH = {AssignCause.ROUTED: "首次派发", AssignCause.RETURNED: "退单后重新派发", AssignCause.ESCALATED: "提级派发",
            AssignCause.REOPENED: "重办", AssignCause.DECIDED: "街道中心指定"}
TRACK_ZH = {Track.GENERAL: "普通门诊", Track.SPECIALIST: "专科门诊", Track.SPECIAL: "特需门诊",
            Track.FOLLOWUP: "社区门诊"}
REASON_ZH = {EscalationReason.RULE: "规则提级", EscalationReason.REQUEST: "申请提级", EscalationReason.TIMEOUT: "超时"}


class WorkPoints(Protocol):
    """The part of shared.worktime.WorkCalendar reminders need."""

    def point(self, start: datetime, end: datetime, fraction: float) -> datetime: ...


@dataclass
class NotifyDeps:
    clock: Clock
    settings: NotifySettings = field(default_factory=NotifySettings)
    source: str = "/fengqiao/notify"
    calendar: WorkPoints | None = None
    contacts: Contacts | None = None
    sms: SmsProvider | None = None
    rules: RulesCache = field(default_factory=RulesCache)
    templates: TemplatesCache = field(default_factory=TemplatesCache)
    targets: TargetsCache = field(default_factory=TargetsCache)
    members: MembersCache = field(default_factory=MembersCache)

    def __post_init__(self) -> None:
        s = self.settings
        if self.calendar is None:
            self.calendar = WorkCalendar(hours=parse_hours(s.work_hours))
        if self.contacts is None:
            self.contacts = Contacts(s)
        if self.sms is None and s.sms_url:
            self.sms = HttpSmsProvider(s.sms_url, s.sms_api_key, s.sms_signature, s.send_timeout_seconds)
        self.mailer = SmtpMailer(s)
        self.robot = WebhookRobot(s.send_timeout_seconds)


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
    stmt = insert(_CASES).values(case_id=event.case_id, case_code=event.case_code,
                                   assignment_id=event.assignment_id, unit_id=event.unit_id,
                                   unit_path=list(event.unit_path), visible_units=sorted(set(event.unit_path)),
                                   updated_at=deps.clock.now())
    visible = text("ARRAY(SELECT DISTINCT u FROM unnest(notify.cases.visible_units || excluded.visible_units) u "
                   "ORDER BY u)")
    await session.execute(stmt.on_conflict_do_update(index_elements=["case_id"], set_={
        "case_code": stmt.excluded.case_code, "assignment_id": stmt.excluded.assignment_id,
        "unit_id": stmt.excluded.unit_id, "unit_path": stmt.excluded.unit_path, "visible_units": visible,
        "updated_at": stmt.excluded.updated_at}))
    if event.cause != AssignCause.ROUTED or event.previous_assignment_id is not None:
        await cancel_reminders(session, case_id=event.case_id, except_assignment=event.assignment_id)
    await schedule_reminders(session, deps, event.assignment_id, event.case_id, event.unit_id,
                             DeadlineClock.ACCEPT, event.at, event.accept_due_at)
    await fire(session, deps, env.type, env.id, {"cause": event.cause.value, "level": event.level.value,
                                                   "track": event.track.value},
               {"case_id": event.case_id, "case_code": event.case_code, "unit_id": event.unit_id,
                "unit_name": event.unit_name, "unit_path": event.unit_path, "accept_due": _local(event.accept_due_at),
                "explanation": event.explanation, "cause": event.cause.value, "cause_label": CAUSE_ZH[event.cause],
                "track_label": TRACK_ZH[event.track]})


async def on_case_accepted(deps: NotifyDeps, session: AsyncSession, event: CaseAccepted, env: Envelope) -> None:
    await cancel_reminders(session, assignment_id=event.assignment_id, clock=DeadlineClock.ACCEPT)
    await schedule_reminders(session, deps, event.assignment_id, event.case_id, event.unit_id,
                             DeadlineClock.RESOLVE, event.at, event.resolve_due_at)


async def on_case_extended(deps: NotifyDeps, session: AsyncSession, event: CaseExtended, env: Envelope) -> None:
    """The deadline moved: every reminder of that clock moves to its fraction of the new working time."""
    assert deps.calendar is not None
    now = deps.clock.now()
    rows = (await session.execute(select(Reminder).where(
        Reminder.assignment_id == event.assignment_id, Reminder.clock == event.clock.value,
        Reminder.status.in_(("pending", "paused", "fired"))).with_for_update())).scalars()  # type: ignore[attr-defined]
    for r in rows:
        r.due_at = event.new_due_at
        r.fire_at = deps.calendar.point(r.start_at, r.due_at, r.fraction)
        if r.status == "fired" and r.fire_at > now:
            r.status = "pending"  # the later point of the longer deadline reminds again


async def on_case_suspended(deps: NotifyDeps, session: AsyncSession, event: CaseSuspended, env: Envelope) -> None:
    await session.execute(update(Reminder).where(
        Reminder.assignment_id == event.assignment_id, Reminder.status == "pending"  # type: ignore[arg-type]
    ).values(status="paused", paused_at=event.at))


async def on_case_resumed(deps: NotifyDeps, session: AsyncSession, event: CaseResumed, env: Envelope) -> None:
    """Both clocks were paused: each reminder keeps its share of the remaining working time to the new deadline."""
    assert deps.calendar is not None
    rows = (await session.execute(select(Reminder).where(
        Reminder.assignment_id == event.assignment_id, Reminder.status == "paused").with_for_update())).scalars()
    new_due = {DeadlineClock.ACCEPT.value: event.accept_due_at, DeadlineClock.RESOLVE.value: event.resolve_due_at}
    for r in rows:
        due = new_due.get(r.clock)
        if due is not None and r.paused_at is not None:
            shift = due - r.due_at  # the pause, as routing counted it
            r.start_at, r.due_at = r.start_at + shift, due
            r.fire_at = deps.calendar.point(r.start_at, r.due_at, r.fraction)
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


async def schedule_reminders(session: AsyncSession, deps: NotifyDeps, assignment_id: uuid.UUID, case_id: uuid.UUID,
                             unit_id: str, clock: DeadlineClock, start: datetime, due: datetime) -> None:
    assert deps.calendar is not None
    calendar = deps.calendar
    rows = [dict(id=uuid.uuid4(), assignment_id=assignment_id, case_id=case_id, unit_id=unit_id, clock=clock.value,
                 fraction=fraction, start_at=start, due_at=due, fire_at=calendar.point(start, due, fraction),
                 status="pending") for fraction in deps.settings.reminder_fractions]
    if rows:
        await session.execute(insert(_REMINDERS).values(rows).on_conflict_do_nothing(constraint="uq_reminder_point"))


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
               ctx: dict[str, Any]) -> int:
    """Run every rule matching ``trigger``; returns the number of new deliveries."""
    _, ruleset = await deps.rules.get(session)
    created = 0
    for rule in ruleset.matching(trigger, facts):
        created += await _apply_rule(session, deps, rule, trigger, trigger_id, ctx)
    return created


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


async def _apply_rule(session: AsyncSession, deps: NotifyDeps, rule: Rule, trigger: str, trigger_id: str,
                      ctx: dict[str, Any]) -> int:
    recipients = await _recipients(session, deps, rule, ctx)
    if not recipients:
        return 0
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
    rows = []
    for channel, recipient in recipients:
        inbox = channel == Channel.INBOX
        due = now
        if channel == Channel.SMS and recipient.startswith("applicant:"):
            due = after_quiet_hours(now, deps.settings.quiet_start, deps.settings.quiet_end)
        rows.append(dict(
            id=uuid.uuid4(), trigger_ce_id=trigger_id, trigger_type=trigger, rule_id=rule.id, channel=channel.value,
            recipient_id=recipient, case_id=case_id, template_key=rule.template, template_version=version,
            title=title, body=text_body, status="delivered" if inbox else "pending", attempts=1 if inbox else 0,
            next_attempt_at=due, created_at=now, delivered_at=now if inbox else None))
    inserted = (await session.execute(
        insert(_DELIVERIES).values(rows).on_conflict_do_nothing(constraint="uq_delivery_once")
        .returning(_DELIVERIES.c.id, _DELIVERIES.c.channel, _DELIVERIES.c.recipient_id)
    )).all()  # rows already there: this event already notified this person over this channel
    inbox_rows = [(d_id, recipient) for d_id, channel, recipient in inserted if channel == Channel.INBOX]
    if inbox_rows:
        await _write_inbox(session, deps, inbox_rows, trigger_id, rule, trigger, case_id, ctx.get("case_code"),
                           title, text_body, now)
    if len(inserted) > len(inbox_rows):
        await session.execute(text("SELECT pg_notify('fq_notify_deliveries', '')"))
    return len(inserted)


_INBOX_SQL = f"""
WITH items AS (
    INSERT INTO {SCHEMA}.inbox_items (id, user_id, event_id, kind, case_id, case_code, title, body, created_at)
    SELECT i, u, :event_id, :kind, CAST(:case_id AS uuid), :case_code, :title, :body, :at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS text[])) AS t(i, u)
    ON CONFLICT ON CONSTRAINT uq_inbox_user_event DO NOTHING
), events AS (
    INSERT INTO {SCHEMA}.outbox (event_id, topic, key, ce_type, headers, payload)
    SELECT e, t, k, c, CAST(h AS jsonb), CAST(p AS jsonb)
    FROM unnest(CAST(:o_ids AS uuid[]), CAST(:o_topics AS text[]), CAST(:o_keys AS text[]),
                CAST(:o_types AS text[]), CAST(:o_headers AS text[]), CAST(:o_payloads AS text[]))
         AS t(e, t, k, c, h, p)
)
SELECT pg_notify(:ch, p) FROM unnest(CAST(:ps AS text[])) AS n(p) UNION ALL SELECT pg_notify(:och, '')
"""


async def _write_inbox(session: AsyncSession, deps: NotifyDeps, rows: list[tuple[uuid.UUID, str]], trigger_id: str,
                       rule: Rule, trigger: str, case_id: uuid.UUID | None, case_code: str | None, title: str,
                       body: str, now: datetime) -> None:
    """Inbox items, their live-stream NOTIFYs and their delivered events: one statement each, whatever the count."""
    kind = trigger.split(".")[2] if trigger.startswith("fq.") else trigger
    items, payloads, events = [], [], []
    for delivery_id, user_id in rows:
        item_id = uuid.uuid4()
        items.append(dict(id=item_id, user_id=user_id, event_id=f"{trigger_id}:{rule.id}", kind=kind,
                          case_id=case_id, case_code=case_code or None, title=title[:200], body=body,
                          created_at=now))
        payload = json.dumps({"id": str(item_id), "user_id": user_id, "kind": kind,
                              "case_id": str(case_id) if case_id else None, "case_code": case_code or None,
                              "title": title[:200], "body": body, "created_at": now.isoformat(), "read_at": None},
                             ensure_ascii=False)
        if len(payload.encode()) > 7000:  # NOTIFY payloads are limited to 8000 bytes: the stream fetches the item
            payload = json.dumps({"id": str(item_id), "user_id": user_id, "fetch": True})
        payloads.append(payload)
        events.append(NotificationDelivered(
            notification_id=delivery_id, case_id=case_id, rule_id=rule.id, channel=Channel.INBOX.value,
            recipient_id=user_id, trigger_ce_id=trigger_id, at=now, attempts=1))
    outbox = [outbox_row(e, deps.source) for e in events]
    # one round trip: the items, their delivered events in the outbox, the streams' and the relay's NOTIFYs
    await session.execute(text(_INBOX_SQL), {
        "ids": [i["id"] for i in items], "users": [i["user_id"] for i in items],
        "event_id": f"{trigger_id}:{rule.id}", "kind": kind, "case_id": case_id, "case_code": case_code or None,
        "title": title[:200], "body": body, "at": now,
        "o_ids": [o["event_id"] for o in outbox], "o_topics": [o["topic"] for o in outbox],
        "o_keys": [o["key"] for o in outbox], "o_types": [o["ce_type"] for o in outbox],
        "o_headers": [o["headers"] for o in outbox], "o_payloads": [o["payload"] for o in outbox],
        "ch": INBOX_CHANNEL, "ps": payloads, "och": notify_channel(SCHEMA)})


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

