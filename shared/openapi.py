"""The OpenAPI document as a product, derived from the routes themselves (no per-route edits).

``document_operations`` post-processes an app's generated document:

- ``bearerAuth`` (HTTP bearer, JWT) declared and applied to every operation whose dependant tree includes
  ``shared.auth.current_principal`` (directly, through ``CurrentUser``/``ScopedUser`` or ``require_roles``);
  ``hotlineHmac`` on the 12345 hotline's signed endpoints (under ``/api/v1/hotline``, no bearer dependency);
- every status an operation can answer documented with the shared ``Problem`` schema (problem+json): 401/403 for
  protected (and signed) operations, 400 where a body is read, 404 where the path or the query names an id (and
  on the signed ones: hotline_disabled), 409/412/428 where ``If-Match`` or ``Idempotency-Key`` is taken, 413 on the
  signed ones, 422 everywhere, 429 on rate-limited public operations, 503 ``database_unavailable`` everywhere;
- operation ids are the route functions' names (``operation_id``), checked unique per document.

``merge_examples`` adds each service's examples (``<service>/examples.py``, by component schema name, kept apart
from ``schemas.py``) as ``components.schemas.<Name>.examples``.

``offline_docs`` serves Swagger UI and ReDoc from the assets the ``fastapi-offline`` package ships (PyPI), so
the docs work on a network without Internet access. They live under the service's own prefix (``docs_prefix``:
``/docs/<service>/``, ``/docs/<service>/redoc``, ``/docs/<service>/openapi.json``), so the four services' docs do not
collide behind the one origin (deploy/k8s/ingress.yaml routes each prefix to its service).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from shared.auth import current_principal

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BEARER = "bearerAuth"
HMAC = "hotlineHmac"
SIGNED_PREFIX = "/api/v1/hotline"
# the public operations with a per-address rate limit (``shared.ratelimit``)
RATE_LIMITED_PREFIXES = ("/api/v1/public/", "/api/v1/surveys/")
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# the pages may load only from the service itself: ReDoc's own "API docs by Redocly" logo points at its CDN
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")

SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "登录令牌（JWT）：`Authorization: Bearer <token>`，声明角色（roles）与所属单位（unit_id）。",
    },
    HMAC: {
        "type": "apiKey", "in": "header", "name": "X-Hotline-Signature",
        "description": "12345 热线平台签名（HMAC-SHA256）：同时发送 X-Hotline-Client、X-Hotline-Timestamp、"
                       "X-Hotline-Nonce 与 X-Hotline-Signature，签名规则见 README（12345 接口）。",
    },
}

# status → (description, example code, example detail); the descriptions name the Chinese terms users see
_STATUSES: dict[str, tuple[str, str, str]] = {
    "400": ("请求体无法解析（bad_request）：不是有效的 JSON", "bad_request", "There was an error parsing the body"),
    "401": ("未认证（unauthenticated）：缺少、过期或无效的令牌或签名", "missing_token",
            "send an Authorization: Bearer <token> header"),
    "403": ("无权限（forbidden）：角色或所属单位不允许此操作", "forbidden_role",
            "this action needs one of the roles: admin"),
    "404": ("未找到（not_found）：路径中的编号不存在，或不在调用者的辖区内", "not_found", "case not found"),
    "409": ("冲突（conflict）：状态不允许此操作，或同一 Idempotency-Key 的请求仍在处理", "conflict",
            "the assignment is no longer pending"),
    "412": ("前提条件失败（precondition_failed）：If-Match 的版本（ETag）已过时，请重新读取后再试",
            "precondition_failed", "the resource changed since the ETag you sent"),
    "428": ("需要前提条件（precondition_required）：此操作需要 If-Match 头（取自上次读取的 ETag）",
            "precondition_required", "send If-Match with the ETag of your last read"),
    "413": ("请求体过大（payload_too_large）", "payload_too_large", "the body is larger than 262144 bytes"),
    "415": ("不支持的内容类型（unsupported_media_type）：请按文档的 Content-Type 发送", "unsupported_media_type",
            "send the org as application/json or text/csv"),
    "422": ("请求无效（validation_failed）：errors[] 逐项指出出错的字段", "validation_failed",
            "invalid fields: description"),
    "429": ("请求过于频繁（rate_limited）：请按 Retry-After 稍后再试", "rate_limited", "查询过于频繁，请稍后再试"),
    "503": ("服务暂不可用（database_unavailable）：未作任何修改，请按 Retry-After 稍后重试",
            "database_unavailable", "the database is unreachable for the moment; nothing was changed"),
}


def operation_id(route: APIRoute) -> str:
    """``generate_unique_id_function``: the route function's name (``create_case``), readable and stable."""
    return route.name


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _names(dependant: Dependant, kind: str) -> set[str]:
    """The names of the ``kind`` (``header``, ``query``) parameters of ``dependant`` and its dependencies."""
    out = {p.alias.lower() for p in getattr(dependant, f"{kind}_params")}
    for dep in dependant.dependencies:
        out |= _names(dep, kind)
    return out


def _problem(status: str, description: str | None = None) -> dict[str, Any]:
    text, code, detail = _STATUSES[status]
    return {"description": description or text, "content": {"application/problem+json": {
        "schema": PROBLEM_REF,
        "example": {"type": f"https://fengqiao.example/problems/{code}", "title": code, "status": int(status),
                    "detail": detail, "code": code}}}}


def statuses_for(route: Any) -> tuple[list[str], str | None]:
    """The error statuses ``route`` can answer and its security scheme (``None``: public)."""
    protected = current_principal in set(_calls(route.dependant))
    headers = {h.replace("_", "-") for h in _names(route.dependant, "header")}
    path = route.path_format
    scheme = BEARER if protected else HMAC if path.startswith(SIGNED_PREFIX) else None
    codes = ["422", "503"]
    if scheme is not None:
        codes += ["401", "403"]
    if scheme == HMAC:  # 404 hotline_disabled where no client is configured, 413 past the body limit
        codes += ["404", "413"]
    if route.body_field is not None:
        codes.append("400")
    if "requestBody" in (getattr(route, "openapi_extra", None) or {}):  # a body the route reads itself, by its type
        codes += ["400", "415"]
    ids = [q for q in _names(route.dependant, "query") if q.endswith("_id")]
    if "{" in path or ids:  # a path id, or a query naming a unit or case (unit_not_found, case_not_found)
        codes.append("404")
    if "if-match" in headers:
        codes += ["409", "412", "428"]
    if "idempotency-key" in headers:
        codes.append("409")
    if scheme is None and path.startswith(RATE_LIMITED_PREFIXES):
        codes.append("429")
    return sorted(set(codes)), scheme


def api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's documented routes as FastAPI sees them when it writes the document: full path, and the
    dependencies of every router they were included through (FastAPI 0.16x includes routers lazily; this is the
    walk ``fastapi.openapi.utils.get_openapi`` makes)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context  # an APIRoute-like: path_format, methods, dependant as included


def document_operations(app: FastAPI, doc: dict[str, Any]) -> dict[str, Any]:
    """Adds security, error statuses and checked operation ids to ``doc`` (the app's generated document)."""
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    seen: dict[str, str] = {}
    for route in api_routes(app):
        item = doc.get("paths", {}).get(route.path_format, {})
        codes, scheme = statuses_for(route)
        for method in route.methods:
            operation = item.get(method.lower())
            if operation is None:
                continue
            where = f"{method} {route.path_format}"
            op_id = operation.get("operationId", "")
            if op_id in seen:
                raise ValueError(f"operation id {op_id!r} of {where} is already used by {seen[op_id]}")
            seen[op_id] = where
            if scheme is not None:
                operation["security"] = [{scheme: []}]
            responses = operation.setdefault("responses", {})
            for status in codes:
                given = responses.get(status, {}).get("description")
                # a route's own description of a status (e.g. "replayed nonce") stays, after the general one
                text = _STATUSES[status][0] + (f"；{given}" if given and given not in (
                    "Validation Error", "Successful Response") else "")
                responses[status] = _problem(status, text)
    return doc


def docs_prefix(service: str) -> str:
    """Where ``service`` serves its docs and its document: one path prefix per service behind the one origin."""
    return f"/docs/{service}"


def openapi_url(service: str) -> str:
    return f"{docs_prefix(service)}/openapi.json"


def merge_examples(doc: dict[str, Any], examples: Mapping[str, Any],
                   operations: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """``components.schemas.<Name>.examples = [example]`` for each of ``examples``; for an inline body or response
    (no component schema), ``operations[<operation id>]["request" | <status>]`` becomes its JSON media type's
    ``example``. A name the document does not have (a schema renamed or removed)
    fails the document rather than dropping its example silently."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    unknown = sorted(set(examples) - set(schemas))
    if unknown:
        raise ValueError(f"examples for schemas the document does not have: {unknown}")
    for name, example in examples.items():
        schemas[name]["examples"] = [example]
    by_id = {op.get("operationId"): op for item in doc.get("paths", {}).values() for op in item.values()}
    for op_id, given in (operations or {}).items():
        op = by_id.get(op_id)
        if op is None:
            raise ValueError(f"examples for an operation the document does not have: {op_id}")
        for where, example in given.items():
            part = op.get("requestBody") if where == "request" else op.get("responses", {}).get(where)
            media = (part or {}).get("content", {}).get("application/json")
            if media is None:
                raise ValueError(f"{op_id} has no JSON {where} to give an example to")
            media["example"] = example
    return doc


def ops_examples(service: str) -> dict[str, dict[str, Any]]:
    """The examples of the probes every service answers (``/healthz``, ``/readyz``)."""
    return {"healthz": {"200": {"status": "ok", "service": service}},
            "readyz": {"200": {"status": "ready", "checks": {"database": "ok", "broker": "ok", "outbox_relay": "ok",
                                                             "consumer": "ok"}}}}


def offline_docs(app: FastAPI, service: str) -> None:
    """Swagger UI at ``/docs/<service>/`` and ReDoc at ``/docs/<service>/redoc`` from the packaged assets (under
    ``/docs/<service>/static``): no request leaves the machine."""
    prefix = docs_prefix(service)
    static = f"{prefix}/static"
    app.mount(static, StaticFiles(directory=DOCS_ASSETS), name="docs-static")
    title = app.title
    document = app.openapi_url or openapi_url(service)

    @app.get(f"{prefix}/", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _no_cdn(get_swagger_ui_html(
            openapi_url=document, title=f"{title} — 接口文档",
            swagger_js_url=f"{static}/swagger-ui-bundle.js", swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True}))

    @app.get(f"{prefix}/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _no_cdn(get_redoc_html(
            openapi_url=document, title=f"{title} — 接口文档",
            redoc_js_url=f"{static}/redoc.standalone.js", redoc_favicon_url=f"{static}/favicon.png",
            with_google_fonts=False))


def _no_cdn(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page
