"""The documents' KPIs: 协议书 count and rate (cases with a signed agreement per resolved case), 司法确认 count, 履行率
(已履行 of the agreements whose 履行 is recorded), in total and per category or unit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import labels
from analytics_svc.domain.kpis import rate
from analytics_svc.handlers.breakdowns import OWN_LEVEL
from analytics_svc.store import units
from analytics_svc.store.kpis import Filters
from analytics_svc.store.records import agreement_counts

COUNTS = ("resolved", "cases_with_agreement", "agreements", "judicial_applied", "judicial_confirmed", "performed",
          "not_performed")


def with_rates(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: c.get(k, 0) for k in COUNTS}
    out["agreement_rate"] = rate(out["cases_with_agreement"], out["resolved"])
    out["judicial_confirmation_rate"] = rate(out["judicial_confirmed"], out["agreements"])
    out["performance_rate"] = rate(out["performed"], out["performed"] + out["not_performed"])
    return out


async def document_kpis(session: AsyncSession, f: Filters, by: str | None) -> dict[str, Any]:
    total = (await agreement_counts(session, f, None) or [{}])[0]
    out: dict[str, Any] = {"from": f.start, "to": f.end, "unit_id": f.unit_id, **with_rates(total), "by": by,
                           "items": []}
    if by is None:
        return out
    groups = await agreement_counts(session, f, by)
    names = await units.names(session, [g["k"] for g in groups if g["k"]]) if by == "unit" else {}

    def label(key: str | None) -> str:
        if by == "unit":
            return names.get(key, key) if key else OWN_LEVEL
        return labels.label("category", key)

    out["items"] = [{"key": g["k"], "label": label(g["k"]), **with_rates(g)} for g in groups]
    return out
