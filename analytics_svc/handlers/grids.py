"""The big screen's map (网格地图): a GeoJSON FeatureCollection of the scope's grids with their window numbers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.kpis import rate
from analytics_svc.store import grids
from analytics_svc.store.kpis import Filters

COUNTS = ("received", "open", "resolved", "overdue", "red", "yellow", "blue")


async def grid_map(session: AsyncSession, f: Filters) -> dict[str, Any]:
    """Every active grid with an area in the scope, its cases in the window (zero when none) and their risk.

    ``unmapped`` counts the window's cases in the scope whose grid has no area (so the map's total can be checked
    against the KPIs)."""
    shapes = await grids.areas(session, f.unit_id)
    numbers = await grids.per_grid(session, f)
    features = []
    for shape in shapes:
        n = numbers.get(shape["unit_id"])
        counts = {k: int(n[k]) if n else 0 for k in COUNTS}
        features.append({
            "type": "Feature", "id": shape["unit_id"], "geometry": shape["polygon"],
            "properties": {
                "unit_id": shape["unit_id"], "name": shape["name"] or shape["unit_id"], **counts,
                "resolution_rate": rate(int(n["resolved"]), int(n["with_outcome"])) if n else None,
                "satisfaction_rate": rate(int(n["satisfied"]), int(n["answers"])) if n else None,
            },
        })
    drawn = {s["unit_id"] for s in shapes}
    unmapped = sum(int(r["received"]) for g, r in numbers.items() if g not in drawn)
    return {"type": "FeatureCollection", "features": features, "unmapped": unmapped}
