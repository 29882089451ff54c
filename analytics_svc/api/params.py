"""The query every analytics endpoint takes: a window, a scope unit (within the caller's scope), facets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.deps import Deps
from analytics_svc.store import units
from analytics_svc.store.kpis import Filters
from shared.auth import CurrentUser, Principal
from shared.clock import SHANGHAI
from shared.events.case import Channel, RequestType
from shared.problems import Problem, field_problem, require_aware
from shared.runtime import SessionDep

MAX_WINDOW = timedelta(days=3660)
DEFAULT_DAYS = 30


def as_instant(value: str, *, end: bool) -> datetime:
    """A date (a whole day in Asia/Shanghai; as ``to`` inclusive) or a time with a UTC offset."""
    field = f"query.{'to' if end else 'from'}"
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, SHANGHAI)
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise field_problem(field, "must be a date (2026-11-23) or a time with offset", "invalid_datetime") from None
    require_aware(when, field)
    return when


@dataclass
class WindowQuery:
    filters: Filters
    scope_path: list[str]
    unit_name: str | None = None


async def resolve_scope(session: AsyncSession, user: Principal,
                        unit_id: str | None) -> tuple[str | None, list[str], str | None]:
    """The unit whose subtree the numbers cover (404 outside the caller's scope); None = everything (global roles).

    Cases count in a unit's subtree once they are assigned; until then they have no unit path.
    """
    wanted = unit_id if unit_id is not None else user.scope_unit()
    if wanted is None:
        return None, [], None
    found = await units.path_and_name(session, wanted)
    if found is None or not user.can_see(found[0]):
        if unit_id is None:
            raise Problem(404, "unit_not_found", f"your unit {wanted} is not known to analytics yet")
        raise Problem(404, "unit_not_found", f"no unit {unit_id} in your scope")
    path, name = found
    return wanted, path, name


async def window_query(
    deps: Deps,
    session: SessionDep,
    user: CurrentUser,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="start (a date: that whole day)")]
    = None,
    to: Annotated[str | None, Query(max_length=40, description="end, exclusive (a date: inclusive)")] = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    channel: Channel | None = None,
    category: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+(\.[a-z_]+)?$")] = None,
    request_type: RequestType | None = None,
    days: Annotated[int | None, Query(ge=1, le=3660, description="without `from`: the window's length")] = None,
) -> WindowQuery:
    now = deps.clock.now()
    end = as_instant(to, end=True) if to else now
    start = as_instant(from_, end=False) if from_ else end - timedelta(days=days or DEFAULT_DAYS)
    if start >= end:
        raise field_problem("query.from", "must be before `to`", "invalid_range")
    if end - start > MAX_WINDOW:
        raise field_problem("query.from", "the window may span at most ten years", "window_too_long")
    scope, path, name = await resolve_scope(session, user, unit_id)
    f = Filters(start, end, scope, channel.value if channel else None, category,
                request_type.value if request_type else None, len(path) or None)
    return WindowQuery(f, path, name)


WindowDep = Annotated[WindowQuery, Depends(window_query)]
