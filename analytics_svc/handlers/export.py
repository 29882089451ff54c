"""Export tables with Chinese headers: the case ledger (台账), the KPI table (with 环比/同比), breakdown tables.

The ledger carries codes, units and facts only: no personal data (it never had any).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels
from analytics_svc.domain.kpis import KPI_LABELS, Dimension
from analytics_svc.handlers import people_report
from analytics_svc.handlers.breakdowns import breakdown_items
from analytics_svc.handlers.export_records import LEDGER_RECORD_COLUMNS, ledger_record_cells
from analytics_svc.handlers.kpis import kpis_with_compare
from analytics_svc.handlers.people_report import AGING_DEFAULT_DAYS
from analytics_svc.handlers.recurrence import recurrence_items
from analytics_svc.schemas import Table
from analytics_svc.store import reports, units
from analytics_svc.store.kpis import Filters
from shared.auth import Principal
from shared.clock import SHANGHAI
from shared.problems import Problem, field_problem

LEDGER_COLUMNS: list[tuple[str, str]] = [
    ("code", "案件编号"), ("received_at", "受理时间"), ("channel", "受理渠道"), ("request_type", "诉求类型"),
    ("category", "矛盾类别"), ("risk_level", "风险等级"), ("home_unit", "首办单位"), ("unit", "当前承办单位"),
    ("level", "当前层级"), ("track", "分级诊疗"), ("accepted_at", "签收时间"), ("outcome", "办结结果"),
    ("outcome_at", "办结时间"), ("resolved_level", "化解层级"), ("outcome_on_time", "是否按时办结"),
    ("escalations", "提级次数"), ("returns", "退单次数"), ("extensions", "延期次数"),
    ("feedback_result", "回访结果"), ("reopen_count", "重办次数"), ("closed_at", "销号时间"),
    *LEDGER_RECORD_COLUMNS,
]
TITLES = {Table.LEDGER: "案件台账", Table.KPIS: "指标", Table.BREAKDOWN: "分组统计", Table.RECURRENCE: "复发率",
          Table.PEOPLE: "人员绩效", Table.FORCES: "联动力量", Table.AGING: "超期积案"}

Sheet = tuple[list[str], list[list[Any]]]  # header, rows


def _local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def ledger_row(r: Mapping[str, Any]) -> list[Any]:
    def lab(dimension: str, key: str) -> str:
        return labels.label(dimension, r[key]) if r[key] else ""

    return [
        r["code"] or "", _local(r["received_at"]), lab("channel", "channel"), lab("request_type", "request_type"),
        lab("category", "category"), lab("risk_level", "risk_level"), r["home_name"] or r["home_unit_id"] or "",
        r["unit_name_now"] or r["unit_name"] or r["unit_id"] or "", lab("level", "level"), lab("track", "track"),
        _local(r["accepted_at"]), labels.OUTCOME.get(r["outcome"], r["outcome"] or ""), _local(r["outcome_at"]),
        lab("level", "resolved_level"), _yes_no(r["outcome_on_time"]), r["escalations"], r["returns"],
        r["extensions"], labels.FEEDBACK.get(r["feedback_result"], r["feedback_result"] or ""), r["reopen_count"],
        _local(r["closed_at"]), *ledger_record_cells(r),
    ]


async def ledger_rows(session: AsyncSession, f: Filters, limit: int) -> list[list[Any]]:
    rows = await reports.ledger(session, f, limit)
    if len(rows) > limit:
        raise Problem(422, "export_too_large", f"more than {limit} cases in the window: export a shorter window",
                      errors=[{"field": "query.from", "reason": "window too large", "code": "export_too_large"}])
    return [ledger_row(r) for r in rows]


def _kpi_table(data: dict[str, Any]) -> Sheet:
    header = ["指标", "本期", "环比（上期）", "同比（去年同期）"]
    rows = [[label, data[k], data["previous"][k], data["year_ago"][k]] for k, label in KPI_LABELS.items()]
    return header, rows


def _breakdown_table(items: list[dict[str, Any]]) -> Sheet:
    header = ["分组", *KPI_LABELS.values()]
    return header, [[i["label"], *(i["kpis"][k] for k in KPI_LABELS)] for i in items]


async def export_table(session: AsyncSession, f: Filters, table: Table, dimension: Dimension,
                       max_rows: int, *, user: Principal | None = None, aging_days: int = AGING_DEFAULT_DAYS,
                       now: datetime | None = None) -> Sheet:
    """The header and rows of the table asked for (per-person figures: leaders only, as ``GET /people``)."""
    if table == Table.PEOPLE:
        if user is not None:
            people_report.require_leader(user)
        items = await people_report.person_items(session, f)
        return people_report.person_sheet(items, await units.names(session, sorted({i["unit_id"] for i in items})))
    if table == Table.FORCES:
        return people_report.force_sheet(await people_report.force_items(session, f))
    if table == Table.AGING:
        return people_report.aging_sheet(await people_report.aging_units(session, f.unit_id, aging_days,
                                                                         now or f.end))
    if table == Table.LEDGER:
        return [h for _, h in LEDGER_COLUMNS], await ledger_rows(session, f, max_rows)
    if table == Table.KPIS:
        return _kpi_table(await kpis_with_compare(session, f, True))
    if table == Table.RECURRENCE:
        return await _recurrence_table(session, f, dimension)
    return _breakdown_table(await breakdown_items(session, f, dimension))


async def _recurrence_table(session: AsyncSession, f: Filters, dimension: Dimension) -> Sheet:
    """复发率 by unit or category, with the total last."""
    if dimension not in (Dimension.UNIT, Dimension.CATEGORY):
        raise field_problem("query.dimension", "复发率 is grouped by unit or category", "invalid_dimension")
    data = await recurrence_items(session, f, dimension)
    header = ["分组", "销号数", "问题复发数", "复发率"]
    rows = [[i["label"], i["closed"], i["recurred"], i["recurrence_rate"]] for i in data["items"]]
    return header, [*rows, ["合计", data["closed"], data["recurred"], data["recurrence_rate"]]]
