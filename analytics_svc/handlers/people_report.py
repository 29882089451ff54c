"""Per-person figures (for unit leaders), per-force figures and the aging list for the weekly 分析研判 meeting:
items for the API and sheets (Chinese headers) for the export."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels
from analytics_svc.domain.kpis import rate
from analytics_svc.store import people
from analytics_svc.store.kpis import Filters
from shared.auth import Principal, Role
from shared.clock import SHANGHAI
from shared.dictionaries import FORCE
from shared.problems import Problem

# who sees per-person figures: the leaders of units (of their subtree), district viewers, admins
PERSON_READERS = (Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_ADMIN, Role.DISTRICT_VIEWER, Role.ADMIN,
                  Role.SERVICE)
AGING_DEFAULT_DAYS = 7
AGING_MAX_ROWS = 5000

PERSON_COLUMNS = ["人员编号", "所在单位", "承办案件数", "化解数", "办结数", "按时办结数", "按时办结率", "回访数",
                  "满意数", "满意率"]
FORCE_COLUMNS = ["联动力量", "案件数", "办结数", "化解数", "化解率", "按时办结数", "按时办结率", "回访数", "满意率"]
AGING_COLUMNS = ["承办单位", "案件编号", "风险等级", "受理时间", "已过天数", "当前层级", "分级诊疗", "提级次数",
                 "超期次数"]


def require_leader(user: Principal) -> None:
    if not user.has_any(*PERSON_READERS):
        raise Problem(403, "forbidden_role", "per-person figures are for the leaders of units")


def _person(r: dict[str, Any]) -> dict[str, Any]:
    return {"member_id": r["assignee_id"], "unit_id": r["unit_id"], "handled": r["handled"],
            "resolved": r["resolved"], "outcomes": r["outcomes"], "on_time": r["on_time"],
            "on_time_rate": rate(r["on_time"], r["outcomes"]), "answers": int(r["answers"]),
            "satisfied": int(r["satisfied"]), "satisfaction_rate": rate(int(r["satisfied"]), int(r["answers"]))}


async def person_items(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    return [_person(r) for r in await people.person_figures(session, f)]


async def force_items(session: AsyncSession, f: Filters) -> list[dict[str, Any]]:
    return [{"force": r["force"], "label": FORCE.get(r["force"], r["force"]), "cases": r["cases"],
             "outcomes": r["outcomes"], "resolved": r["resolved"],
             "resolution_rate": rate(r["resolved"], r["outcomes"]),
             "on_time": r["on_time"], "on_time_rate": rate(r["on_time"], r["outcomes"]), "answers": int(r["answers"]),
             "satisfaction_rate": rate(int(r["satisfied"]), int(r["answers"]))}
            for r in await people.force_figures(session, f)]


async def aging_units(session: AsyncSession, unit_id: str | None, days: int, now: datetime) -> list[dict[str, Any]]:
    """By unit (the one holding the case now): its open red and yellow cases received more than ``days`` ago."""
    rows = await people.aging(session, unit_id, now - timedelta(days=days), AGING_MAX_ROWS)
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        unit = out.setdefault(r["unit_id"], {"unit_id": r["unit_id"], "unit_name": r["unit_name"] or r["unit_id"],
                                             "red": 0, "yellow": 0, "cases": []})
        unit[r["risk_level"]] += 1
        unit["cases"].append({"case_id": r["case_id"], "code": r["code"], "risk_level": r["risk_level"],
                              "received_at": r["received_at"], "age_days": (now - r["received_at"]).days,
                              "level": r["level"], "track": r["track"], "accepted_at": r["accepted_at"],
                              "resolve_due_at": r["resolve_due_at"], "escalations": r["escalations"],
                              "overdue_count": r["overdue_count"]})
    return sorted(out.values(), key=lambda u: (-u["red"], -u["yellow"], u["unit_id"]))


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v * 100:.1f}%"


def person_sheet(items: list[dict[str, Any]], names: dict[str, str]) -> tuple[list[str], list[list[Any]]]:
    return PERSON_COLUMNS, [[i["member_id"], names.get(i["unit_id"], i["unit_id"]), i["handled"], i["resolved"],
                             i["outcomes"], i["on_time"], _pct(i["on_time_rate"]), i["answers"], i["satisfied"],
                             _pct(i["satisfaction_rate"])] for i in items]


def force_sheet(items: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    return FORCE_COLUMNS, [[i["label"], i["cases"], i["outcomes"], i["resolved"], _pct(i["resolution_rate"]),
                            i["on_time"], _pct(i["on_time_rate"]), i["answers"], _pct(i["satisfaction_rate"])]
                           for i in items]


def aging_sheet(units: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    def lab(dimension: str, v: str | None) -> str:
        return labels.label(dimension, v) if v else ""

    return AGING_COLUMNS, [[u["unit_name"], c["code"] or "", lab("risk_level", c["risk_level"]),
                            c["received_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"), c["age_days"],
                            lab("level", c["level"]), lab("track", c["track"]), c["escalations"], c["overdue_count"]]
                           for u in units for c in u["cases"]]
