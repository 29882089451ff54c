"""What the handlers read on every event, cached per replica: the active rules and templates, the units with
an email or webhook target, the members by unit, the working-time calendar (reloaded when any replica saved a
change, within ``CHECK_SECONDS``); and the readers of the active rules and template versions."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.domain import templates
from notify_svc.domain.rules import DEFAULT_RULES, RuleSet
from notify_svc.tables import CalendarState, ChannelTarget, Recipient, RuleSetVersion, TemplateVersion
from shared.worktime import DEFAULT_HOURS, WorkCalendar

TEMPLATE_KEYS = frozenset(templates.SPECS)
CHECK_SECONDS = 1.0  # how stale a replica's copy may get after another replica saved a change


class _Ttl:
    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        self.check_seconds = check_seconds
        self._checked = -1e18

    def due(self) -> bool:
        return time.monotonic() - self._checked >= self.check_seconds

    def checked(self) -> None:
        self._checked = time.monotonic()

    def invalidate(self) -> None:
        """This replica saved a change: reload on next use."""
        self._checked = -1e18


class RulesCache(_Ttl):
    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        super().__init__(check_seconds)
        self._version: int | None = None
        self._rules = RuleSet.parse(DEFAULT_RULES, TEMPLATE_KEYS)

    async def get(self, session: AsyncSession) -> tuple[int, RuleSet]:
        if not self.due() and self._version is not None:
            return self._version, self._rules
        version = (await session.execute(select(func.max(RuleSetVersion.version)))).scalar() or 0
        self.checked()
        if version != self._version:
            if version:
                row = await session.get(RuleSetVersion, version)
                assert row is not None
                self._rules = RuleSet.parse(row.doc, TEMPLATE_KEYS)
            else:
                self._rules = RuleSet.parse(DEFAULT_RULES, TEMPLATE_KEYS)
            self._version = version
        return version, self._rules


class CalendarCache(_Ttl):
    """The working-time calendar reminders are computed on: China's official calendar plus the admin overrides
    routing published last (``CalendarState``), so reminders and routing's deadlines count the same days. Every
    replica reloads it when the stored revision changes."""

    def __init__(self, hours: Iterable[Any] = DEFAULT_HOURS, check_seconds: float = CHECK_SECONDS) -> None:
        super().__init__(check_seconds)
        self.hours = tuple(hours)
        self.revision = -1
        self.calendar = WorkCalendar(hours=self.hours)

    async def get(self, session: AsyncSession) -> WorkCalendar:
        if not self.due() and self.revision >= 0:
            return self.calendar
        row = await session.get(CalendarState, 1)
        self.checked()
        revision = row.revision if row is not None else 0
        if revision != self.revision:
            self.calendar = self.build(row.overrides, row.loaded_years) if row is not None else self.build({}, ())
            self.revision = revision
        return self.calendar

    def build(self, overrides: Mapping[str, bool], loaded_years: Iterable[int]) -> WorkCalendar:
        """A calendar from the published form: ISO day → is_workday, and the loaded years."""
        return WorkCalendar({date.fromisoformat(d): bool(w) for d, w in overrides.items()}, hours=self.hours,
                            loaded_years=loaded_years)


async def rules_doc(session: AsyncSession) -> tuple[int, dict[str, Any], TemplateVersion | RuleSetVersion | None]:
    version = (await session.execute(select(func.max(RuleSetVersion.version)))).scalar() or 0
    if not version:
        return 0, DEFAULT_RULES, None
    row = await session.get(RuleSetVersion, version)
    assert row is not None
    return version, row.doc, row


async def active_template(session: AsyncSession, key: str) -> tuple[int, str, str, TemplateVersion | None]:
    """(version, subject, body, row): version 0 is the shipped default."""
    row = (await session.execute(
        select(TemplateVersion).where(TemplateVersion.key == key)
        .order_by(TemplateVersion.version.desc()).limit(1)  # type: ignore[attr-defined]
    )).scalar_one_or_none()
    if row is None:
        spec = templates.SPECS[key]
        return 0, spec.subject, spec.body, None
    return row.version, row.subject, row.body, row


class TemplatesCache(_Ttl):
    """The active version of every template, reloaded at most every ``check_seconds``."""

    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        super().__init__(check_seconds)
        self._active: dict[str, tuple[int, str, str]] = {}

    async def get(self, session: AsyncSession, key: str) -> tuple[int, str, str]:
        if self.due():
            rows = (await session.execute(
                select(TemplateVersion.key, TemplateVersion.version, TemplateVersion.subject, TemplateVersion.body)
                .ext(distinct_on(TemplateVersion.key))
                .order_by(TemplateVersion.key, TemplateVersion.version.desc())  # type: ignore[attr-defined]
            )).all()
            self._active = {k: (v, s, b) for k, v, s, b in rows}
            self.checked()
        if key in self._active:
            return self._active[key]
        spec = templates.SPECS[key]
        return 0, spec.subject, spec.body


class TargetsCache(_Ttl):
    """Which units have an email or webhook target: (unit_id, channel) pairs."""

    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        super().__init__(check_seconds)
        self._pairs: frozenset[tuple[str, str]] = frozenset()

    async def get(self, session: AsyncSession) -> frozenset[tuple[str, str]]:
        if self.due():
            rows = (await session.execute(select(ChannelTarget.unit_id, ChannelTarget.channel))).all()
            self._pairs = frozenset((u, c) for u, c in rows)
            self.checked()
        return self._pairs


class MembersCache(_Ttl):
    """Active members by unit, from the recipients table: reloaded every ``check_seconds`` and at once when this
    replica applied an org event (another replica's org events reach this one within ``check_seconds``)."""

    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        super().__init__(check_seconds)
        self._by_unit: dict[str, list[tuple[str, frozenset[str]]]] = {}

    async def members(self, session: AsyncSession, unit_ids: Sequence[str], roles: Sequence[str]) -> list[str]:
        if self.due():
            rows = (await session.execute(select(Recipient.member_id, Recipient.unit_id, Recipient.roles).where(
                Recipient.active.is_(True)).order_by(Recipient.member_id))).all()  # type: ignore[attr-defined]
            by_unit: dict[str, list[tuple[str, frozenset[str]]]] = {}
            for member_id, unit_id, member_roles in rows:
                by_unit.setdefault(unit_id, []).append((member_id, frozenset(member_roles)))
            self._by_unit = by_unit
            self.checked()
        wanted = set(roles)
        return sorted(m for u in unit_ids for m, r in self._by_unit.get(u, ()) if not wanted or r & wanted)

    async def is_active(self, session: AsyncSession, member_id: str) -> bool:
        """Whether the member is active (in whatever unit): a recipient named by id (包案领导, 专班 lead)."""
        await self.members(session, (), ())
        return any(m == member_id for ms in self._by_unit.values() for m, _ in ms)
