"""KPIs with 同比/环比, and the hotline's 三率."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from analytics_svc.api.params import WindowDep
from analytics_svc.domain.kpis import Dimension
from analytics_svc.handlers.kpis import hotline_kpis, kpis_with_compare
from analytics_svc.handlers.recurrence import recurrence_items
from analytics_svc.schemas import Hotline, Kpis, Recurrence, RecurrenceGroupBy
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


@router.get("/kpis", response_model=Kpis, response_model_by_alias=True)
async def kpis(session: SessionDep, q: WindowDep, compare: bool = True) -> dict[str, Any]:
    """Section 7 KPIs over the cases received in the window (default: the last 30 days) in a unit's subtree,
    with 环比 (`previous`) and 同比 (`year_ago`) unless `compare=false`."""
    return {**await kpis_with_compare(session, q.filters, compare), "unit_name": q.unit_name}


@router.get("/kpis/hotline", response_model=Hotline, response_model_by_alias=True)
async def hotline(session: SessionDep, q: WindowDep) -> dict[str, Any]:
    """12345 三率 (按时签收率, 按时办结率, 满意率) over the hotline_12345 cases of the window."""
    return await hotline_kpis(session, q.filters)


@router.get("/kpis/recurrence", response_model=Recurrence, response_model_by_alias=True)
async def recurrence(session: SessionDep, q: WindowDep, group: RecurrenceGroupBy | None = None) -> dict[str, Any]:
    """复发率 (回头看 found the problem back ÷ cases closed) over the closures (销号) of the window, credited to the
    closing unit; with `group=unit` per child unit of the scope, with `group=category` per category."""
    return await recurrence_items(session, q.filters, Dimension(group.value) if group else None)
