"""网格地图: the scope's grids as GeoJSON with their numbers, for the big screen's map."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from analytics_svc.api.params import WindowDep
from analytics_svc.handlers.grids import grid_map
from analytics_svc.schemas import GridMap
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


@router.get("/map", response_model=GridMap, response_model_by_alias=True)
async def grid_map_of_window(session: SessionDep, q: WindowDep) -> dict[str, Any]:
    """网格地图: every active grid with an area (polygon) in the scope unit's subtree, as a GeoJSON FeatureCollection;
    each feature's properties hold the grid's cases received in the window (受理量, 在办, 已化解, 超期) and their
    risk (红/黄/蓝). A unit outside the caller's scope is 404 `unit_not_found`, like every analytics endpoint."""
    f = q.filters
    return {"from": f.start, "to": f.end, "unit_id": f.unit_id, **await grid_map(session, f)}
