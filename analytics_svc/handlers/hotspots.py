"""分析研判: the window's top grids, buildings, addresses, categories and repeat applicants, and the spikes found."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels
from analytics_svc.store import reports, units
from analytics_svc.store.kpis import Filters


async def hotspot_lists(session: AsyncSession, f: Filters, limit: int) -> dict[str, Any]:
    grids = await reports.top(session, f, reports.TOP_GRID, limit)
    buildings = await reports.top(session, f, reports.TOP_BUILDING, limit)
    names = await units.names(session, [k for k, _ in grids + buildings])
    addresses = await reports.top(session, f, reports.TOP_ADDRESS, limit)
    cats = await reports.top(session, f, reports.TOP_CATEGORY, limit)
    repeaters = await reports.top(session, f, reports.TOP_APPLICANT, limit)
    spikes = await reports.spikes(session, f, limit)
    spike_names = await units.names(session, [s["unit_id"] for s in spikes])
    return {
        "grids": [{"unit_id": k, "label": names.get(k, k), "count": n} for k, n in grids],
        "buildings": [{"unit_id": k, "label": names.get(k, k), "count": n} for k, n in buildings],
        # addresses only as opaque blind-index keys (shortened): never address text
        "addresses": [{"address_key": k[:16], "count": n} for k, n in addresses],
        "categories": [{"category": k, "label": labels.label("category", k), "count": n} for k, n in cats],
        "repeat_applicants": [{"applicant_key": k[:16], "count": n} for k, n in repeaters if n >= 2],
        "spikes": [{"alert_id": str(s["alert_id"]), "unit_id": s["unit_id"],
                    "label": spike_names.get(s["unit_id"], s["unit_id"]), "category": s["category"],
                    "category_label": labels.label("category", s["category"]), "day": s["day"].isoformat(),
                    "count": s["count"], "baseline": s["baseline"], "ratio": s["ratio"]} for s in spikes],
    }
