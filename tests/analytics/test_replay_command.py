"""`python -m services replay analytics`: a fresh analytics schema with a new projection epoch (consumer group)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.__main__ import main
from services.embedded import free_port
from shared import db
from tests.support import Infra


async def _epoch(url: str) -> tuple[str, int]:
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        epoch = await conn.fetchval("SELECT epoch FROM analytics.projection_epoch")
        units = await conn.fetchval("SELECT count(*) FROM analytics.units")
        return epoch, units
    finally:
        await conn.close()


async def test_replay_command_recreates_the_schema_with_a_new_epoch(infra: Infra,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url = await asyncio.to_thread(infra.database, "fq_analytics_replay_cmd")
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    await conn.execute("INSERT INTO analytics.units (unit_id, level, path) VALUES ('X', 'grid', '{X}')")
    await conn.close()
    before = await _epoch(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ANALYTICS_PORT", str(free_port()))  # nothing answers there: the service is stopped
    assert await asyncio.to_thread(main, ["replay", "analytics"]) == 0
    after = await _epoch(url)
    assert after[0] != before[0] and (before[1], after[1]) == (1, 0)
