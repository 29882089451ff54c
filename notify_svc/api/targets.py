"""Channel targets: a unit's mailbox (email) and group robot (webhook)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from sqlalchemy import select

from notify_svc.deps import Deps
from notify_svc.domain.rules import Channel
from notify_svc.handlers import admin
from notify_svc.schemas import TargetIn, TargetPublic
from notify_svc.tables import ChannelTarget
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.preconditions import IfMatch, etag
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["admin"])

AdminOnly = require_roles(Role.ADMIN)


def _target_public(t: ChannelTarget) -> TargetPublic:
    return TargetPublic(unit_id=t.unit_id, channel=t.channel, address=t.address, signed=bool(t.secret),
                        updated_by=t.updated_by, updated_at=t.updated_at, version=t.version)


@router.put("/units/{unit_id}/channels/{channel}", response_model=TargetPublic, dependencies=[AdminOnly])
async def put_target(unit_id: str, channel: Literal["email", "webhook"], body: TargetIn, session: SessionDep,
                     user: CurrentUser, deps: Deps, version: IfMatch, response: Response) -> TargetPublic:
    """Where a unit's email or robot notifications go. ``If-Match``: the target's ``ETag`` (``GET`` it), or
    ``"0"`` to create one the unit does not have yet (412 when it changed, or exists, since)."""
    if channel == Channel.EMAIL and "@" not in body.address:
        raise Problem(422, "validation_failed", "not an email address",
                      errors=[{"field": "address", "reason": "not an email address", "code": "invalid_email"}])
    if channel == Channel.WEBHOOK and not body.address.startswith(("http://", "https://")):
        raise Problem(422, "validation_failed", "not an http(s) URL",
                      errors=[{"field": "address", "reason": "not an http(s) URL", "code": "invalid_url"}])
    async with pending.transaction(session):
        t = await admin.save_target(session, deps, unit_id, Channel(channel), body.address, body.secret, user.sub,
                                    version)
        out = _target_public(t)
    response.headers["ETag"] = etag(out.version)
    return out


@router.get("/units/{unit_id}/channels/{channel}", response_model=TargetPublic, dependencies=[AdminOnly])
async def get_target(unit_id: str, channel: Literal["email", "webhook"], session: SessionDep, user: CurrentUser,
                     response: Response) -> TargetPublic:
    """One target; ``ETag`` is its version (a PUT sends it back as ``If-Match``). 404 when the unit has none."""
    t = await session.get(ChannelTarget, (unit_id, channel))
    if t is None:
        raise Problem(404, "target_not_found", f"unit {unit_id} has no {channel} target (create it with If-Match "
                      '"0")')
    response.headers["ETag"] = etag(t.version)
    return _target_public(t)


@router.get("/units/{unit_id}/channels", response_model=list[TargetPublic], dependencies=[AdminOnly])
async def get_targets(unit_id: str, session: SessionDep, user: CurrentUser) -> list[TargetPublic]:
    rows = (await session.execute(select(ChannelTarget).where(ChannelTarget.unit_id == unit_id))).scalars()
    return [_target_public(t) for t in rows]
