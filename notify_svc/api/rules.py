"""The notification rules: read, replace (a new version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response

from notify_svc.deps import Deps
from notify_svc.domain.rules import DEFAULT_RULES, RuleSet, RulesInvalid
from notify_svc.handlers import admin
from notify_svc.schemas import RulesPublic
from notify_svc.store.config import TEMPLATE_KEYS, rules_doc
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.preconditions import IfMatch, etag
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["admin"])

AdminOnly = require_roles(Role.ADMIN)


def _rules_public(version: int, doc: dict[str, Any], by: str | None, at: datetime | None) -> RulesPublic:
    have = {r.get("id") for r in doc.get("rules", []) if isinstance(r, dict)}
    missing = [r for r in DEFAULT_RULES["rules"] if r["id"] not in have] if version else []
    return RulesPublic(version=version, doc=doc, updated_by=by, updated_at=at, shipped_missing=missing)


@router.get("/notification-rules", response_model=RulesPublic)
async def get_rules(session: SessionDep, user: CurrentUser, response: Response) -> RulesPublic:
    """The active rules (``ETag`` = their version: send it back as ``If-Match`` to replace them)."""
    version, doc, row = await rules_doc(session)
    response.headers["ETag"] = etag(version)
    return _rules_public(version, doc, row.created_by if row else None, row.created_at if row else None)


@router.put("/notification-rules", response_model=RulesPublic, dependencies=[AdminOnly],
            responses={412: {"description": "saved by someone else since you read them"},
                       428: {"description": "If-Match missing"}})
async def put_rules(doc: dict[str, Any], session: SessionDep, user: CurrentUser, deps: Deps, version: IfMatch,
                    response: Response) -> RulesPublic:
    """Replace the notification rules (a new version; who and when are kept with every version). Needs
    ``If-Match`` with the version read (428 without, 412 when someone saved in between)."""
    try:
        RuleSet.parse(doc, TEMPLATE_KEYS)
    except RulesInvalid as exc:
        raise Problem(422, "invalid_rules", str(exc), errors=exc.errors) from exc
    row = await pending.run(session, lambda: admin.save_rules(session, deps, doc, user.sub, version))
    response.headers["ETag"] = etag(row.version)
    return _rules_public(row.version, doc, user.sub, row.created_at)
