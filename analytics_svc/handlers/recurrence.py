"""复发率 (回头看 问题复发 ÷ closed): closures and recurrences recorded from events, and the figures by unit and
category for the KPI API and the export."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels
from analytics_svc.deps import AnalyticsDeps
from analytics_svc.domain.kpis import Dimension
from analytics_svc.handlers import facts
from analytics_svc.handlers.breakdowns import OWN_LEVEL
from analytics_svc.store import recurrence, units
from analytics_svc.store.kpis import Filters
from shared.bus.handlers import EventContext
from shared.events import CaseClosed
from shared.events.lookback import LookbackRecurred

RECURRENCE_LABEL = "复发率"


async def on_case_closed(ctx: EventContext[AnalyticsDeps], event: CaseClosed) -> None:
    """The fold's (闭环率), and the closure row 复发率 counts."""
    await facts.on_case_event(ctx, event)
    recurrence.record_closure(ctx.session, event)


async def on_lookback_recurred(ctx: EventContext[AnalyticsDeps], event: LookbackRecurred) -> None:
    await recurrence.record_recurrence(ctx.session, event)


async def recurrence_items(session: AsyncSession, f: Filters, group: Dimension | None) -> dict[str, Any]:
    """The window's totals and, with ``group`` (unit or category), one item per group, most closed first."""
    total = (await recurrence.recurrence_counts(session, f, None) or
             [{"closed": 0, "recurred": 0, "recurrence_rate": None}])[0]
    out: dict[str, Any] = {"from": f.start, "to": f.end, "unit_id": f.unit_id, "closed": total["closed"],
                           "recurred": total["recurred"], "recurrence_rate": total["recurrence_rate"], "items": []}
    if group is None:
        return out
    rows = await recurrence.recurrence_counts(session, f, group)
    names = await units.names(session, [r["key"] for r in rows if r["key"]]) if group == Dimension.UNIT else {}
    for r in rows:
        if group == Dimension.UNIT:
            label = names.get(r["key"], r["key"]) if r["key"] else OWN_LEVEL
        else:
            label = labels.label(group, r["key"]) if r["key"] else "未分类"
        out["items"].append({**r, "label": label})
    return out
