"""The delivery log of a case."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from notify_svc.schemas import DeliveryPublic
from notify_svc.tables import CaseInfo, Delivery
from shared.auth import CurrentUser, Role
from shared.pagination import Page, keyset_page
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["admin"])

LOG_READERS = (Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_VIEWER)


@router.get("/notifications", response_model=Page[DeliveryPublic])
async def notifications(session: SessionDep, user: CurrentUser, case_id: uuid.UUID, cursor: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[DeliveryPublic]:
    """The delivery log of a case: for admins of a unit the case was assigned to (or above it)."""
    if not user.has_any(*LOG_READERS, Role.ADMIN, Role.SERVICE):
        raise Problem(403, "forbidden_role", f"the delivery log needs one of the roles: {', '.join(LOG_READERS)}")
    own = user.scope_unit()
    info = await session.get(CaseInfo, case_id)
    if info is None or not (own is None or own in info.visible_units):
        raise Problem(404, "case_not_found", f"no case {case_id} in your scope")
    stmt = select(Delivery).where(Delivery.case_id == case_id)
    rows, next_cursor = await keyset_page(session, stmt, Delivery, cursor, limit)
    return Page(items=[DeliveryPublic.model_validate(r, from_attributes=True) for r in rows],
                next_cursor=next_cursor)
