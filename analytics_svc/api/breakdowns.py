"""KPIs per group (breakdown), per bucket (trend), and the escalation funnel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from analytics_svc.api.params import WindowDep
from analytics_svc.domain.kpis import Dimension
from analytics_svc.domain.windows import Interval
from analytics_svc.handlers.breakdowns import breakdown_items, funnel_stages, trend_points
from analytics_svc.schemas import Breakdown, Trend
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


@router.get("/breakdown", response_model=Breakdown, response_model_by_alias=True)
async def breakdown(session: SessionDep, q: WindowDep, dimension: Dimension = Dimension.CATEGORY) -> dict[str, Any]:
    """KPIs per category, channel, unit (the children of the scope unit), level, track, request type or risk."""
    f = q.filters
    return {"dimension": dimension, "from": f.start, "to": f.end, "unit_id": f.unit_id,
            "items": await breakdown_items(session, f, dimension)}


@router.get("/trend", response_model=Trend, response_model_by_alias=True)
async def trend(session: SessionDep, q: WindowDep, metric: str = "received",
                interval: Interval = Interval.DAY) -> dict[str, Any]:
    """One KPI per day, week or month (buckets in Asia/Shanghai), each with 环比 and 同比."""
    f = q.filters
    points = await trend_points(session, f, metric, interval)
    return {"metric": metric, "interval": interval, "from": f.start, "to": f.end, "unit_id": f.unit_id,
            "points": points}


@router.get("/funnel")
async def funnel(session: SessionDep, q: WindowDep) -> dict[str, Any]:
    """The escalation funnel (grid → community → street → district) of the window's cases."""
    f = q.filters
    return {"from": f.start, "to": f.end, "unit_id": f.unit_id, "stages": await funnel_stages(session, f)}
