"""Who answers for a force in a unit's area (协办责任人) over HTTP, scoped like the org API: anyone in scope reads,
a street admin (inside the street) or an admin writes. POST takes ``Idempotency-Key``; PATCH and DELETE need
``If-Match``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from routing_svc.api.org import ORG_IMPORTERS, _unit
from routing_svc.deps import Deps
from routing_svc.handlers import responsibles
from routing_svc.schemas_tasks import ForceCode, ResponsibleCreate, ResponsiblePublic, ResponsibleUpdate
from shared.auth import CurrentUser
from shared.bus.pending import transaction as pending_transaction
from shared.idempotency import Answer, Idempotent
from shared.preconditions import etag, parse_if_match
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["org"])

UnitId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
IfMatch = Annotated[str | None, Header(max_length=64, description='the entry\'s ETag, e.g. "1"')]
BASE = "/org/units/{unit_id}/responsibles"


@router.get(BASE, response_model=list[ResponsiblePublic])
async def list_responsibles(unit_id: UnitId, session: SessionDep, user: CurrentUser,
                            effective: Annotated[bool, Query(description="the entry that applies for each force, "
                                                                         "inherited from the units above")] = False,
                            ) -> list[ResponsiblePublic]:
    """The members answering for each force in the unit's area (the unit's own entries, or with ``effective``
    what co-handling tasks use)."""
    unit = await _unit(session, unit_id, user)
    return await responsibles.list_for_unit(session, unit, effective)


@router.get(BASE + "/{force}", response_model=ResponsiblePublic)
async def get_responsible(unit_id: UnitId, force: ForceCode, session: SessionDep, user: CurrentUser,
                          response: Response) -> ResponsiblePublic:
    await _unit(session, unit_id, user)
    row = await responsibles.get(session, unit_id, force)
    response.headers["ETag"] = etag(row.version)
    return responsibles.to_public(row)


@router.post(BASE, status_code=201, response_model=ResponsiblePublic, dependencies=[ORG_IMPORTERS],
             responses={409: {"description": "the unit has a member for the force already"}})
async def create_responsible(unit_id: UnitId, body: ResponsibleCreate, deps: Deps, session: SessionDep,
                             user: CurrentUser, idem: Idempotent) -> Response:
    """Name the member who answers for ``force`` in the unit's area (units below inherit it)."""
    async def work() -> Answer:
        row = await responsibles.create(session, deps, unit_id, body, user)
        return Answer(201, responsibles.to_public(row), {
            "ETag": etag(row.version), "Location": f"/api/v1/org/units/{unit_id}/responsibles/{row.force}"})
    return await idem.run(session, work)


@router.patch(BASE + "/{force}", response_model=ResponsiblePublic, dependencies=[ORG_IMPORTERS],
              responses={412: {"description": "stale If-Match"}, 428: {"description": "If-Match missing"}})
async def update_responsible(unit_id: UnitId, force: ForceCode, body: ResponsibleUpdate, deps: Deps,
                             session: SessionDep, user: CurrentUser, response: Response,
                             if_match: IfMatch = None) -> ResponsiblePublic:
    """Another member answers for the force from now on (tasks already open stay with their member)."""
    async with pending_transaction(session):
        row = await responsibles.update(session, deps, unit_id, force, body, user, parse_if_match(if_match))
        out = responsibles.to_public(row)
    response.headers["ETag"] = etag(out.version)
    return out


@router.delete(BASE + "/{force}", status_code=204, dependencies=[ORG_IMPORTERS],
               responses={412: {"description": "stale If-Match"}, 428: {"description": "If-Match missing"}})
async def delete_responsible(unit_id: UnitId, force: ForceCode, session: SessionDep, user: CurrentUser,
                             if_match: IfMatch = None) -> Response:
    """The unit falls back to the entry of the unit above it."""
    async with pending_transaction(session):
        await responsibles.delete(session, unit_id, force, user, parse_if_match(if_match))
    return Response(status_code=204)
