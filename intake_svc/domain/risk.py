"""红黄蓝 risk assessment: rules over stated signals, facts and words in the text, loaded as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shared.events.case import RiskLevel

RULES_PATH = Path(__file__).resolve().parents[1] / "data" / "risk_rules.yaml"
_ORDER = {RiskLevel.BLUE: 0, RiskLevel.YELLOW: 1, RiskLevel.RED: 2}


@dataclass(frozen=True)
class Signal:
    name: str
    level: RiskLevel
    label: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class RiskRules:
    signals: dict[str, Signal]
    aliases: dict[str, str]
    group_people: int = 5
    large_amount_yellow: float = 100_000
    large_amount_red: float = 500_000
    repeat_applicant_cases: int = 2
    repeat_applicant_days: int = 90

    @classmethod
    def load(cls, path: Path = RULES_PATH) -> RiskRules:
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        signals = {name: Signal(name, RiskLevel(spec["level"]), str(spec["label"]),
                                tuple(spec.get("keywords") or ()))
                   for name, spec in data["signals"].items()}
        aliases = {str(k): str(v) for k, v in (data.get("aliases") or {}).items()}
        unknown = [a for a in aliases.values() if a not in signals]
        if unknown:
            raise ValueError(f"risk rules: aliases point at unknown signals {unknown}")
        return cls(signals=signals, aliases=aliases, **data.get("thresholds", {}))

    def known(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.signals


@dataclass(frozen=True)
class Assessment:
    level: RiskLevel
    reasons: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)  # canonical signal names found (routing rules match on them)


def assess(rules: RiskRules, *, text: str, signals: list[str], people_involved: int | None,
           amount_involved: float | None, applicant_prior_cases: int = 0) -> Assessment:
    """The highest level any rule gives; reasons name the signal and what triggered it."""
    found: dict[str, str] = {}
    for raw in signals:
        name = rules.aliases.get(raw, raw)
        found.setdefault(name, "stated")
    for signal in rules.signals.values():
        hit = next((k for k in signal.keywords if k in text), None)
        if hit and signal.name not in found:
            found[signal.name] = f"text:{hit}"
    if people_involved is not None and people_involved >= rules.group_people:
        found.setdefault("group", f"people:{people_involved}")
    level = RiskLevel.BLUE
    amount_level = None
    if amount_involved is not None and amount_involved >= rules.large_amount_yellow:
        found.setdefault("large_amount", f"amount:{amount_involved:g}")
        amount_level = RiskLevel.RED if amount_involved >= rules.large_amount_red else RiskLevel.YELLOW
    if applicant_prior_cases + 1 >= rules.repeat_applicant_cases:
        found.setdefault("repeat_applicant", f"cases:{applicant_prior_cases + 1}")
    for name in found:
        signal_level = rules.signals[name].level if name in rules.signals else RiskLevel.YELLOW
        if name == "large_amount" and amount_level is not None:
            signal_level = max(signal_level, amount_level, key=_ORDER.__getitem__)
        level = max(level, signal_level, key=_ORDER.__getitem__)
    return Assessment(level, [f"{name}({why})" for name, why in found.items()], list(found))
