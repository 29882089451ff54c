"""Exports with Chinese headers: the case ledger (台账), the KPI table (with 环比/同比) and breakdown tables.

CSV is UTF-8 with a BOM (so spreadsheet programs detect the encoding); XLSX is written by openpyxl in write-only
mode.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook

from analytics_svc.api.params import WindowDep
from analytics_svc.deps import Deps
from analytics_svc.domain.kpis import Dimension
from analytics_svc.handlers.export import TITLES, export_table
from analytics_svc.handlers.people_report import AGING_DEFAULT_DAYS
from analytics_svc.schemas import Format, Table
from shared.auth import CurrentUser
from shared.clock import SHANGHAI
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["export"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


@router.get("/export", response_class=Response, responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
async def export(deps: Deps, session: SessionDep, q: WindowDep, format: Format = Format.CSV,
                 table: Table = Table.LEDGER,
                 dimension: Annotated[Dimension, Query(description="for table=breakdown")] = Dimension.CATEGORY,
                 aging_days: Annotated[int, Query(ge=1, le=3650, description="for table=aging")] = AGING_DEFAULT_DAYS,
                 *, user: CurrentUser) -> Response:
    """The case ledger (台账), the KPI table (本期/环比/同比), a breakdown table, per-person figures (人员绩效,
    leaders only), per-force figures (联动力量) or the aging list (超期积案), as CSV or XLSX."""
    f = q.filters
    header, rows = await export_table(session, f, table, dimension, deps.settings.export_max_rows, user=user,
                                      aging_days=aging_days, now=deps.clock.now())
    stamp = f"{f.start.astimezone(SHANGHAI):%Y%m%d}-{f.end.astimezone(SHANGHAI):%Y%m%d}"
    name = f"{table.value}-{stamp}.{format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == Format.CSV:
        return StreamingResponse(_csv(header, rows), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(_xlsx(TITLES[table], header, rows), headers=headers, media_type=XLSX)
