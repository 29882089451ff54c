"""Rules → deliveries: every rule matching a trigger (an event, or a reminder's point) renders its template for
each recipient it selects; the deliveries are queued on the transaction's batch (``store.batch``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.deps import NotifyDeps
from notify_svc.domain import templates
from notify_svc.domain.delivery import (
    after_quiet_hours,
    applicant_recipient,
    is_citizen,
    party_recipient,
    unit_recipient,
)
from notify_svc.domain.labels import local_minute
from notify_svc.domain.rules import Channel, Rule, Selector, UnitRef
from notify_svc.handlers import surveys
from notify_svc.store.batch import DeliveryRow
from notify_svc.tables import Unit
from notify_svc.workers.hub import push_payload
from shared.bus.handlers import EventContext
from shared.bus.outbox import outbox_row
from shared.events import HotspotAlert, NotificationDelivered
from shared.events.case import Level

SURVEY_TEMPLATE = surveys.SURVEY_TEMPLATE  # the template whose deliveries carry a new survey's link


async def unit(session: AsyncSession, unit_id: str | None) -> Unit | None:
    return await session.get(Unit, unit_id) if unit_id else None


async def unit_names(session: AsyncSession, *ids: str | None) -> dict[str, str]:
    wanted = [i for i in ids if i]
    rows = (await session.execute(select(Unit.unit_id, Unit.name).where(Unit.unit_id.in_(wanted)))).all()  # type: ignore[attr-defined]
    return {i: n for i, n in rows}


async def fire(session: AsyncSession, deps: NotifyDeps, trigger: str, trigger_id: str, facts: Mapping[str, Any],
               ctx: dict[str, Any]) -> None:
    """Run every rule matching ``trigger``."""
    _, ruleset = await deps.rules.get(session)
    for rule in ruleset.matching(trigger, facts):
        await _apply_rule(session, deps, rule, trigger, trigger_id, ctx)


async def on_hotspot(ctx: EventContext[NotifyDeps], event: HotspotAlert) -> None:
    names = await unit_names(ctx.session, event.unit_id)
    await fire(ctx.session, ctx.deps, ctx.env.type, ctx.env.id, {"category": event.category},
               {"case_id": None, "unit_id": event.unit_id, "unit_name": names.get(event.unit_id, ""),
                "unit_path": event.unit_path, "category": event.category or "", "count": event.count,
                "baseline": event.baseline, "ratio": event.ratio, "window_start": local_minute(event.window_start),
                "window_end": local_minute(event.window_end)})


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
        found = await unit(session, unit_id)
        return [found.parent_id] if found and found.parent_id else []
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
                out += [(c, applicant_recipient(ctx["case_id"])) for c in rule.channels if c == Channel.SMS]
            continue
        if sel.parties:
            if ctx.get("session_id"):
                out += [(c, party_recipient(ctx["session_id"], p)) for p in ctx.get("party_ids") or ()
                        for c in rule.channels if c == Channel.SMS]
            continue
        if sel.member is not None:  # one named member (包案领导, 专班 lead), while active
            wanted = ctx.get(sel.member)
            if wanted and await deps.members.is_active(session, str(wanted)):
                out += [(c, str(wanted)) for c in rule.channels if c in (Channel.INBOX, Channel.SMS)]
            continue
        units = await _selector_units(session, sel, ctx)
        members = await deps.members.members(session, units, sel.roles) if units else []
        if sel.assignee:  # the 承办人 alone, while still an active member of the unit
            members = [m for m in members if m == ctx.get("assignee_id")]
            units = []
        for channel in rule.channels:
            if channel in (Channel.INBOX, Channel.SMS):
                out += [(channel, m) for m in members]
            else:
                configured = await deps.targets.get(session)
                out += [(channel, unit_recipient(u)) for u in units if (u, channel.value) in configured]
    return list(dict.fromkeys(out))


async def _apply_rule(session: AsyncSession, deps: NotifyDeps, rule: Rule, trigger: str, trigger_id: str,
                      ctx: dict[str, Any]) -> None:
    """Queue the rule's deliveries on the transaction's batch."""
    recipients = await _recipients(session, deps, rule, ctx)
    if not recipients:
        return
    now = deps.clock.now()
    variables = dict(ctx)
    if rule.template == SURVEY_TEMPLATE and ctx.get("case_id"):
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
    for channel, recipient in recipients:
        delivery_id = uuid.uuid4()
        due = now
        if channel == Channel.SMS and is_citizen(recipient):
            due = after_quiet_hours(now, deps.settings.quiet_start, deps.settings.quiet_end)
        item_id = push = o_id = o_key = o_headers = o_payload = None
        if channel == Channel.INBOX:
            item_id = uuid.uuid4()
            push = push_payload(recipient, str(item_id), {
                "id": str(item_id), "kind": kind, "case_id": str(case_id) if case_id else None,
                "case_code": case_code, "title": title[:200], "body": text_body, "created_at": at, "read_at": None})
            row = outbox_row(NotificationDelivered(
                notification_id=delivery_id, case_id=case_id, rule_id=rule.id, channel=Channel.INBOX.value,
                recipient_id=recipient, trigger_ce_id=trigger_id, at=now, attempts=1), source=deps.source)
            o_id, o_key, o_headers, o_payload = row["event_id"], row["key"], row["headers"], row["payload"]
        deps.batch.queue(session, DeliveryRow(
            delivery_id, trigger_id, trigger, rule.id, channel.value, recipient, case_id, rule.template, version,
            title, text_body, due, now, item_id, push, o_id, o_key, o_headers, o_payload, event_id, kind, case_code))
