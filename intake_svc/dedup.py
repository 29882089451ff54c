"""一件事只立一案: how alike two descriptions are (pure functions)."""

from __future__ import annotations

import re

_NOISE = re.compile(r"[\s\d\W_]+", re.UNICODE)


def normalize_address(address: str) -> str:
    return re.sub(r"[\s,，。、()（）\-—]", "", address)


def _bigrams(text: str) -> set[str]:
    chars = _NOISE.sub("", text)
    return {chars[i:i + 2] for i in range(len(chars) - 1)} or ({chars} if chars else set())


def similarity(a: str, b: str) -> float:
    """Overlap of character bigrams (shared ÷ the shorter text's), ignoring digits, spaces and punctuation:
    0 (unrelated) … 1. The overlap, not Jaccard, because a retelling by phone is often longer than the first."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / min(len(x), len(y))
