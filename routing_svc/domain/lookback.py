"""回头看 (re-visit of a closed case): which lookback rule of the rules document applies to a closed case, and the
result vocabulary. Pure, no I/O; the rules live in the rules document (``lookback:``, versioned with it).

::

    lookback:
      - id: risk.red_yellow
        description: 红、黄色风险案件销号后10个工作日回头看
        when: {risk_level: [red, yellow]}
        after: 10d

``when``: ``category`` (code prefixes, as the routing rules), ``risk_level``, ``channel``, ``reopened`` (the case
was reopened — 重办 — before this close). First match wins; no match, no 回头看. ``after`` is working time from the
close (``10d`` = the close of the 10th working day after the closing day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from routing_svc.domain.rules_document import LookbackRule, RulesDocument
from shared.worktime import WorkSpan


class LookbackStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its due time
    DUE = "due"  # due (the scheduler told the unit): the unit should re-visit now
    STABLE = "stable"  # 稳定: done, the case stays closed
    RECURRED = "recurred"  # 问题复发: done, the case was reopened
    CANCELLED = "cancelled"  # the case was reopened another way (a late 12345 不满意/重办) before the 回头看


OPEN_LOOKBACK = (LookbackStatus.SCHEDULED, LookbackStatus.DUE)


class LookbackResult(StrEnum):
    STABLE = "stable"  # 稳定
    RECURRED = "recurred"  # 问题复发


RESULT_STATUS = {LookbackResult.STABLE: LookbackStatus.STABLE, LookbackResult.RECURRED: LookbackStatus.RECURRED}


@dataclass(frozen=True)
class LookbackPlan:
    rule_id: str
    after: WorkSpan


def _category_matches(prefix: str, category: str | None) -> bool:
    if category is None:
        return False
    family = prefix.removesuffix(".*")
    return category == family or category.startswith(family + ".")


def matches(rule: LookbackRule, facts: Mapping[str, Any], reopened: bool) -> bool:
    w = rule.when
    return ((w.category is None or any(_category_matches(p, facts.get("category")) for p in w.category))
            and (w.risk_level is None or (facts.get("risk_level") or "blue") in w.risk_level)
            and (w.channel is None or facts.get("channel") in w.channel)
            and (w.reopened is None or w.reopened == reopened))


def plan_for(doc: RulesDocument, facts: Mapping[str, Any], reopened: bool) -> LookbackPlan | None:
    """The first lookback rule matching the closed case's facts (routing's facts document), or None."""
    for rule in doc.lookback:
        if matches(rule, facts, reopened):
            return LookbackPlan(rule.id, rule.after)
    return None
