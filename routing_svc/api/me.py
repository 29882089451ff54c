"""What a frontend loads first: ``GET /api/v1/me`` (routing owns the org, so it answers who the caller is in it)
and ``GET /api/v1/dictionaries`` (every code with its Chinese label; one table in ``shared.dictionaries``)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from routing_svc.tables import OrgUnit
from shared import capabilities, dictionaries
from shared.auth import CurrentUser
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["me"])


@router.get("/me", response_model=capabilities.Me, operation_id="get_me")
async def me(session: SessionDep, user: CurrentUser) -> capabilities.Me:
    """当前用户: roles, the unit and its path (区 → 街道 → 社区 → 网格), the scope of what the caller sees and the
    capabilities the caller's roles grant (a frontend shows only the actions that will be allowed)."""
    path: list[capabilities.UnitRef] = []
    unit = None
    if user.unit_id is not None:
        row = (await session.execute(select(OrgUnit).where(OrgUnit.id == user.unit_id))).scalar_one_or_none()
        if row is not None:
            units = {u.id: u for u in (await session.execute(
                select(OrgUnit).where(OrgUnit.id.in_(row.path)))).scalars()}  # type: ignore[attr-defined]
            path = [capabilities.UnitRef(id=u.id, name=u.name, level=u.level)
                    for u in (units.get(i) for i in row.path) if u is not None]
            unit = path[-1] if path else None
    scope = "all" if user.is_global else "subtree" if user.unit_id else "none"
    return capabilities.Me(
        sub=user.sub, name=user.name or None,
        roles=[capabilities.Labelled(code=r, label=dictionaries.ROLE.get(r, r)) for r in sorted(user.roles)],
        unit=unit, unit_path=path, scope=scope,
        capabilities=[capabilities.Labelled(code=c, label=capabilities.LABELS[c])
                      for c in capabilities.allowed(frozenset(user.roles))])


@router.get("/dictionaries", response_model=dictionaries.Dictionaries, operation_id="get_dictionaries",
            tags=["dictionaries"])
async def get_dictionaries(response: Response, user: CurrentUser) -> dictionaries.Dictionaries:
    """字典: categories (两级分类), request types, channels, case and assignment statuses, outcomes, tracks (门诊),
    forces (联动力量), levels, risk levels, 回访 results and roles, each ``{code, label}`` with the Chinese label.
    The same for every caller; cacheable for an hour."""
    response.headers["Cache-Control"] = "private, max-age=3600"
    return dictionaries.dictionaries()
