"""Opaque keyset cursors for list endpoints (``?cursor=&limit=``, ``next_cursor`` in the body)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

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


async def keyset_page(session: AsyncSession, stmt: Select[Any], model: Any, cursor: str | None,
                      limit: int) -> tuple[list[Any], str | None]:
    """Newest first by ``(created_at, id)``; stable while rows are inserted. Returns rows and the next cursor."""
    created, row_id = model.created_at, model.id
    if cursor:
        at, last = decode_cursor(cursor)
        stmt = stmt.where(or_(created < at, and_(created == at, row_id < uuid.UUID(last))))
    stmt = stmt.order_by(created.desc(), row_id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
