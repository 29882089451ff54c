"""Chinese labels for codes shown on the dashboard and in exports (the tables are ``shared.dictionaries``)."""

from __future__ import annotations

from functools import lru_cache

from shared import dictionaries
from shared.dictionaries import CHANNEL, FEEDBACK, LEVEL, OUTCOME, REQUEST_TYPE, RISK, TRACK

NONE = dictionaries.UNKNOWN

DIMENSION_LABELS: dict[str, dict[str, str]] = {
    "channel": dict(CHANNEL), "request_type": dict(REQUEST_TYPE), "level": dict(LEVEL), "track": dict(TRACK),
    "risk_level": dict(RISK)}

__all__ = ["CHANNEL", "FEEDBACK", "LEVEL", "OUTCOME", "REQUEST_TYPE", "RISK", "TRACK", "categories", "label"]


@lru_cache(maxsize=1)
def categories() -> dict[str, str]:
    """Category code → label (``邻里纠纷`` for a group, ``邻里纠纷·噪声扰民`` for a two-level code)."""
    tax = dictionaries.taxonomy()
    out: dict[str, str] = {}
    for group in tax.groups:
        out[group] = tax.label(group)
        for child in tax.children(group):
            out[child] = f"{out[group]}·{tax.label(child)}"
    return out


def label(dimension: str, code: str | None) -> str:
    if code is None:
        return NONE
    if dimension == "category":
        return categories().get(code, code)
    return DIMENSION_LABELS.get(dimension, {}).get(code, code)
