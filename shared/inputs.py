"""Control characters refused at the edge, once for every service: an ASGI middleware in front of the routes.

PostgreSQL cannot store NUL in ``text`` or ``jsonb``, and no id, code or search term holds a control character, so
they are refused before anything reads the request, with a 422 ``validation_failed`` problem naming each field
(``errors[].code`` ``control_character``, or ``invalid_unicode`` for a lone UTF-16 surrogate, which UTF-8 cannot
encode). What is refused, by kind of field:

- the path and the query (ids, codes, filters, search terms): every control character — C0 (U+0000–U+001F), DEL
  (U+007F) and C1 (U+0080–U+009F); fields ``path.<param>``, ``query.<name>``;
- header values: C0 except HTAB (which RFC 9110 allows), and DEL; field ``header.<name>`` (header bytes beyond
  ASCII are UTF-8 text and pass);
- bodies (JSON and ``+json``, urlencoded and multipart forms, ``text/*`` and YAML): NUL, C0 except TAB, LF and CR,
  DEL, C1 and lone surrogates in every string and object key at any depth (form field names: every control).
  TAB, LF and CR are kept: bodies carry free text — a description, a 回访 comment, a CSV or YAML document — where
  line breaks are content; the ids and codes a body holds are held to their models' own patterns. Fields are named
  as FastAPI names body fields (``description``, ``parties.0.name``); ``body`` when the text is not JSON. File parts
  of a multipart form are not read: their bytes are the reading code's business.
- any other body (binary) passes untouched.

Cost on the hot path (``POST /cases``): one regular-expression scan each of the path, the joined header values and
the raw body; the body is parsed again only when that scan finds an escape that may decode to a refused character.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BeforeValidator
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CODE = "control_character"
CODE_UNICODE = "invalid_unicode"
MAX_ERRORS = 20

# every control character (ids, codes, query parameters, object keys)
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# what free text may not hold: controls except TAB, LF, CR; lone surrogates (json.loads lets them through)
_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# header bytes: C0 except HTAB, and DEL
_HEADER_REFUSED = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HEADER_REFUSED_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
# a raw query string that may decode to a control: a raw control byte, %00-%1F, %7F, or %C2%80-%C2%9F (C1 in UTF-8)
_QUERY_SUSPECT = re.compile(rb"[\x00-\x1f\x7f]|%[01][0-9a-fA-F]|%7[fF]|%[cC]2%[89][0-9a-fA-F]")
# a raw text body that holds a refused character, as bytes (C1 as UTF-8: C2 80-9F)
_RAW_REFUSED = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")
# a JSON body that may decode to a refused character: a raw one, or an escape \u0000-\u001f, \u007f-\u009f, \b, \f,
# or a surrogate (a pair is fine, a lone one is not: told apart by parsing); false alarms (``\\b``) cost a parse
_JSON_SUSPECT = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\\(?:[bf]|u00[0189][0-9a-fA-F]|u007[fF]|u[dD][89a-fA-F])")

_JSON_TYPES = ("application/json",)
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_TEXT_TYPES = ("application/yaml", "application/x-yaml", "application/csv")


def _describe(value: str, pattern: re.Pattern[str]) -> tuple[str, str]:
    m = pattern.search(value)
    ch = m.group() if m else "\x00"
    if "\ud800" <= ch <= "\udfff":
        return f"holds a lone UTF-16 surrogate (U+{ord(ch):04X}), which is not text", CODE_UNICODE
    return f"holds the control character U+{ord(ch):04X}; control characters are not allowed here", CODE


def _error(field: str, location: str, value: str, pattern: re.Pattern[str]) -> dict[str, str]:
    reason, code = _describe(value, pattern)
    return {"field": field, "location": location, "reason": reason, "code": code}


def _path_errors(scope: Scope) -> list[dict[str, str]]:
    path: str = scope["path"]
    if not _ANY_CONTROL.search(path):
        return []
    for template in _path_templates(scope.get("app")):
        m = template.match(path)
        if m is None:
            continue
        names = [k for k, v in m.groupdict().items() if _ANY_CONTROL.search(v)]
        if names:
            return [_error(f"path.{n}", "path", m.group(n), _ANY_CONTROL) for n in names]
    return [_error("path", "path", path, _ANY_CONTROL)]


_TEMPLATES: dict[int, list[re.Pattern[str]]] = {}


def _path_templates(app: Any) -> list[re.Pattern[str]]:
    """The app's path templates (``/api/v1/cases/{case_id}``) as regular expressions, from its OpenAPI document
    (built once; only asked when a path holds a control character), to name the path parameter at fault."""
    if app is None or not hasattr(app, "openapi"):
        return []
    if id(app) not in _TEMPLATES:
        try:
            paths = app.openapi().get("paths", {})
        except Exception:  # a document that does not build: the field is named "path"
            paths = {}
        _TEMPLATES[id(app)] = [compile_path(p)[0] for p in paths]
    return _TEMPLATES[id(app)]


def _query_errors(scope: Scope) -> list[dict[str, str]]:
    raw: bytes = scope.get("query_string", b"")
    if not raw or not _QUERY_SUSPECT.search(raw):
        return []
    errors = []
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        for text in (name, value):
            if _ANY_CONTROL.search(text):
                errors.append(_error(f"query.{_printable(name)}", "query", text, _ANY_CONTROL))
                break
    return errors


def _header_errors(scope: Scope) -> list[dict[str, str]]:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    if not _HEADER_REFUSED.search(b"\t".join(b for pair in headers for b in pair)):
        return []
    errors = []
    for name, value in headers:
        for raw in (name, value):
            if _HEADER_REFUSED.search(raw):
                errors.append(_error(f"header.{_printable(name.decode('latin-1'))}", "header",
                                     raw.decode("latin-1"), _HEADER_REFUSED_TEXT))
                break
    return errors


def _printable(name: str) -> str:
    """A field name fit to echo back: its controls shown as ``\\uXXXX``."""
    return _ANY_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def _walk(value: Any, loc: tuple[str, ...]) -> Iterator[dict[str, str]]:
    if isinstance(value, str):
        if _TEXT_REFUSED.search(value):
            yield _error(".".join(loc) or "body", "body", value, _TEXT_REFUSED)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = _printable(key)
            if _TEXT_REFUSED.search(key):
                yield _error(".".join((*loc, name)), "body", key, _TEXT_REFUSED)
            yield from _walk(item, (*loc, name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*loc, str(i)))


def _json_errors(body: bytes) -> list[dict[str, str]]:
    if not _JSON_SUSPECT.search(body):
        return []
    try:
        doc = json.loads(body, strict=False)  # strict=False: raw controls inside strings decode, to be named
    except ValueError:  # not JSON (or not UTF-8): the route answers that; a raw refused byte is refused here
        return _text_errors(body)
    errors = []
    for err in _walk(doc, ()):
        errors.append(err)
        if len(errors) >= MAX_ERRORS:
            break
    return errors


def _text_errors(body: bytes) -> list[dict[str, str]]:
    if not _RAW_REFUSED.search(body):
        return []
    return [_error("body", "body", body.decode("utf-8", "replace"), _TEXT_REFUSED)]


def _form_errors(body: bytes) -> list[dict[str, str]]:
    if not _QUERY_SUSPECT.search(body):
        return []
    errors = []
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        if _ANY_CONTROL.search(name):
            errors.append(_error(_printable(name), "body", name, _ANY_CONTROL))
        elif _TEXT_REFUSED.search(value):
            errors.append(_error(name, "body", value, _TEXT_REFUSED))
    return errors


def _multipart_errors(body: bytes, boundary: bytes) -> list[dict[str, str]]:
    """Text parts (no ``filename``) checked as form fields; file parts left alone."""
    errors: list[dict[str, str]] = []
    part: dict[str, Any] = {}

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, field=b"", value=b"", data=[])

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][part["field"].lower()] = part["value"]
        part["field"], part["value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part["data"].append(data[start:end])

    def on_part_end() -> None:
        _, options = parse_options_header(part["headers"].get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            return
        value = b"".join(part["data"]).decode("utf-8", "replace")
        if _ANY_CONTROL.search(name):
            errors.append(_error(_printable(name), "body", name, _ANY_CONTROL))
        elif _TEXT_REFUSED.search(value):
            errors.append(_error(name or "body", "body", value, _TEXT_REFUSED))

    parser = MultipartParser(boundary, {  # type: ignore[arg-type]
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # a malformed form: the route's own parser answers it
        pass
    return errors


def _body_checker(scope: Scope) -> Any:
    """The check for this request's body by its Content-Type, or None when the body is not text."""
    ctype = b""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            ctype = value
            break
    if not ctype:
        return None
    media, options = parse_options_header(ctype)
    kind = media.decode("latin-1").lower()
    if kind in _JSON_TYPES or kind.endswith("+json"):
        return _json_errors
    if kind == _FORM:
        return _form_errors
    if kind == _MULTIPART and options.get(b"boundary"):
        boundary = options[b"boundary"]
        return lambda body: _multipart_errors(body, boundary)
    if kind.startswith("text/") or kind in _TEXT_TYPES:
        return _text_errors
    return None


class ControlCharacterGuard:
    """Refuses control characters in the path, query, headers and text bodies (see the module's policy) with a
    422 problem; everything else passes on unchanged (a checked body is replayed to the route as one message)."""

    def __init__(self, app: ASGIApp, *, respond: Callable[..., Response]) -> None:
        """``respond``: builds the problem response (``shared.problems.problem_response``, passed in by the
        installer so this module does not import the one that installs it)."""
        self.app = app
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = _path_errors(scope) + _query_errors(scope) + _header_errors(scope)
        if errors:
            await self._refuse(scope, receive, send, errors)
            return
        check = _body_checker(scope)
        if check is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the route see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        errors = check(body)
        if errors:
            await self._refuse(scope, receive, send, errors)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, errors: list[dict[str, str]]) -> None:
        fields = ", ".join(sorted({e["field"] for e in errors}))
        response = self.respond(Request(scope), 422, "validation_failed", f"invalid fields: {fields}",
                                    errors=errors)
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    queue = list(messages)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()  # after the body: wait for the disconnect, as the server's receive does

    return replay


def _iso_date(value: Any) -> Any:
    """A query's date as ``YYYY-MM-DD`` only: pydantic would also read a number as a Unix timestamp (``0`` → 1970)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
