"""Internal API for other services (role ``service`` only): a member's contact data, opened from its seal.

Notify reads here the phone of a staff member it must reach; contact data never travels on a topic.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from routing_svc.deps import Deps
from routing_svc.schemas import MemberContact
from routing_svc.tables import Member
from shared.auth import CurrentUser, Role
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1/internal", tags=["internal"])
log = structlog.get_logger(__name__)


@router.get("/members/{member_id}/contact", response_model=MemberContact)
async def member_contact(member_id: str, deps: Deps, session: SessionDep, user: CurrentUser) -> MemberContact:
    if Role.SERVICE not in user.roles:
        raise Problem(403, "forbidden_role", "only services may read contact data here")
    m = await session.get(Member, member_id)
    if m is None:
        raise Problem(404, "member_not_found", f"no member {member_id}")
    aad = m.id.encode()
    log.info("member_contact_read", member_id=m.id, by=user.sub)
    return MemberContact(member_id=m.id, unit_id=m.unit_id, name=deps.pii.open(m.name_sealed, aad),
                         phone=deps.pii.open(m.phone_sealed, aad) if m.phone_sealed else None, active=m.active)
