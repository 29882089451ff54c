"""The routing rules engine: a validated document of ordered rules, first match wins. Pure, no I/O.

A document (YAML or JSON) has a deadline table per level and track and an ordered list of rules::

    deadlines:
      grid: {general: {accept: 4h, resolve: 3d}, specialist: {...}, special: {...}, followup: {...}}
      community: {...}
      street: {...}
      district: {...}
    rules:
      - id: violence.community
        description: 暴力或暴力威胁：社区牵头，警调联动
        when: {risk_signals: [violence]}
        then: {level: community, track: specialist, forces: [police]}
      - id: default.grid          # required: no conditions, last
        then: {level: grid, track: general}

``when`` conditions (all given must hold; a list means any of its items):
``category`` (code prefixes: ``labor`` or ``labor.*`` match the family), ``request_type``, ``risk_level``,
``risk_signals`` (a list = any of them, or ``{any, all, none}``), ``channel``, ``people_involved`` and
``amount_involved`` (``{min, max}``, inclusive; an unknown count never matches a range), ``unit`` (unit ids:
the located unit or any of its ancestors), ``unit_level``, ``weekday`` (1 = Monday … 7), ``working_time``,
``urgent``.

``then``: ``level`` (grid / community / street / district: climb the located unit's path to it; a
community target means the community or village above a grid) or ``unit`` (a specific unit id), ``track``,
``forces``, ``deadlines`` (``accept``, ``resolve`` — ``null`` for none —, ``escalate_on_resolve_overdue``:
overrides of the table), ``task_force`` (专班: ``lead`` and ``plan``). A channel deadline on the case
(12345 ``deadline_days``) overrides the resolve deadline: N working days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from routing_svc.domain.rules_document import FORCES as FORCES
from routing_svc.domain.rules_document import Rule, RulesDocument, RulesInvalid, TableEntry, When, field_of
from shared.events.case import Level, Track
from shared.worktime import WorkSpan

DEFAULT_RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "rules_default.yaml"

# The deadline table row of a level that is not in it.
TABLE_LEVEL = {Level.VILLAGE: Level.COMMUNITY, Level.BUILDING: Level.GRID}


# --- what the engine reads and decides -------------------------------------------------------------


@dataclass(frozen=True)
class CaseFacts:
    category: str | None
    request_type: str
    risk_level: str
    risk_signals: frozenset[str]
    channel: str
    people_involved: int | None
    amount_involved: float | None
    unit_path: tuple[str, ...]  # the located unit's path, root → unit
    unit_level: Level  # the located unit's level
    local_time: datetime  # Asia/Shanghai
    working_time: bool  # whether local_time is in working time (the caller asks WorkCalendar)
    deadline_days: int | None = None  # a channel-imposed resolve deadline (12345), honoured
    urgent: bool = False


@dataclass(frozen=True)
class Deadlines:
    accept: WorkSpan
    resolve: WorkSpan | None  # None = no hard deadline (followup track)
    escalate_on_resolve_overdue: bool = False


@dataclass(frozen=True)
class TaskForce:
    """专班: a named lead and a deadline for the handling plan."""

    lead: str  # a member id or a role/title text
    plan: WorkSpan


@dataclass(frozen=True)
class TraceStep:
    rule_id: str
    matched: bool
    why: str  # which condition failed, or the conditions that held


@dataclass(frozen=True)
class Decision:
    rule_id: str
    level: Level | None  # target level: climb the located unit's path to it
    unit_id: str | None  # or a specific unit
    track: Track
    forces: tuple[str, ...]
    deadlines: Deadlines
    task_force: TaskForce | None
    explanation: str
    trace: tuple[TraceStep, ...] = field(default=())  # every rule looked at, in order; the last one matched
    description: str = ""  # the matched rule's own description (written by the rules' author)
    conditions: tuple[str, ...] = ()  # the names of the matched rule's conditions (``category``, ``risk_level``…)
    channel_deadline_days: int | None = None  # a channel-imposed resolve deadline the decision honoured

# --- matching --------------------------------------------------------------------------------------


def _category_matches(prefix: str, category: str | None) -> bool:
    if category is None:
        return False
    family = prefix.removesuffix(".*")
    return category == family or category.startswith(family + ".")


def _check(when: When, f: CaseFacts) -> tuple[bool, str]:
    """Whether every condition holds, and why (the first failing condition, or all that held)."""
    held: list[str] = []

    def test(name: str, ok: bool, detail: str) -> bool:
        if ok:
            held.append(f"{name} {detail}")
        else:
            held[:] = [f"{name} failed: {detail}"]
        return ok

    checks: list[tuple[str, Any, Any]] = []
    if when.category is not None:
        checks.append(("category", lambda: any(_category_matches(p, f.category) for p in when.category or ()),
                       f"{f.category!r} in {when.category}"))
    if when.request_type is not None:
        checks.append(("request_type", lambda: f.request_type in when.request_type,  # type: ignore[operator]
                       f"{f.request_type!r} in {[str(x) for x in when.request_type]}"))
    if when.risk_level is not None:
        checks.append(("risk_level", lambda: f.risk_level in when.risk_level,  # type: ignore[operator]
                       f"{f.risk_level!r} in {[str(x) for x in when.risk_level]}"))
    if when.risk_signals is not None:
        s = when.risk_signals
        have = sorted(f.risk_signals)
        checks.append(("risk_signals", lambda: (s.any is None or bool(f.risk_signals & set(s.any)))
                       and (s.all is None or set(s.all) <= f.risk_signals)
                       and (s.none is None or not f.risk_signals & set(s.none)),
                       f"{have} vs {s.model_dump(exclude_none=True)}"))
    if when.channel is not None:
        checks.append(("channel", lambda: f.channel in when.channel,  # type: ignore[operator]
                       f"{f.channel!r} in {[str(x) for x in when.channel]}"))
    if when.people_involved is not None:
        checks.append(("people_involved", lambda: when.people_involved.holds(f.people_involved),  # type: ignore[union-attr]
                       f"{f.people_involved} in {when.people_involved}"))
    if when.amount_involved is not None:
        checks.append(("amount_involved", lambda: when.amount_involved.holds(f.amount_involved),  # type: ignore[union-attr]
                       f"{f.amount_involved} in {when.amount_involved}"))
    if when.unit is not None:
        checks.append(("unit", lambda: bool(set(when.unit or ()) & set(f.unit_path)),
                       f"path {list(f.unit_path)} ∩ {when.unit}"))
    if when.unit_level is not None:
        checks.append(("unit_level", lambda: f.unit_level in when.unit_level,  # type: ignore[operator]
                       f"{f.unit_level.value!r} in {[str(x) for x in when.unit_level]}"))
    if when.weekday is not None:
        checks.append(("weekday", lambda: f.local_time.isoweekday() in when.weekday,  # type: ignore[operator]
                       f"{f.local_time.isoweekday()} in {when.weekday}"))
    if when.working_time is not None:
        checks.append(("working_time", lambda: f.working_time == when.working_time,
                       f"{f.working_time} == {when.working_time}"))
    if when.urgent is not None:
        checks.append(("urgent", lambda: f.urgent == when.urgent, f"{f.urgent} == {when.urgent}"))
    for name, predicate, detail in checks:
        if not test(name, predicate(), detail):
            return False, held[0]
    return True, "; ".join(held) if held else "no conditions (default rule)"


# --- the rule set ----------------------------------------------------------------------------------


class RuleSet:
    def __init__(self, doc: RulesDocument, source: Mapping[str, Any]) -> None:
        self.doc = doc
        self.source = dict(source)  # the document as given (for GET and diffs)

    @property
    def rules(self) -> list[Rule]:
        return self.doc.rules

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> RuleSet:
        """Validate a rules document; raises ``RulesInvalid`` with one entry per problem."""
        if not isinstance(doc, Mapping):
            raise RulesInvalid([{"field": "document", "reason": "a rules document is a mapping with deadlines "
                                                                "and rules", "code": "invalid_type"}])
        try:
            parsed = RulesDocument.model_validate(dict(doc))
        except ValidationError as exc:
            raise RulesInvalid([{"field": field_of(e["loc"]), "reason": e["msg"], "code": e["type"]}
                                for e in exc.errors()]) from None
        errors: list[dict[str, str]] = []
        seen: dict[str, int] = {}
        last = len(parsed.rules) - 1
        for i, rule in enumerate(parsed.rules):
            if rule.id in seen:
                errors.append({"field": f"rules[{i}].id", "reason": f"duplicate id, also rules[{seen[rule.id]}]",
                               "code": "duplicate"})
            seen.setdefault(rule.id, i)
            if i < last and rule.when.is_empty():
                errors.append({"field": f"rules[{i}].when", "reason": "a rule without conditions matches every "
                               "case: only the last (default) rule may have none", "code": "unreachable_rules"})
        if not parsed.rules[last].when.is_empty():
            errors.append({"field": f"rules[{last}].when", "reason": "the last rule must be the default rule, "
                           "without conditions, so that every case gets a decision", "code": "default_missing"})
        if errors:
            raise RulesInvalid(errors)
        return cls(parsed, doc)

    def deadlines_for(self, level: Level, track: Track) -> Deadlines:
        row = TABLE_LEVEL.get(level, level)
        entry: TableEntry = getattr(getattr(self.doc.deadlines, row.value), Track(track).value)
        return Deadlines(entry.accept, entry.resolve, entry.escalate_on_resolve_overdue)

    def evaluate(self, facts: CaseFacts) -> Decision:
        trace: list[TraceStep] = []
        for rule in self.doc.rules:
            ok, why = _check(rule.when, facts)
            trace.append(TraceStep(rule.id, ok, why))
            if ok:
                return self._decide(rule, facts, tuple(trace))
        raise AssertionError("the default rule matches every case")  # guaranteed by parse()

    def _decide(self, rule: Rule, facts: CaseFacts, trace: tuple[TraceStep, ...]) -> Decision:
        then = rule.then
        level = Level(then.level) if then.level else None
        table_level = level or facts.unit_level
        base = self.deadlines_for(table_level, then.track)
        o = then.deadlines
        deadlines = Deadlines(
            accept=o.accept if o and o.accept is not None else base.accept,
            resolve=o.resolve if o and "resolve" in o.model_fields_set else base.resolve,
            escalate_on_resolve_overdue=(o.escalate_on_resolve_overdue if o and o.escalate_on_resolve_overdue
                                         is not None else base.escalate_on_resolve_overdue),
        )
        notes = [f"{rule.id}: {rule.description}" if rule.description else rule.id, trace[-1].why]
        if facts.deadline_days:
            deadlines = Deadlines(deadlines.accept, WorkSpan(days=facts.deadline_days),
                                  deadlines.escalate_on_resolve_overdue)
            notes.append(f"channel deadline honoured: resolve within {facts.deadline_days} working days")
        task_force = TaskForce(then.task_force.lead, then.task_force.plan) if then.task_force else None
        return Decision(rule_id=rule.id, level=level, unit_id=then.unit, track=then.track,
                        forces=tuple(then.forces), deadlines=deadlines, task_force=task_force,
                        explanation=" — ".join(notes), trace=trace, description=rule.description,
                        conditions=tuple(k for k, v in rule.when if v is not None),
                        channel_deadline_days=facts.deadline_days or None)


def load_document(text: str) -> Any:
    """YAML (a superset of JSON) text → a document; raises ``RulesInvalid`` on a syntax error."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RulesInvalid([{"field": "document", "reason": f"not valid YAML/JSON{where}: "
                             f"{getattr(exc, 'problem', None) or exc}", "code": "syntax"}]) from None


@cache
def default_rules() -> RuleSet:
    """The shipped default rule set (routing_svc/data/rules_default.yaml)."""
    return RuleSet.parse(load_document(DEFAULT_RULES_FILE.read_text(encoding="utf-8")))


def describe_changes(old: RuleSet | None, new: RuleSet) -> list[str]:
    """A short human summary of what ``new`` changes compared with ``old`` (for the version history)."""
    if old is None:
        return [f"first version: {len(new.rules)} rules"]
    before = {r.id: r.model_dump() for r in old.rules}
    after = {r.id: r.model_dump() for r in new.rules}
    out = [f"added rule {i}" for i in after if i not in before]
    out += [f"removed rule {i}" for i in before if i not in after]
    for i in after:
        if i in before and before[i] != after[i]:
            parts = [k for k in ("description", "when", "then") if before[i][k] != after[i][k]]
            out.append(f"changed rule {i} ({', '.join(parts)})")
    kept_old = [i for i in before if i in after]
    kept_new = [i for i in after if i in before]
    if kept_old != kept_new:
        out.append("reordered rules: " + ", ".join(kept_new))
    if [r.model_dump() for r in old.doc.lookback] != [r.model_dump() for r in new.doc.lookback]:
        out.append(f"changed lookback rules ({len(new.doc.lookback)})")
    old_table, new_table = old.doc.deadlines.model_dump(), new.doc.deadlines.model_dump()
    for level, row in new_table.items():
        for track, entry in row.items():
            if old_table[level][track] != entry:
                out.append(f"changed deadlines {level}.{track}")
    return out or ["no change"]
