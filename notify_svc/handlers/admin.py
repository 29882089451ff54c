"""What admins configure: template and rule versions (who and when kept with each), units' channel targets.

Each save takes a transaction-scoped advisory lock so two concurrent saves cannot both become version N+1; an
``If-Match`` naming another version is a 412. Once the save commits, this replica reloads its cache at once, the
others within ``store.config.CHECK_SECONDS``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.deps import NotifyDeps
from notify_svc.domain.rules import Channel
from notify_svc.store.config import active_template, rules_doc
from notify_svc.tables import ChannelTarget, RuleSetVersion, TemplateVersion
from shared.bus import pending
from shared.preconditions import check_version


async def save_template(session: AsyncSession, deps: NotifyDeps, key: str, subject: str, body: str, by: str,
                        if_match: int) -> None:
    """A new version of the template ``key`` (already checked by the caller); ``if_match``: the version read."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"notify-template:{key}"))))
    version = (await active_template(session, key))[0]
    check_version(version, if_match, f"template {key}")
    session.add(TemplateVersion(key=key, version=version + 1, subject=subject, body=body, created_by=by,
                                created_at=deps.clock.now()))
    pending.on_commit(session, deps.templates.invalidate)


async def save_rules(session: AsyncSession, deps: NotifyDeps, doc: dict[str, Any], by: str,
                     if_match: int) -> RuleSetVersion:
    """A new version of the notification rules (already parsed by the caller); ``if_match``: the version read."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("notify-rules"))))
    version = (await rules_doc(session))[0]
    check_version(version, if_match, "notification rules")
    row = RuleSetVersion(version=version + 1, doc=doc, created_by=by, created_at=deps.clock.now())
    session.add(row)
    pending.on_commit(session, deps.rules.invalidate)
    return row


async def save_target(session: AsyncSession, deps: NotifyDeps, unit_id: str, channel: Channel, address: str,
                      secret: str | None, by: str, if_match: int) -> ChannelTarget:
    """Where a unit's email or robot notifications go: ``if_match`` is the version read, 0 to create one (412
    otherwise). A missing row is inserted at version 0 first, so the check below runs under the row's lock
    whether it existed or not (a refused create rolls the insert back)."""
    now = deps.clock.now()
    await session.execute(insert(ChannelTarget).values(
        unit_id=unit_id, channel=channel.value, address=address, updated_by=by, updated_at=now, version=0,
    ).on_conflict_do_nothing(index_elements=["unit_id", "channel"]))
    t = (await session.execute(select(ChannelTarget).where(
        ChannelTarget.unit_id == unit_id, ChannelTarget.channel == channel.value,  # type: ignore[arg-type]
    ).with_for_update().execution_options(populate_existing=True))).scalar_one()
    check_version(t.version, if_match, f"{channel.value} target of {unit_id}")
    t.address, t.secret = address, secret
    t.updated_by, t.updated_at, t.version = by, now, t.version + 1
    pending.on_commit(session, deps.targets.invalidate)
    return t
