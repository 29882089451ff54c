"""Per-person figures (人员绩效, for unit leaders), per-force figures (七调联动) and the aging list (超期积案, for the
weekly 分析研判 meeting)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from analytics_svc.api.params import WindowDep, resolve_scope
from analytics_svc.deps import Deps
from analytics_svc.handlers import people_report
from shared.auth import CurrentUser
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])

SCOPED: dict[int | str, dict[str, Any]] = {404: {"description": "the unit is not in your scope"}}


@router.get("/people", responses={**SCOPED, 403: {"description": "not a leader of a unit"}})
async def people(session: SessionDep, q: WindowDep, user: CurrentUser) -> dict[str, Any]:
    """人员绩效: per member (by id; names are routing's) of the scope unit's subtree, over the cases received in the
    window: cases handled (承办), resolved (化解) in their hands, outcomes on time (按时办结) and the 回访 answers
    of the cases they resolved (满意率). For the leaders of units, of their subtree only."""
    people_report.require_leader(user)
    f = q.filters
    return {"from": f.start, "to": f.end, "unit_id": f.unit_id, "items": await people_report.person_items(session, f)}


@router.get("/forces", responses=SCOPED)
async def forces(session: SessionDep, q: WindowDep) -> dict[str, Any]:
    """七调联动: per co-handling force, the cases it was given (received in the window, in scope), their outcomes,
    化解率, 按时办结率 and 满意率."""
    f = q.filters
    return {"from": f.start, "to": f.end, "unit_id": f.unit_id, "items": await people_report.force_items(session, f)}


@router.get("/aging", responses=SCOPED)
async def aging(deps: Deps, session: SessionDep, user: CurrentUser,
                days: Annotated[int, Query(ge=1, le=3650, description="older than this many days since received")]
                = people_report.AGING_DEFAULT_DAYS,
                unit_id: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    """超期积案 (分析研判): open red and yellow cases received more than ``days`` days ago, by the unit holding them
    now (units with the most red cases first; in each, oldest first)."""
    scope, _, _ = await resolve_scope(session, user, unit_id)
    now = deps.clock.now()
    units = await people_report.aging_units(session, scope, days, now)
    return {"days": days, "as_of": now, "unit_id": scope, "total": sum(len(u["cases"]) for u in units),
            "units": units}
