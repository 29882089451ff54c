"""The header of the record writes' updates: ``If-Match`` (the ETag of the version the client saw). Their creating
POSTs take ``Idempotency-Key`` through ``shared.idempotency``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from shared.problems import Problem

IfMatch = Annotated[str | None, Header(description='the ETag of the version you saw, e.g. "3" (412 otherwise)')]


def version(value: str | None, *, required: bool) -> int | None:
    """``"3"``, ``W/"3"`` or ``3`` → 3; 428 when required and missing, 422 when not a version ETag."""
    if value is None:
        if required:
            raise Problem(428, "if_match_required", "send If-Match with the ETag of the version you are changing",
                          errors=[{"field": "header.if-match", "reason": "required", "code": "missing"}])
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isascii() or not raw.isdigit():
        raise Problem(422, "validation_failed", "If-Match must be an ETag this API returned, e.g. \"3\"",
                      errors=[{"field": "header.if-match", "reason": "not a version ETag", "code": "invalid"}])
    return int(raw)


def etag(version_no: int) -> str:
    return f'"{version_no}"'
