"""Message templates: read, save a new version, preview."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from notify_svc.deps import Deps
from notify_svc.domain import templates
from notify_svc.handlers import admin
from notify_svc.schemas import TemplatePreview, TemplatePreviewIn, TemplatePublic, TemplateUpdate
from notify_svc.store.config import TEMPLATE_KEYS, active_template
from shared.auth import CurrentUser, Role, require_roles
from shared.bus import pending
from shared.preconditions import IfMatch, etag
from shared.problems import Problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["admin"])

AdminOnly = require_roles(Role.ADMIN)


def _spec(key: str) -> templates.TemplateSpec:
    if key not in templates.SPECS:
        raise Problem(404, "template_not_found", f"no template {key!r}; one of {sorted(TEMPLATE_KEYS)}")
    return templates.SPECS[key]


async def _template_public(session: Any, key: str) -> TemplatePublic:
    spec = _spec(key)
    version, subject, body, row = await active_template(session, key)
    return TemplatePublic(key=key, description=spec.description, version=version, subject=subject, body=body,
                          variables=sorted(spec.variables), updated_by=row.created_by if row else None,
                          updated_at=row.created_at if row else None)


def _template_problem(exc: templates.TemplateInvalid) -> Problem:
    return Problem(422, "invalid_template", str(exc), errors=exc.errors)


@router.get("/templates", response_model=list[TemplatePublic])
async def list_templates(session: SessionDep, user: CurrentUser) -> list[TemplatePublic]:
    return [await _template_public(session, k) for k in sorted(TEMPLATE_KEYS)]


@router.get("/templates/{key}", response_model=TemplatePublic)
async def get_template(key: str, session: SessionDep, user: CurrentUser, response: Response) -> TemplatePublic:
    """The active version (``ETag`` = its version: send it back as ``If-Match`` to save a new one)."""
    out = await _template_public(session, key)
    response.headers["ETag"] = etag(out.version)
    return out


@router.put("/templates/{key}", response_model=TemplatePublic, dependencies=[AdminOnly],
            responses={412: {"description": "saved by someone else since you read it"},
                       428: {"description": "If-Match missing"}})
async def put_template(key: str, body: TemplateUpdate, session: SessionDep, user: CurrentUser, deps: Deps,
                       version: IfMatch, response: Response) -> TemplatePublic:
    """Save a new version; a variable the key does not offer, or a syntax error, is a 422 naming it. Needs
    ``If-Match`` with the version read (428 without, 412 when someone saved in between)."""
    _spec(key)
    try:
        templates.check(key, body.subject, body.body)
    except templates.TemplateInvalid as exc:
        raise _template_problem(exc) from exc
    await pending.run(session, lambda: admin.save_template(session, deps, key, body.subject, body.body, user.sub,
                                                           version))
    out = await _template_public(session, key)
    response.headers["ETag"] = etag(out.version)
    return out


@router.post("/templates/{key}/preview", response_model=TemplatePreview)
async def preview_template(key: str, body: TemplatePreviewIn, session: SessionDep,
                           user: CurrentUser) -> TemplatePreview:
    """Render the saved template, or the subject/body given, with the key's sample values (overridable)."""
    spec = _spec(key)
    _, subject, text_body, _ = await active_template(session, key)
    subject, text_body = body.subject or subject, body.body or text_body
    unknown = sorted(set(body.variables) - set(spec.variables))
    if unknown:
        raise Problem(422, "invalid_template", f"unknown variables {unknown}",
                      errors=[{"field": f"variables.{u}", "reason": "not a variable of this template",
                               "code": "unknown_variable"} for u in unknown])
    try:
        templates.check(key, subject, text_body)
        rendered = templates.render(subject, text_body, {**spec.variables, **body.variables})
    except templates.TemplateInvalid as exc:
        raise _template_problem(exc) from exc
    except Exception as exc:  # a runtime error of the template on these values (e.g. a bad format)
        raise Problem(422, "template_render_failed", f"the template fails on these values: {exc}",
                      errors=[{"field": "body", "reason": str(exc)[:300], "code": "template_render_failed"}]
                      ) from exc
    return TemplatePreview(key=key, subject=rendered[0], body=rendered[1])
