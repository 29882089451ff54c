"""The KPI definitions (design section 7): which counts make which rate, their labels, the level groups.

Pure: the counts come from ``analytics_svc.store`` (rollups or fact rows); ``finish`` turns them into the KPIs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from shared.events.case import Level

LOCAL_LEVELS = (Level.GRID.value, Level.COMMUNITY.value, Level.VILLAGE.value)  # 就地化解
STREET_OR_BELOW = (*LOCAL_LEVELS, Level.STREET.value)  # 不出街道
UPPER_LEVELS = (Level.STREET.value, Level.DISTRICT.value)  # 提级 reached street or district

KPI_KEYS = (
    "received", "accepted_on_time_rate", "completion_rate", "resolution_rate", "on_time_completion_rate",
    "local_resolution_rate", "street_resolution_rate", "escalation_rate", "satisfaction_rate", "closed_loop_rate",
    "reopen_rate", "repeat_applicant_rate", "median_accept_minutes", "median_resolve_hours",
)
KPI_LABELS = {
    "received": "受理量", "accepted_on_time_rate": "按时签收率", "completion_rate": "办结率",
    "resolution_rate": "化解率", "on_time_completion_rate": "按时办结率", "local_resolution_rate": "就地化解率",
    "street_resolution_rate": "不出街道率", "escalation_rate": "提级率", "satisfaction_rate": "满意率",
    "closed_loop_rate": "闭环率", "reopen_rate": "重办率", "repeat_applicant_rate": "重复来访率",
    "median_accept_minutes": "签收时长中位数（工作分钟）", "median_resolve_hours": "办结时长中位数（工作小时）",
}
COUNT_KEYS = ("assigned", "escalated", "with_outcome", "resolved", "on_time_outcomes", "resolved_locally",
              "resolved_in_street", "answers", "satisfied", "closed", "reopened", "accept_counted",
              "accepted_on_time", "applicants", "repeat_applicants")
HOTLINE_KEYS = ("received", "accepted_on_time_rate", "on_time_completion_rate", "satisfaction_rate")  # 12345 三率

# 提级漏斗: a stage per level the cases reached
FUNNEL = ((Level.GRID.value, "网格"), (Level.COMMUNITY.value, "社区/村居"), (Level.STREET.value, "街道"),
          (Level.DISTRICT.value, "区"))


class Dimension(StrEnum):  # what a breakdown groups by
    CATEGORY = "category"
    CHANNEL = "channel"
    UNIT = "unit"
    LEVEL = "level"
    TRACK = "track"
    REQUEST_TYPE = "request_type"
    RISK_LEVEL = "risk_level"


def rate(num: int, den: int) -> float | None:
    """A ratio rounded to 4 places; None (not 0) when nothing is in the denominator."""
    return round(num / den, 4) if den else None


def finish(c: dict[str, Any]) -> dict[str, Any]:
    """Counts → the section 7 KPIs (rates are None when their denominator is 0)."""
    g = lambda k: int(c.get(k) or 0)  # noqa: E731
    median_accept = c.get("median_accept_minutes")
    median_resolve = c.get("median_resolve_hours")
    return {
        "received": g("received"),
        "accepted_on_time_rate": rate(g("accepted_on_time"), g("accept_counted")),
        "completion_rate": rate(g("with_outcome"), g("received")),
        "resolution_rate": rate(g("resolved"), g("with_outcome")),
        "on_time_completion_rate": rate(g("on_time_outcomes"), g("with_outcome")),
        "local_resolution_rate": rate(g("resolved_locally"), g("resolved")),
        "street_resolution_rate": rate(g("resolved_in_street"), g("resolved")),
        "escalation_rate": rate(g("escalated"), g("received")),
        "satisfaction_rate": rate(g("satisfied"), g("answers")),
        "closed_loop_rate": rate(g("closed"), g("with_outcome")),
        "reopen_rate": rate(g("reopened"), g("with_outcome")),
        "repeat_applicant_rate": rate(g("repeat_applicants"), g("applicants")),
        "median_accept_minutes": round(float(median_accept), 2) if median_accept is not None else None,
        "median_resolve_hours": round(float(median_resolve), 2) if median_resolve is not None else None,
        "counts": {k: g(k) for k in COUNT_KEYS},
    }
