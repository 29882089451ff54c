"""调解 sessions (调解记录): a mediation meeting on a case — when and where, who mediated, which parties and forces
were there, the minutes and the result. A session is scheduled, then recorded; 改期 (rescheduled) moves it to a new
time and it stays open for its next result.

Pure code only: no I/O, no framework.
"""

from __future__ import annotations

from enum import StrEnum


class SessionResult(StrEnum):
    """How a session ended."""

    AGREED = "agreed"  # 达成协议
    NOT_AGREED = "not_agreed"  # 未达成
    RESCHEDULED = "rescheduled"  # 改期 (carries the new time)


RESULT_ZH = {SessionResult.AGREED: "达成协议", SessionResult.NOT_AGREED: "未达成",
             SessionResult.RESCHEDULED: "改期"}


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"  # to be held (also after 改期)
    HELD = "held"  # held, with a result other than 改期


def status_after(result: SessionResult | None) -> SessionStatus:
    """A session without a result, or rescheduled, is still to be held."""
    return SessionStatus.SCHEDULED if result in (None, SessionResult.RESCHEDULED) else SessionStatus.HELD


def unknown_ids(given: list[str], known: set[str]) -> list[int]:
    """The positions in ``given`` of the ids that are not in ``known`` (for errors naming the field)."""
    return [i for i, v in enumerate(given) if v not in known]
