"""Rules and templates: the active versions, cached per replica and reloaded when any replica saved a new one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notify_svc.domain import templates
from notify_svc.domain.rules import DEFAULT_RULES, RuleSet
from notify_svc.tables import RuleSetVersion, TemplateVersion

TEMPLATE_KEYS = frozenset(templates.SPECS)


class RulesCache:
    def __init__(self) -> None:
        self._version: int | None = None
        self._rules = RuleSet.parse(DEFAULT_RULES, TEMPLATE_KEYS)

    async def get(self, session: AsyncSession) -> tuple[int, RuleSet]:
        version = (await session.execute(select(func.max(RuleSetVersion.version)))).scalar() or 0
        if version != self._version:
            if version:
                row = await session.get(RuleSetVersion, version)
                assert row is not None
                self._rules = RuleSet.parse(row.doc, TEMPLATE_KEYS)
            else:
                self._rules = RuleSet.parse(DEFAULT_RULES, TEMPLATE_KEYS)
            self._version = version
        return version, self._rules


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
