"""The KPIs of a window, with 环比 (the window of the same length just before) and 同比 (a year earlier)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.domain.kpis import HOTLINE_KEYS
from analytics_svc.domain.windows import year_earlier
from analytics_svc.store import kpis as kpi_store
from analytics_svc.store.kpis import Filters
from shared.events.case import Channel


def _window(values: dict[str, Any], f: Filters) -> dict[str, Any]:
    return {"from": f.start, "to": f.end, **values}


async def kpis_with_compare(session: AsyncSession, f: Filters, compare: bool) -> dict[str, Any]:
    """The window's KPIs and, with ``compare``, those of 环比 and 同比 (one query when they coincide)."""
    windows = [f]
    if compare:
        length = f.end - f.start
        windows += [f.within((f.start - length, f.start)), f.within((year_earlier(f.start), year_earlier(f.end)))]
    distinct: dict[tuple[datetime, datetime], Filters] = {}
    for w in windows:
        distinct.setdefault((w.start, w.end), w)  # a one-year window: 环比 = 同比

    async def other(w: Filters) -> dict[str, Any]:
        async with AsyncSession(session.bind) as own:  # a session (connection) of its own: the windows run at once
            return await kpi_store.kpis(own, w)

    first, *rest = distinct.values()
    results = await asyncio.gather(kpi_store.kpis(session, first), *(other(w) for w in rest))
    by_window = dict(zip(distinct, results, strict=True))
    current = by_window[(f.start, f.end)]
    out = {**_window(current, f), "unit_id": f.unit_id, "assigned": current["counts"]["assigned"],
           "with_outcome": current["counts"]["with_outcome"], "resolved": current["counts"]["resolved"]}
    if compare:
        for name, w in (("previous", windows[1]), ("year_ago", windows[2])):
            out[name] = _window(by_window[(w.start, w.end)], w)
    return out


async def hotline_kpis(session: AsyncSession, f: Filters) -> dict[str, Any]:
    """12345 三率 (按时签收率, 按时办结率, 满意率) over the hotline_12345 cases of the window, with 环比 and 同比."""
    f.channel = Channel.HOTLINE_12345.value
    full = await kpis_with_compare(session, f, True)
    pick = lambda d: {k: d[k] for k in ("from", "to", *HOTLINE_KEYS)}  # noqa: E731
    return {**pick(full), "unit_id": f.unit_id, "previous": pick(full["previous"]), "year_ago": pick(full["year_ago"])}
