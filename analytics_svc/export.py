"""Exports with Chinese headers: the case ledger (台账), the KPI table (with 环比/同比) and breakdown tables.

CSV is UTF-8 with a BOM (so spreadsheet programs detect the encoding); XLSX is written by openpyxl in write-only
mode. The ledger carries codes, units and facts only: no personal data (it never had any).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels, queries
from analytics_svc.api import Dimension, WindowDep, breakdown_items, kpis_with_compare
from shared.clock import SHANGHAI
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["export"])


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Table(StrEnum):
    LEDGER = "ledger"
    KPIS = "kpis"
    BREAKDOWN = "breakdown"


LEDGER_COLUMNS: list[tuple[str, str]] = [
    ("code", "案件编号"), ("received_at", "受理时间"), ("channel", "受理渠道"), ("request_type", "诉求类型"),
    ("category", "矛盾类别"), ("risk_level", "风险等级"), ("home_unit", "首办单位"), ("unit", "当前承办单位"),
    ("level", "当前层级"), ("track", "分级诊疗"), ("accepted_at", "签收时间"), ("outcome", "办结结果"),
    ("outcome_at", "办结时间"), ("resolved_level", "化解层级"), ("outcome_on_time", "是否按时办结"),
    ("escalations", "提级次数"), ("returns", "退单次数"), ("extensions", "延期次数"),
    ("feedback_result", "回访结果"), ("reopen_count", "重办次数"), ("closed_at", "销号时间"),
]


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
        _local(r["closed_at"]),
    ]


async def ledger_rows(session: AsyncSession, f: queries.Filters, limit: int) -> list[list[Any]]:
    scope = "(f.home_path @> CAST(ARRAY[:u] AS varchar[]) OR f.outcome_path @> CAST(ARRAY[:u] AS varchar[]))" \
        if f.unit_id else "TRUE"
    rows = (await session.execute(text(f"""
        SELECT f.*, hu.name AS home_name, cu.name AS unit_name_now
        FROM case_facts f
        LEFT JOIN units hu ON hu.unit_id = f.home_unit_id
        LEFT JOIN units cu ON cu.unit_id = f.unit_id
        WHERE f.received_at >= :start AND f.received_at < :end AND f.merged_into IS NULL AND {scope}{f.facets("f")}
        ORDER BY f.received_at, f.code LIMIT :limit"""), {**f.bind(), "limit": limit + 1})).mappings().all()
    if len(rows) > limit:
        raise Problem(422, "export_too_large", f"more than {limit} cases in the window: export a shorter window",
                      errors=[{"field": "query.from", "reason": "window too large", "code": "export_too_large"}])
    return [ledger_row(dict(r)) for r in rows]


def _kpi_table(data: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["指标", "本期", "环比（上期）", "同比（去年同期）"]
    rows = [[label, data[k], data["previous"][k], data["year_ago"][k]] for k, label in queries.KPI_LABELS.items()]
    return header, rows


def _breakdown_table(dimension: str, items: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = ["分组", *queries.KPI_LABELS.values()]
    return header, [[i["label"], *(i["kpis"][k] for k in queries.KPI_LABELS)] for i in items]


def _csv(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
        if buf.tell() > 64_000:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def _xlsx(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


TITLES = {Table.LEDGER: "案件台账", Table.KPIS: "指标", Table.BREAKDOWN: "分组统计"}


@router.get("/export", response_class=Response, responses={200: {"content": {
    "text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}})
async def export(request: Request, session: SessionDep, q: WindowDep, format: Format = Format.CSV,
                 table: Table = Table.LEDGER,
                 dimension: Annotated[Dimension, Query(description="for table=breakdown")] = Dimension.CATEGORY,
                 ) -> Response:
    """The case ledger (台账), the KPI table (本期/环比/同比) or a breakdown table, as CSV or XLSX."""
    f = q.filters
    if table == Table.LEDGER:
        header = [h for _, h in LEDGER_COLUMNS]
        rows = await ledger_rows(session, f, request.app.state.settings.export_max_rows)
    elif table == Table.KPIS:
        header, rows = _kpi_table(await kpis_with_compare(session, f, True))
    else:
        header, rows = _breakdown_table(dimension.value, await breakdown_items(session, q, dimension))
    stamp = f"{f.start.astimezone(SHANGHAI):%Y%m%d}-{f.end.astimezone(SHANGHAI):%Y%m%d}"
    name = f"{table.value}-{stamp}.{format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == Format.CSV:
        return StreamingResponse(_csv(header, rows), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(_xlsx(TITLES[table], header, rows), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
