"""Routing rules over HTTP: the active rules and their versions, saving a version (admins only), and the dry run
(``POST /rules/evaluate``: where would this case go)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from routing_svc.deps import Deps
from routing_svc.domain.locate import Located, LocateMethod, UnitInfo, locate
from routing_svc.domain.routing import route
from routing_svc.domain.rules import DEFAULT_RULES_FILE, Decision, RuleSet, RulesInvalid, default_rules, load_document
from routing_svc.handlers.rules import active_version, save_rules
from routing_svc.schemas_rules import (
    DeadlinesOut,
    DecisionOut,
    EvaluateBody,
    EvaluateResult,
    LocatedOut,
    LocationIn,
    RulesPublic,
    RulesVersionInfo,
    TaskForceOut,
    TraceOut,
)
from routing_svc.tables import RuleVersion
from shared.auth import CurrentUser, Principal, Role
from shared.bus import pending
from shared.preconditions import parse_if_match
from shared.problems import Problem, require_aware
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1")
MAX_RULES_BYTES = 1_000_000
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
# what the dry run's body says of the case: the fields of routing's facts document (``domain.routing.facts_doc``)
FACT_FIELDS = {"category", "request_type", "risk_level", "risk_signals", "channel", "people_involved",
               "amount_involved", "deadline_days", "urgent"}


def admin_only(user: Principal, what: str) -> None:
    if not user.has_any(Role.ADMIN):
        raise Problem(403, "forbidden_role", f"only admins change {what}")


def parse_rules_body(body: bytes, content_type: str) -> tuple[RuleSet, str]:
    """A PUT body (JSON or YAML by content type) → a validated rule set and the source text; raises Problem."""
    ctype = content_type.split(";")[0].strip().lower()
    try:
        source = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "invalid_rules", "the rules document must be UTF-8 text",
                      errors=[{"field": "document", "reason": "not UTF-8", "code": "encoding"}]) from None
    try:
        if ctype == "application/json":
            try:
                doc = json.loads(source)
            except json.JSONDecodeError as exc:
                raise RulesInvalid([{"field": "document", "reason": f"not valid JSON at line {exc.lineno}, column "
                                     f"{exc.colno}: {exc.msg}", "code": "syntax"}]) from None
        elif ctype in YAML_TYPES:
            doc = load_document(source)
        else:
            raise Problem(415, "unsupported_media_type", "send the rules as application/json or application/yaml")
        return RuleSet.parse(doc), source
    except RulesInvalid as exc:
        raise Problem(422, "invalid_rules", f"the rules document is invalid: {exc}", errors=exc.errors) from None


# --- rules -----------------------------------------------------------------------------------------


def _info(row: RuleVersion) -> dict[str, Any]:
    return dict(version=row.version, created_by=row.created_by, created_at=row.created_at, comment=row.comment,
                changes=row.changes)


def _wants_yaml(accept: str | None) -> bool:
    return bool(accept) and any(t in (accept or "") for t in YAML_TYPES[:4])


@router.get("/rules", response_model=RulesPublic, tags=["rules"])
async def get_rules(session: SessionDep, user: CurrentUser, response: Response,
                    accept: Annotated[str | None, Header()] = None) -> Any:
    """The active rules (JSON; ``Accept: application/yaml`` gives the text as it was saved). ETag = version."""
    row = await active_version(session)
    if row is None:
        source, info = DEFAULT_RULES_FILE.read_text(encoding="utf-8"), dict(
            version=0, created_by="system", created_at=None, comment="shipped default rules", changes=[])
        document = default_rules().source
    else:
        source, info, document = row.source, _info(row), row.document
    etag = f'"{info["version"]}"'
    if _wants_yaml(accept):
        return Response(source, media_type="application/yaml; charset=utf-8", headers={"ETag": etag})
    response.headers["ETag"] = etag
    return RulesPublic(**info, document=document)


@router.get("/rules/versions", response_model=list[RulesVersionInfo], tags=["rules"])
async def rule_versions(session: SessionDep, user: CurrentUser,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RulesVersionInfo]:
    """The version history, newest first: who, when, the comment and what changed."""
    rows = (await session.execute(
        select(RuleVersion).order_by(RuleVersion.version.desc()).limit(limit)  # type: ignore[attr-defined]
    )).scalars()
    return [RulesVersionInfo(**_info(r)) for r in rows]


@router.get("/rules/versions/{version}", response_model=RulesPublic, tags=["rules"])
async def rule_version(version: int, session: SessionDep, user: CurrentUser) -> RulesPublic:
    row = await session.get(RuleVersion, version)
    if row is None:
        raise Problem(404, "rules_version_not_found", f"no rules version {version}")
    return RulesPublic(**_info(row), document=row.document)


@router.put("/rules", response_model=RulesPublic, tags=["rules"],
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}}}}})
async def put_rules(request: Request, deps: Deps, session: SessionDep, user: CurrentUser, response: Response,
                    comment: Annotated[str, Query(max_length=500)] = "",
                    if_match: Annotated[str | None, Header(max_length=64)] = None,
                    content_type: Annotated[str, Header()] = "") -> RulesPublic:
    """Save a new rules version (YAML or JSON by ``Content-Type``); every replica applies it without restart.

    Invalid documents answer 422 with ``errors[].field`` like ``rules[2].when.amount_involved``;
    ``If-Match: "<version>"`` (required: 428 without) guards against overwriting someone else's change (412)."""
    admin_only(user, "the routing rules")
    version = parse_if_match(if_match)
    body = await request.body()
    if len(body) > MAX_RULES_BYTES:
        raise Problem(413, "too_large", f"a rules document is at most {MAX_RULES_BYTES} bytes")
    rules, source = parse_rules_body(body, content_type)
    async def work() -> tuple[RuleVersion, RulesPublic]:
        row = await save_rules(session, rules, source, who=user.sub, comment=comment, now=deps.clock.now(),
                               if_match=version)
        return row, RulesPublic(**_info(row), document=row.document)

    row, out = await pending.run(session, work)
    deps.rules.invalidate()
    response.headers["ETag"] = f'"{row.version}"'
    return out


def decision_out(d: Decision, target: UnitInfo) -> DecisionOut:
    return DecisionOut(
        rule_id=d.rule_id, level=d.level, unit_id=d.unit_id, target_unit_id=target.id, track=d.track,
        forces=list(d.forces), explanation=d.explanation,
        deadlines=DeadlinesOut(accept=str(d.deadlines.accept),
                               resolve=str(d.deadlines.resolve) if d.deadlines.resolve else None,
                               escalate_on_resolve_overdue=d.deadlines.escalate_on_resolve_overdue),
        task_force=TaskForceOut(lead=d.task_force.lead, plan=str(d.task_force.plan)) if d.task_force else None,
        trace=[TraceOut(rule_id=s.rule_id, matched=s.matched, why=s.why) for s in d.trace],
    )


@router.post("/rules/evaluate", response_model=EvaluateResult, tags=["rules"])
async def evaluate(body: EvaluateBody, deps: Deps, session: SessionDep, user: CurrentUser) -> EvaluateResult:
    """Dry run: where would this case go, on which track, with which deadlines — and the trace of why. The same
    decision as real routing (``domain.routing.route``), with the active rules or a draft document."""
    require_aware(body.at, "at")
    if body.document is not None:
        try:
            rules, version = RuleSet.parse(body.document), None
        except RulesInvalid as exc:
            raise Problem(422, "invalid_rules", f"the draft rules are invalid: {exc}",
                          errors=[{**e, "field": f"document.{e['field']}"} for e in exc.errors]) from None
    else:
        rules = await deps.rules.get(session)
        version = deps.rules.version
    units = await deps.units.get(session)
    calendar = await deps.calendar.get(session)
    if body.unit_id is not None:
        if body.unit_id not in units:
            raise Problem(422, "validation_failed", f"no active unit {body.unit_id}",
                          errors=[{"field": "unit_id", "reason": "unknown or inactive unit", "code": "unknown_unit"}])
        u = units[body.unit_id]
        located = Located(u, LocateMethod.GIVEN, f"unit given: {u.id} {u.name}")
    else:
        loc = body.location or LocationIn()
        found = locate(loc.grid_id, loc.address, units, lat=loc.lat, lng=loc.lng)
        if found is None:
            raise Problem(409, "no_org", "no org units are imported yet, so nothing can be located")
        located = found
    at = body.at or deps.clock.now()
    working = calendar.is_working_time(at)
    doc = body.model_dump(include=FACT_FIELDS, mode="json")
    routed = route(rules.evaluate, doc, located.unit, units, at=at, working_time=working)
    decision = routed.decision
    accept_due = calendar.add(at, decision.deadlines.accept)
    resolve_due = calendar.add(accept_due, decision.deadlines.resolve) if decision.deadlines.resolve else None
    return EvaluateResult(
        version=version, working_time=working, decision=decision_out(decision, routed.target),
        located=LocatedOut(unit_id=located.unit.id, unit_name=located.unit.name, level=located.unit.level,
                           method=located.method, explanation=located.explanation),
        accept_due_at=accept_due, resolve_due_if_accepted_at_once=resolve_due,
    )
