"""回头看 over HTTP: read one, a case's, and record the result (稳定 / 问题复发) with ``Idempotency-Key``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select

from routing_svc.deps import Deps
from routing_svc.handlers import lookback, lookback_results
from routing_svc.handlers.routing import HANDLER_ROLES
from routing_svc.schemas_lookback import LookbackPublic, LookbackResultBody
from routing_svc.tables import Lookback
from shared.auth import CurrentUser, require_roles
from shared.idempotency import Answer, Idempotent
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["lookbacks"])

HANDLERS = require_roles(*HANDLER_ROLES)
RESULT_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such 回头看 in your scope"},
    409: {"description": "not due yet, done already, the case is no longer closed, or the same Idempotency-Key "
                         "still in progress"},
    422: {"description": "invalid body (names the field), or Idempotency-Key reused with another body"},
}


def _public(lb: Lookback) -> LookbackPublic:
    return LookbackPublic.model_validate(lb, from_attributes=True)


@router.get("/lookbacks/{lookback_id}", response_model=LookbackPublic,
            responses={404: {"description": "no such 回头看 in your scope"}})
async def get_lookback(lookback_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> LookbackPublic:
    """One 回头看: its rule, due time, status and result."""
    return _public(await lookback.get_lookback(session, lookback_id, user))


@router.get("/cases/{case_id}/lookbacks", response_model=list[LookbackPublic])
async def case_lookbacks(case_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> list[LookbackPublic]:
    """A case's 回头看, oldest first (only those of units in your scope: none is an empty list)."""
    rows = (await session.execute(select(Lookback).where(Lookback.case_id == case_id)
                                  .order_by(Lookback.created_at, Lookback.id))).scalars()  # type: ignore[arg-type]
    return [_public(lb) for lb in rows if user.can_see(lb.unit_path)]


@router.post("/lookbacks/{lookback_id}/result", status_code=200, response_model=LookbackPublic,
             dependencies=[HANDLERS], responses=RESULT_RESPONSES)
async def record_result(lookback_id: uuid.UUID, body: LookbackResultBody, deps: Deps, session: SessionDep,
                        user: CurrentUser, idem: Idempotent) -> Response:
    """回头看 result by the resolving unit, once due: ``stable`` (稳定: the case stays closed, emits
    ``fq.case.lookback_stable.v1``) or ``recurred`` (问题复发: emits ``fq.case.lookback_recurred.v1`` and reopens the
    case to the resolving unit — ``fq.case.reopened.v1`` reason ``lookback_recurred``, then ``fq.case.assigned.v1``;
    its clocks start again). With an ``Idempotency-Key`` a repeated submission is applied once."""
    async def work() -> Answer:
        lb = await lookback_results.record_result(session, deps, lookback_id, user, body)
        await session.flush()
        return Answer(200, _public(lb))

    return await idem.run(session, work)
