"""Each service's Alembic history upgrades and downgrades cleanly on a fresh database."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.registry import SERVICES, ServiceInfo
from shared import db
from tests.support import Infra


async def _tables(url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
        return {r["table_name"] for r in rows}
    finally:
        await conn.close()


@pytest.mark.parametrize("svc", SERVICES, ids=lambda s: s.name)
async def test_migrations_upgrade_downgrade_upgrade(infra: Infra, svc: ServiceInfo) -> None:
    url = infra.database(f"fq_migrate_{svc.name}", migrate=False)
    await asyncio.to_thread(db.upgrade, svc.migrations, url, svc.schema)
    tables = await _tables(url, svc.schema)
    assert {"outbox", "processed_events", "relay_state", "alembic_version"} <= tables
    assert len(tables) > 4, "the service's own tables exist too"

    await asyncio.to_thread(db.downgrade, svc.migrations, url, svc.schema, "base")
    assert await _tables(url, svc.schema) == {"alembic_version"}

    await asyncio.to_thread(db.upgrade, svc.migrations, url, svc.schema)
    assert await _tables(url, svc.schema) == tables
    # nothing of this service lands outside its own schema
    assert await _tables(url, "public") == set()
    if svc.name == "intake":  # registration searches its GIN indexes: no pending list to scan in full (0012)
        assert await _gin_with_pending_list(url, svc.schema) == set()


async def _gin_with_pending_list(url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_am a ON a.oid = c.relam WHERE n.nspname = $1 AND a.amname = 'gin' "
            "AND NOT coalesce('fastupdate=off' = ANY(c.reloptions), false)", schema)
        return {r["relname"] for r in rows}
    finally:
        await conn.close()
