"""RFC 9457 problem responses for every error, with a stable machine-readable ``code``.

``install_problem_handlers`` also puts ``shared.inputs.ControlCharacterGuard`` in front of every route: control
characters in any path, query, header or body field answer 422 ``validation_failed`` naming the field.

An exception no handler expected ends in ``CatchAllMiddleware``: a database or broker failure
(``shared.infra.is_infrastructure_error``) answers 503 ``database_unavailable`` with ``Retry-After``, anything
else 500 ``internal_error``. Either is logged once, with its traceback, by us alone (Starlette's
``ServerErrorMiddleware`` re-raises what reaches it, so uvicorn used to log every traceback a second time), and
repeated identical errors (the same exception class on the same route) at most once per ``ERROR_LOG_WINDOW_SECONDS``
with the count of those held back.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.infra import error_class, is_infrastructure_error, is_unstorable_value
from shared.inputs import ControlCharacterGuard
from shared.observability import LogLimiter
from shared.problems_zh import DETAIL_ZH, TITLE_ZH, prefers_chinese

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 5
ERROR_LOG_WINDOW_SECONDS = 10.0
_error_log = LogLimiter(ERROR_LOG_WINDOW_SECONDS)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    422: "Invalid request",
    428: "Precondition required",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise anywhere in a request to answer with ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.errors = errors
        self.headers = headers
        self.extra = extra


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    if prefers_chinese(request.headers.get("accept-language")):  # the code stays; title and detail in Chinese
        title, detail = TITLE_ZH.get(status, title), DETAIL_ZH.get(code, detail)
        headers = {**(headers or {}), "Content-Language": "zh-CN"}
    headers = {**(headers or {}), "Vary": "Accept-Language"}
    body: dict[str, Any] = {
        "type": f"https://fengqiao.example/problems/{code}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, rest = parts[0], parts[1:]
        return ".".join(rest) if where == "body" and rest else f"{where}.{'.'.join(rest)}" if rest else where
    return ".".join(parts)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = err.get("loc", ())
        out.append({
            "field": _field(loc),
            "location": str(loc[0]) if loc else "body",
            "reason": err.get("msg", "invalid"),
            "code": err.get("type", "invalid"),
        })
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.code, exc.detail, title=exc.title, errors=exc.errors,
            headers=exc.headers, **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem_response(request, 422, "validation_failed", f"invalid fields: {fields}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code
        return problem_response(request, exc.status_code, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # only for what fails outside CatchAllMiddleware (an outer middleware); Starlette re-raises it afterwards
        return unexpected_response(request, exc)

    app.add_middleware(CatchAllMiddleware)
    # outside the catch-all: its 422s are answers, not errors
    app.add_middleware(ControlCharacterGuard, respond=problem_response)
    _document_problems(app)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: every error answer of every service, with a stable machine-readable code.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable, e.g. validation_failed, not_found, database_unavailable"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "description": "for validation_failed: one entry per field at fault",
                   "items": {"type": "object", "required": ["field", "reason", "code"], "properties": {
                       "field": {"type": "string", "description": "e.g. description, parties.0.name, query.q"},
                       "location": {"type": "string"}, "reason": {"type": "string"},
                       "code": {"type": "string", "description": "e.g. missing, control_character"}}}},
    },
    "additionalProperties": True,
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _document_problems(app: FastAPI) -> None:
    """Declares in the app's OpenAPI document what it really answers on errors: the one ``Problem`` schema as
    ``application/problem+json`` for 422 (instead of FastAPI's ``HTTPValidationError``), every other 4xx
    (``4XX`` and the codes an operation names) and 503 ``database_unavailable``. Operation-specific documentation
    (which codes, examples) stays with each operation."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for item in doc.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for status, response in responses.items():
                    if status.startswith("4") or status.startswith("5"):
                        response["content"] = _PROBLEM_CONTENT
                responses.setdefault("503", {"description": "database_unavailable: try again after Retry-After",
                                             "content": _PROBLEM_CONTENT})
        for name in ("HTTPValidationError", "ValidationError"):
            doc["components"]["schemas"].pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _route(scope: Scope) -> str:
    return getattr(scope.get("route"), "path", None) or "unmatched"


def unexpected_response(request: Request, exc: BaseException) -> JSONResponse:
    """Log ``exc`` (rate-limited) and answer 503 for an infrastructure failure, 422 for a value PostgreSQL cannot
    store (a data exception: a number out of its column's range, an unrepresentable character), 500 for anything
    else."""
    route = _route(request.scope)
    if is_unstorable_value(exc):  # the request carried a value the edge let through: a 422, and a warning
        ok, suppressed = _error_log.allow((type(exc).__name__, route))
        if ok:  # the statement's parameters are not logged (shared.db hides them): they may be personal data
            log.warning("value_not_storable", route=route, method=request.method, error=error_class(exc),
                        suppressed=suppressed)
        return problem_response(
            request, 422, "value_not_storable",
            "a value in the request cannot be stored (out of range or not representable); nothing was changed")
    infra = is_infrastructure_error(exc)
    ok, suppressed = _error_log.allow((type(exc).__name__, route))
    if ok:
        fields = {"route": route, "method": request.method, "error": error_class(exc), "suppressed": suppressed,
                  "exc_info": exc}
        if infra:
            log.error("database_unavailable", **fields)
        else:
            log.error("unhandled_error", **fields)
    if infra:
        return problem_response(
            request, 503, "database_unavailable",
            "the database is unreachable for the moment; nothing was changed, try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return problem_response(request, 500, "internal_error", "unexpected error; it has been logged")


class CatchAllMiddleware:
    """Innermost catch-all (inside the user middlewares, so the metrics see its 503/500): turns an exception into
    a problem response and does not re-raise it, so the server does not log it again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            response = unexpected_response(Request(scope), exc)
            if not started:  # a response already under way (a stream) is cut short; the log line says why
                await response(scope, receive, send)


def field_problem(field: str, reason: str, code: str = "invalid", *, detail: str | None = None) -> Problem:
    """A 422 naming one field, shaped like the validation errors FastAPI produces."""
    return Problem(422, "validation_failed", detail or f"{field}: {reason}",
                   errors=[{"field": field, "reason": reason, "code": code}])


def require_aware(value: Any, field: str) -> None:
    """Times must carry a UTC offset: a naive time is ambiguous between UTC and Asia/Shanghai."""
    if value is not None and getattr(value, "tzinfo", None) is None and hasattr(value, "hour"):
        raise field_problem(field, "needs a UTC offset, e.g. 2026-11-23T09:30:00+08:00", "timezone_required")
