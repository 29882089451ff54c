"""Opaque keyset cursors for list endpoints (``?cursor=&limit=``, ``next_cursor`` in the body)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel

from shared.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, row_id: uuid.UUID | str) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return datetime.fromisoformat(at), str(row_id)
    except (ValueError, TypeError) as exc:
        raise Problem(422, "invalid_cursor", "the cursor is not one this API returned",
                      errors=[{"field": "query.cursor", "reason": "not a valid cursor", "code": "invalid_cursor"}]
                      ) from exc
