"""Notify REST API: the caller's inbox and its live stream, the delivery log, templates, rules, channel targets,
and the citizen's survey answer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sse_starlette.sse import EventSourceResponse

from notify_svc import handlers, surveys
from notify_svc.config import TEMPLATE_KEYS, active_template, rules_doc
from notify_svc.domain import templates
from notify_svc.domain.rules import DEFAULT_RULES, RuleSet, RulesInvalid
from notify_svc.handlers import NotifyDeps
from notify_svc.hub import InboxHub
from notify_svc.tables import CaseInfo, ChannelTarget, Delivery, InboxItem, RuleSetVersion, TemplateVersion
from shared.auth import CurrentUser, Principal, Role, ScopedUser, TokenVerifier, require_roles
from shared.events.case import FeedbackResult
from shared.pagination import Page, keyset_page
from shared.problems import Problem
from shared.ratelimit import RateLimiter
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["inbox"])
admin_router = APIRouter(prefix="/api/v1", tags=["admin"])
public_router = APIRouter(prefix="/api/v1", tags=["public"])
page_router = APIRouter(tags=["public"])

AdminOnly = require_roles(Role.ADMIN)


class InboxItemPublic(BaseModel):
    id: uuid.UUID
    kind: str
    case_id: uuid.UUID | None
    case_code: str | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


def _deps(request: Request) -> NotifyDeps:
    deps: NotifyDeps = request.app.state.deps
    return deps


def _limit_public(request: Request) -> None:
    limiter: RateLimiter = request.app.state.public_limiter
    allowed, retry = limiter.allow(request.client.host if request.client else "unknown")
    if not allowed:
        raise Problem(429, "rate_limited", "操作过于频繁，请稍后再试", headers={"Retry-After": str(int(retry) + 1)})


# --- inbox ---------------------------------------------------------------------------------------------


@router.get("/inbox", response_model=Page[InboxItemPublic])
async def inbox(session: SessionDep, user: ScopedUser, unread: bool = False, cursor: str | None = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[InboxItemPublic]:
    """The caller's own inbox, newest first (``unread=true``: only what is not read yet)."""
    stmt = select(InboxItem).where(InboxItem.user_id == user.sub)
    if unread:
        stmt = stmt.where(InboxItem.read_at.is_(None))  # type: ignore[union-attr]
    rows, next_cursor = await keyset_page(session, stmt, InboxItem, cursor, limit)
    return Page(items=[InboxItemPublic.model_validate(r, from_attributes=True) for r in rows],
                next_cursor=next_cursor)


class UnreadCount(BaseModel):
    unread: int


@router.get("/inbox/unread-count", response_model=UnreadCount)
async def unread_count(session: SessionDep, user: ScopedUser) -> UnreadCount:
    n = (await session.execute(select(func.count()).select_from(InboxItem).where(
        InboxItem.user_id == user.sub, InboxItem.read_at.is_(None)))).scalar_one()  # type: ignore[union-attr]
    return UnreadCount(unread=n)


@router.post("/inbox/{item_id}/read", response_model=InboxItemPublic)
async def read(item_id: uuid.UUID, request: Request, session: SessionDep, user: ScopedUser) -> InboxItemPublic:
    async with session.begin():
        item = await handlers.mark_read(session, _deps(request), item_id, user.sub)
    return InboxItemPublic.model_validate(item, from_attributes=True)


@router.post("/inbox/{item_id}/unread", response_model=InboxItemPublic)
async def unread_item(item_id: uuid.UUID, request: Request, session: SessionDep,
                      user: ScopedUser) -> InboxItemPublic:
    async with session.begin():
        item = await handlers.mark_read(session, _deps(request), item_id, user.sub, read=False)
    return InboxItemPublic.model_validate(item, from_attributes=True)


def _stream_user(request: Request, access_token: str | None) -> Principal:
    """EventSource cannot send headers: the token may come as ``?access_token=`` too."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    raw = token.strip() if scheme.lower() == "bearer" and token else access_token
    if not raw:
        raise Problem(401, "missing_token", "send an Authorization: Bearer <token> header or ?access_token=",
                      headers={"WWW-Authenticate": 'Bearer realm="fengqiao"'})
    verifier: TokenVerifier = request.app.state.runtime.verifier
    user = verifier.verify(raw)
    user.scope_unit()  # like every inbox endpoint: 403 no_unit for a token naming no unit
    return user


@router.get("/inbox/stream", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "inbox items as they arrive"}})
async def inbox_stream(request: Request, access_token: str | None = None,
                       last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    """Server-sent events: one ``inbox`` event per new item of the caller (``id`` = item id). A reconnecting
    client sending ``Last-Event-ID`` first gets what it missed."""
    user = _stream_user(request, access_token)
    hub: InboxHub = request.app.state.hub
    queue = hub.subscribe(user.sub)
    runtime = request.app.state.runtime
    missed: list[InboxItem] = []
    if last_event_id:
        try:
            last_id = uuid.UUID(last_event_id)
        except ValueError:
            last_id = None
        async with runtime.session() as session:
            last = await session.get(InboxItem, last_id) if last_id else None
            if last is not None and last.user_id == user.sub:
                # at least once: items stamped at the very instant of the last one are sent again (ids dedupe)
                missed = list((await session.execute(select(InboxItem).where(
                    InboxItem.user_id == user.sub, InboxItem.created_at >= last.created_at,  # type: ignore[arg-type]
                    InboxItem.id != last.id)
                    .order_by(InboxItem.created_at, InboxItem.id).limit(500))).scalars())  # type: ignore[arg-type]

    def as_event(row: InboxItem) -> dict[str, str]:
        item = InboxItemPublic.model_validate(row, from_attributes=True).model_dump(mode="json")
        return {"event": "inbox", "id": item["id"], "data": json.dumps(item, ensure_ascii=False)}

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "ready", "data": "{}"}
            for it in missed:
                yield as_event(it)
            while True:
                item_id, data = await queue.get()
                if data:
                    yield {"event": "inbox", "id": item_id, "data": data}  # the public item, as the handler wrote it
                    continue
                async with runtime.session() as session:
                    row = await session.get(InboxItem, uuid.UUID(item_id))
                if row is not None:
                    yield as_event(row)
        except asyncio.CancelledError:
            raise
        finally:
            hub.unsubscribe(user.sub, queue)

    return EventSourceResponse(events(), ping=15)


# --- delivery log --------------------------------------------------------------------------------------


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID | None
    trigger_type: str
    trigger_ce_id: str
    rule_id: str
    channel: str
    recipient_id: str
    template_key: str
    template_version: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


LOG_READERS = (Role.COMMUNITY_ADMIN, Role.STREET_ADMIN, Role.DISTRICT_VIEWER)


@admin_router.get("/notifications", response_model=Page[DeliveryPublic])
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


# --- templates -----------------------------------------------------------------------------------------


class TemplatePublic(BaseModel):
    key: str
    description: str
    version: int
    subject: str
    body: str
    variables: list[str]
    updated_by: str | None
    updated_at: datetime | None


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=5000)


class TemplatePreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=5000)
    variables: dict[str, Any] = Field(default_factory=dict, description="override the sample values")


class TemplatePreview(BaseModel):
    key: str
    subject: str
    body: str


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


@admin_router.get("/templates", response_model=list[TemplatePublic])
async def list_templates(session: SessionDep, user: CurrentUser) -> list[TemplatePublic]:
    return [await _template_public(session, k) for k in sorted(TEMPLATE_KEYS)]


@admin_router.get("/templates/{key}", response_model=TemplatePublic)
async def get_template(key: str, session: SessionDep, user: CurrentUser) -> TemplatePublic:
    return await _template_public(session, key)


def _template_problem(exc: templates.TemplateInvalid) -> Problem:
    return Problem(422, "invalid_template", str(exc), errors=exc.errors)


@admin_router.put("/templates/{key}", response_model=TemplatePublic, dependencies=[AdminOnly])
async def put_template(key: str, body: TemplateUpdate, request: Request, session: SessionDep, user: CurrentUser,
                       if_match: Annotated[str | None, Header()] = None) -> TemplatePublic:
    """Save a new version; a variable the key does not offer, or a syntax error, is a 422 naming it."""
    _spec(key)
    try:
        templates.check(key, body.subject, body.body)
    except templates.TemplateInvalid as exc:
        raise _template_problem(exc) from exc
    async with session.begin():
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"notify-template:{key}"))))
        version = (await active_template(session, key))[0]
        if if_match is not None and if_match.strip('"') != str(version):
            raise Problem(412, "version_mismatch", f"the template is at version {version}, not {if_match}",
                          current_version=version)
        session.add(TemplateVersion(key=key, version=version + 1, subject=body.subject, body=body.body,
                                    created_by=user.sub, created_at=_deps(request).clock.now()))
    _deps(request).templates.invalidate()
    return await _template_public(session, key)


@admin_router.post("/templates/{key}/preview", response_model=TemplatePreview)
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


# --- rules ---------------------------------------------------------------------------------------------


class RulesPublic(BaseModel):
    version: int
    doc: dict[str, Any]
    updated_by: str | None
    updated_at: datetime | None
    shipped_missing: list[dict[str, Any]] = Field(
        default_factory=list,
        description="rules this release ships whose id the saved rules lack (new since they were saved, or removed "
                    "on purpose): add them to the document to use them")


def _rules_public(version: int, doc: dict[str, Any], by: str | None, at: datetime | None) -> RulesPublic:
    have = {r.get("id") for r in doc.get("rules", []) if isinstance(r, dict)}
    missing = [r for r in DEFAULT_RULES["rules"] if r["id"] not in have] if version else []
    return RulesPublic(version=version, doc=doc, updated_by=by, updated_at=at, shipped_missing=missing)


@admin_router.get("/notification-rules", response_model=RulesPublic)
async def get_rules(session: SessionDep, user: CurrentUser) -> RulesPublic:
    version, doc, row = await rules_doc(session)
    return _rules_public(version, doc, row.created_by if row else None, row.created_at if row else None)


@admin_router.put("/notification-rules", response_model=RulesPublic, dependencies=[AdminOnly])
async def put_rules(doc: dict[str, Any], request: Request, session: SessionDep, user: CurrentUser,
                    if_match: Annotated[str | None, Header()] = None) -> RulesPublic:
    """Replace the notification rules (a new version; who and when are kept with every version)."""
    try:
        RuleSet.parse(doc, TEMPLATE_KEYS)
    except RulesInvalid as exc:
        raise Problem(422, "invalid_rules", str(exc), errors=exc.errors) from exc
    now = _deps(request).clock.now()
    async with session.begin():
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("notify-rules"))))
        version = (await rules_doc(session))[0]
        if if_match is not None and if_match.strip('"') != str(version):
            raise Problem(412, "version_mismatch", f"the rules are at version {version}, not {if_match}",
                          current_version=version)
        session.add(RuleSetVersion(version=version + 1, doc=doc, created_by=user.sub, created_at=now))
    _deps(request).rules.invalidate()
    return _rules_public(version + 1, doc, user.sub, now)


# --- channel targets (unit mailbox, robot) --------------------------------------------------------------


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=3, max_length=500, description="mailbox address (email) or robot URL (webhook)")
    secret: str | None = Field(default=None, max_length=200, description="robot signing secret (webhook)")


class TargetPublic(BaseModel):
    unit_id: str
    channel: str
    address: str
    signed: bool
    updated_by: str
    updated_at: datetime


def _target_public(t: ChannelTarget) -> TargetPublic:
    return TargetPublic(unit_id=t.unit_id, channel=t.channel, address=t.address, signed=bool(t.secret),
                        updated_by=t.updated_by, updated_at=t.updated_at)


@admin_router.put("/units/{unit_id}/channels/{channel}", response_model=TargetPublic, dependencies=[AdminOnly])
async def put_target(unit_id: str, channel: Literal["email", "webhook"], body: TargetIn, request: Request,
                     session: SessionDep, user: CurrentUser) -> TargetPublic:
    """Where a unit's email or robot notifications go."""
    if channel == "email" and "@" not in body.address:
        raise Problem(422, "validation_failed", "not an email address",
                      errors=[{"field": "address", "reason": "not an email address", "code": "invalid_email"}])
    if channel == "webhook" and not body.address.startswith(("http://", "https://")):
        raise Problem(422, "validation_failed", "not an http(s) URL",
                      errors=[{"field": "address", "reason": "not an http(s) URL", "code": "invalid_url"}])
    async with session.begin():
        t = await session.get(ChannelTarget, (unit_id, channel))
        if t is None:
            t = ChannelTarget(unit_id=unit_id, channel=channel, address=body.address, updated_by=user.sub,
                              updated_at=_deps(request).clock.now())
            session.add(t)
        t.address, t.secret = body.address, body.secret
        t.updated_by, t.updated_at = user.sub, _deps(request).clock.now()
    _deps(request).targets.invalidate()
    return _target_public(t)


@admin_router.get("/units/{unit_id}/channels", response_model=list[TargetPublic], dependencies=[AdminOnly])
async def get_targets(unit_id: str, session: SessionDep, user: CurrentUser) -> list[TargetPublic]:
    rows = (await session.execute(select(ChannelTarget).where(ChannelTarget.unit_id == unit_id))).scalars()
    return [_target_public(t) for t in rows]


# --- survey (回访) -------------------------------------------------------------------------------------


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["satisfied", "unsatisfied"]
    comment: str | None = Field(default=None, max_length=1000)


class SurveyPublic(BaseModel):
    case_id: uuid.UUID
    status: str
    result: str | None
    expires_at: datetime


@public_router.get("/surveys/{token}", response_model=SurveyPublic)
async def get_survey(token: str, request: Request, session: SessionDep) -> SurveyPublic:
    _limit_public(request)
    s = await surveys.load(session, _deps(request), token)
    return SurveyPublic(case_id=s.case_id, status=s.status, result=s.result, expires_at=s.expires_at)


@public_router.post("/surveys/{token}", response_model=SurveyPublic)
async def answer_survey(token: str, body: SurveyAnswer, request: Request, session: SessionDep) -> SurveyPublic:
    """The citizen's answer (no login: the signed, expiring token is the guard; rate-limited per client)."""
    _limit_public(request)
    async with session.begin():
        s = await surveys.answer(session, _deps(request), token, FeedbackResult(body.result), body.comment)
    return SurveyPublic(case_id=s.case_id, status=s.status, result=s.result, expires_at=s.expires_at)


_SURVEY_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>办理结果回访</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}button{font-size:1.1rem;
margin:.5rem .5rem .5rem 0;padding:.6rem 1.2rem}textarea{width:100%;height:6rem}</style></head><body>
<h2>您对本次办理结果满意吗？</h2>
<textarea id="c" maxlength="1000" placeholder="意见或建议（选填）"></textarea><br>
<button onclick="send('satisfied')">满意</button><button onclick="send('unsatisfied')">不满意</button>
<p id="m"></p>
<script>
async function send(result) {
  const r = await fetch('/api/v1/surveys/' + encodeURIComponent(location.pathname.split('/').pop()), {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({result: result, comment: document.getElementById('c').value || null})});
  const body = await r.json();
  document.getElementById('m').textContent = r.ok ? '感谢您的评价！' : (body.detail || '提交失败，请稍后再试');
}
</script></body></html>"""


@page_router.get("/s/{token}", include_in_schema=False, response_class=HTMLResponse)
async def survey_page(token: str) -> HTMLResponse:
    """The page the survey SMS links to (the API call it makes checks the token)."""
    return HTMLResponse(_SURVEY_PAGE)
