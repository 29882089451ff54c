"""The rules document: its validated shape (deadline table per level and track, ordered rules with ``when`` and
``then``) and the errors that point at a bad field. Pure, no I/O; the engine over it is ``domain.rules``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shared.dictionaries import FORCE
from shared.events.case import Channel, Level, RequestType, RiskLevel, Track
from shared.worktime import WorkSpan

# Forces (七调联动 and the others named in DESIGN.md §2).
FORCES = frozenset(FORCE)  # the codes and their Chinese labels: shared.dictionaries.FORCE
HANDLING_LEVELS = (Level.GRID, Level.COMMUNITY, Level.STREET, Level.DISTRICT)
NAME = r"^[a-z][a-z0-9_]*$"
RULE_ID = r"^[A-Za-z0-9_.\-]+$"


class RulesInvalid(ValueError):
    """``errors``: ``[{"field": "rules[2].when.amount_involved", "reason": "...", "code": "..."}]``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5]))
        self.errors = errors


# --- the document ----------------------------------------------------------------------------------


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str | int) and not isinstance(v, bool) else v


def _span(v: Any) -> Any:
    if isinstance(v, WorkSpan) or v is None:
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        raise ValueError("write a span with its unit, e.g. 4h, 30m or 2d")
    return WorkSpan.parse(v)


Names = Annotated[list[Annotated[str, Field(pattern=NAME)]], BeforeValidator(_listify), Field(min_length=1)]
Span = Annotated[WorkSpan, BeforeValidator(_span)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Range(_Model):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self

    def holds(self, value: float | None) -> bool:
        return value is not None and (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        return f"[{'' if self.min is None else f'{self.min:g}'}, {'' if self.max is None else f'{self.max:g}'}]"


def _signals(v: Any) -> Any:
    return {"any": _listify(v)} if isinstance(v, list | str) else v


class Signals(_Model):
    any: Names | None = None
    all: Names | None = None
    none: Names | None = None

    @model_validator(mode="after")
    def _some(self) -> Signals:
        if self.any is None and self.all is None and self.none is None:
            raise ValueError("give any, all or none")
        return self


class When(_Model):
    category: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$")]],
                        BeforeValidator(_listify), Field(min_length=1)] | None = None
    request_type: Annotated[list[RequestType], BeforeValidator(_listify), Field(min_length=1)] | None = None
    risk_level: Annotated[list[RiskLevel], BeforeValidator(_listify), Field(min_length=1)] | None = None
    risk_signals: Annotated[Signals, BeforeValidator(_signals)] | None = None
    channel: Annotated[list[Channel], BeforeValidator(_listify), Field(min_length=1)] | None = None
    people_involved: Range | None = None
    amount_involved: Range | None = None
    unit: Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$")]], BeforeValidator(_listify),
                    Field(min_length=1)] | None = None
    unit_level: Annotated[list[Level], BeforeValidator(_listify), Field(min_length=1)] | None = None
    weekday: Annotated[list[Annotated[int, Field(ge=1, le=7)]], BeforeValidator(_listify),
                       Field(min_length=1)] | None = None
    working_time: bool | None = None
    urgent: bool | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class DeadlineOverride(_Model):
    accept: Span | None = None
    resolve: Span | None = None
    escalate_on_resolve_overdue: bool | None = None


class TaskForceSpec(_Model):
    lead: str = Field(min_length=1, max_length=200)
    plan: Span


class Then(_Model):
    level: Literal["grid", "community", "street", "district"] | None = None
    unit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]+$", max_length=64)
    track: Track = Track.GENERAL
    forces: Annotated[list[str], BeforeValidator(_listify)] = Field(default_factory=list)
    deadlines: DeadlineOverride | None = None
    task_force: TaskForceSpec | None = None

    @field_validator("forces")
    @classmethod
    def _known_forces(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - FORCES)
        if unknown:
            raise ValueError(f"unknown forces {unknown}; known: {sorted(FORCES)}")
        if len(set(v)) != len(v):
            raise ValueError("a force is listed twice")
        return v

    @model_validator(mode="after")
    def _one_target(self) -> Then:
        if self.level is not None and self.unit is not None:
            raise ValueError("give level or unit, not both")
        return self


class Rule(_Model):
    id: str = Field(min_length=1, max_length=64, pattern=RULE_ID)
    description: str = Field(default="", max_length=500)
    when: When = Field(default_factory=When)
    then: Then


class TableEntry(_Model):
    accept: Span
    resolve: Span | None
    escalate_on_resolve_overdue: bool = False


class LevelTable(_Model):
    general: TableEntry
    specialist: TableEntry
    special: TableEntry
    followup: TableEntry


class DeadlineTable(_Model):
    grid: LevelTable
    community: LevelTable
    street: LevelTable
    district: LevelTable


class LookbackWhen(_Model):
    """The conditions of a 回头看 rule, on the closed case (all given must hold; a list means any of its items)."""

    category: Annotated[list[Annotated[str, Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$")]],
                        BeforeValidator(_listify), Field(min_length=1)] | None = None
    risk_level: Annotated[list[RiskLevel], BeforeValidator(_listify), Field(min_length=1)] | None = None
    channel: Annotated[list[Channel], BeforeValidator(_listify), Field(min_length=1)] | None = None
    reopened: bool | None = None  # the case was reopened (重办, e.g. after a 12345 不满意) before it was closed


class LookbackRule(_Model):
    """回头看: a closed case matching ``when`` is re-visited by its resolving unit ``after`` (working time) closing."""

    id: str = Field(min_length=1, max_length=64, pattern=RULE_ID)
    description: str = Field(default="", max_length=500)
    when: LookbackWhen = Field(default_factory=LookbackWhen)
    after: Span


class RulesDocument(_Model):
    deadlines: DeadlineTable
    rules: list[Rule] = Field(min_length=1, max_length=500)
    # 回头看 rules, first match wins; a closed case no rule matches gets no 回头看 (none: no 回头看 at all)
    lookback: list[LookbackRule] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _unique_lookback_ids(self) -> RulesDocument:
        ids = [r.id for r in self.lookback]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate lookback rule ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


def field_of(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-") or str(part) in ("list[...]",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "document"

