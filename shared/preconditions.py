"""``If-Match`` on every update of a versioned resource: read it first (its ``ETag`` is its version), send it back.

- no ``If-Match`` → 428 ``precondition_required`` (an update made without knowing what it changes is refused);
- an ``If-Match`` that is not one of our ETags (``"3"``, ``W/"3"``) → 422 naming the header;
- another version than the resource's → 412 ``precondition_failed`` with the current version (read it again).

Routes take ``IfMatch`` (the version the client saw; a route that authorizes in its body calls ``parse_if_match``
after that, so a caller without the role gets 403 first) and the handler checks it under the row's lock
(``check_version``), so two clients cannot both update what they both read.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header

from shared.problems import Problem

_ETAG = re.compile(r'^\s*(?:W/)?"?([0-9]{1,18})"?\s*$')  # "3" (also W/"3", and 3 as older clients sent it)


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int:
    if value is None or not value.strip():
        raise Problem(428, "precondition_required",
                      "this update needs If-Match with the ETag of the version you read (GET it first)",
                      errors=[{"field": "header.if-match", "reason": "required", "code": "precondition_required"}])
    match = _ETAG.match(value)
    if match is None:
        raise Problem(422, "validation_failed", 'If-Match must be an ETag this API returned, e.g. "3"',
                      errors=[{"field": "header.if-match", "reason": "not a version ETag", "code": "invalid"}])
    return int(match.group(1))


async def if_match(if_match: Annotated[str | None, Header(max_length=64)] = None) -> int:
    return parse_if_match(if_match)


IfMatch = Annotated[int, Depends(if_match)]


def check_version(current: int, expected: int, what: str) -> None:
    """412 when the resource moved on since the client read it (call it with the row locked)."""
    if current != expected:
        raise Problem(412, "precondition_failed",
                      f"the {what} is at version {current}, not {expected}: read it again and retry",
                      current_version=current, headers={"ETag": etag(current)})
