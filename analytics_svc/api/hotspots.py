"""分析研判: hotspots and spikes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from analytics_svc.api.params import WindowDep
from analytics_svc.handlers.hotspots import hotspot_lists
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


@router.get("/hotspots")
async def hotspots(session: SessionDep, q: WindowDep,
                   limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """分析研判: top grids, buildings, addresses (blind-index keys), categories and repeat applicants; spikes found."""
    f = q.filters
    return {"from": f.start, "to": f.end, "unit_id": f.unit_id, **await hotspot_lists(session, f, limit)}
