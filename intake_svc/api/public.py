"""The citizen's progress page (no login)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from intake_svc.deps import Deps
from intake_svc.handlers import progress
from intake_svc.schemas import PublicProgress
from shared.problems import Problem
from shared.ratelimit import client_address
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1/public", tags=["public"])


@router.get("/cases/{code}", response_model=PublicProgress)
async def public_progress(
    code: Annotated[str, Path(max_length=32, pattern=r"^FQ-\d{8}-\d{6,}$")],
    phone_last4: Annotated[str, Query(pattern=r"^\d{4}$", description="last four digits of the applicant's phone")],
    request: Request,
    session: SessionDep,
    deps: Deps,
) -> PublicProgress:
    """Citizen progress page (no login): status and a plain-Chinese timeline, no personal data. Rate-limited per
    client address (``X-Forwarded-For`` only from the proxies configured, see ``client_address``); an unknown code
    and a wrong phone get the same answer after the same work."""
    allowed, retry = deps.public_limiter.allow(await client_address(request))
    if not allowed:
        raise Problem(429, "rate_limited", "查询过于频繁，请稍后再试", headers={"Retry-After": str(int(retry) + 1)})
    return await progress.public_progress(session, deps, code, phone_last4)
