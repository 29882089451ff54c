"""一件事只立一案: how alike two descriptions are (pure functions)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

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


# Where a compound's address stops and a spot inside it begins: a building, unit, room, gate, side or yard.
_INSIDE = re.compile(r"(\d+|[A-Za-z])(?:号楼|栋|幢|座)|\d+单元|\d+室|[东南西北]门|门口|[东南西北]侧|[东西南北]院|大门")
_BUILDING = re.compile(r"(\d+|[A-Za-z])(?:号楼|栋|幢|座)")
_DWELLING = re.compile(r"\d+(?:室|单元|户)")


def place_key(address: str) -> str | None:
    """The shared place an address is in, coarser than the address: the compound (road + number + estate name), plus
    the building when one is named. Two callers at "滨河路22号滨河小区南门垃圾站" and "滨河路22号滨河小区南门口" are
    at one place (the south gate's refuse station); "…8号楼" and "…9号楼" of the same estate are not.
    None for a home (a flat, a stairwell unit: two households' leaks are two matters) and when nothing is left once
    the spot is cut off."""
    text = normalize_address(address)
    if _DWELLING.search(text):
        return None
    inside = _INSIDE.search(text)
    compound = text[:inside.start()] if inside else text
    if not compound:
        return None
    building = _BUILDING.search(text)
    return f"{compound}#{building.group(1)}" if building else compound


@dataclass(frozen=True)
class DuplicateThresholds:
    link: float = 0.5  # at or above: linked automatically
    suggest: float = 0.3  # at or above: suggested to staff
    same_matter_link: float = 0.2  # "the same matter" (see ``score_duplicates``): linked at or above this


@dataclass(frozen=True)
class DuplicateVerdict:
    primary: tuple[uuid.UUID, str] | None  # (id, code) of the case to link to
    similarity: float
    candidates: list[dict[str, Any]] = field(default_factory=list)  # suggestions when nothing is linked


def score_duplicates(thresholds: DuplicateThresholds, recent: list[tuple[uuid.UUID, str, str, bool]],
                     text: str) -> DuplicateVerdict:
    """Among open cases of the same applicant, address or place (newest first: id, code, description, same
    matter): the one to link to with its similarity, or the suggestions. Nothing is decrypted: the match was on
    blind indexes.

    An open case in the same category, either of the same applicant at the same address or from the same shared
    place (``place_key``: two callers about one refuse station), is "the same matter" and needs less textual
    overlap to be linked: a repeat call about an unsolved problem is worded differently (``same_matter_link``)."""
    scored = sorted(((similarity(text, other), cid, code, same) for cid, code, other, same in recent),
                    key=lambda t: -t[0])
    for sim, cid, code, same in scored:
        if sim >= thresholds.link or (same and sim >= thresholds.same_matter_link):
            return DuplicateVerdict((cid, code), round(sim, 3))
    return DuplicateVerdict(None, 0.0, [{"case_id": str(cid), "code": code, "similarity": round(sim, 3)}
                                        for sim, cid, code, _ in scored if sim >= thresholds.suggest][:5])
