"""The header of the record writes' updates: ``If-Match`` (the ETag of the version the client saw), read by the one
mechanism in ``shared.preconditions`` (428 ``precondition_required``, 412 ``precondition_failed``). Their creating
POSTs take ``Idempotency-Key`` through ``shared.idempotency``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from shared.preconditions import etag as etag
from shared.preconditions import parse_if_match

IfMatch = Annotated[str | None, Header(description='the ETag of the version you saw, e.g. "3" (412 otherwise)')]


def version(value: str | None, *, required: bool) -> int | None:
    """``"3"``, ``W/"3"`` or ``3`` → 3; 428 when required and missing, 422 when not a version ETag."""
    if value is None and not required:
        return None
    return parse_if_match(value)
