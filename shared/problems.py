"""RFC 9457 problem responses for every error, with a stable machine-readable ``code``."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)

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
        log.exception("unhandled_error", path=request.url.path)
        return problem_response(request, 500, "internal_error", "unexpected error; it has been logged")


def field_problem(field: str, reason: str, code: str = "invalid", *, detail: str | None = None) -> Problem:
    """A 422 naming one field, shaped like the validation errors FastAPI produces."""
    return Problem(422, "validation_failed", detail or f"{field}: {reason}",
                   errors=[{"field": field, "reason": reason, "code": code}])


def require_aware(value: Any, field: str) -> None:
    """Times must carry a UTC offset: a naive time is ambiguous between UTC and Asia/Shanghai."""
    if value is not None and getattr(value, "tzinfo", None) is None and hasattr(value, "hour"):
        raise field_problem(field, "needs a UTC offset, e.g. 2026-11-23T09:30:00+08:00", "timezone_required")
