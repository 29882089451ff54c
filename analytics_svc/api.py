"""Analytics REST API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from analytics_svc import handlers
from analytics_svc.tables import UnitPath
from shared.auth import CurrentUser, Principal
from shared.clock import SHANGHAI
from shared.problems import Problem, field_problem, require_aware
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["kpis"])


class Kpis(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    unit_id: str | None
    received: int
    assigned: int
    with_outcome: int
    resolved: int
    resolution_rate: float | None
    completion_rate: float | None


def _as_instant(value: datetime | date, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        require_aware(value, f"query.{'to' if end else 'from'}")
        return value
    # a plain date is a whole day in Asia/Shanghai; `to` is inclusive
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, SHANGHAI)


async def _scope_unit(session: SessionDep, user: Principal, unit_id: str | None) -> str | None:
    if unit_id is None:
        return None if user.is_global else user.unit_id
    unit = await session.get(UnitPath, unit_id)
    if unit is None or not user.can_see(unit.path):
        raise Problem(404, "unit_not_found", f"no unit {unit_id} in your scope")
    return unit_id


@router.get("/kpis", response_model=Kpis)
async def kpis(
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[datetime | date | None, Query(alias="from")] = None,
    to: datetime | date | None = None,
    unit_id: str | None = None,
) -> dict[str, Any]:
    """KPIs over the cases received in the window (default: the last 30 days) in a unit's subtree."""
    now = datetime.now(UTC)
    end = _as_instant(to, end=True) if to else now
    start = _as_instant(from_, end=False) if from_ else end - timedelta(days=30)
    if start >= end:
        raise field_problem("query.from", "must be before `to`", "invalid_range")
    scope = await _scope_unit(session, user, unit_id)
    figures = await handlers.kpis(session, start, end, scope)
    return {"from": start, "to": end, "unit_id": scope, **figures}
