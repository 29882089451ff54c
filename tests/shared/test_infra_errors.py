"""The infrastructure-failure classifier, fed with the real exceptions PostgreSQL, asyncpg, SQLAlchemy and aiokafka
raise when provoked (no hand-built exception objects)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.embedded import free_port
from shared.db import async_url, asyncpg_dsn, make_engine
from shared.infra import error_class, is_infrastructure_error
from tests.support import Infra


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    schema = f"infra_{uuid.uuid4().hex[:8]}"
    eng = make_engine(database_url, schema, 4)
    async with eng.begin() as c:
        await c.execute(text(f'CREATE SCHEMA "{schema}"'))
        await c.execute(text(f'CREATE TABLE "{schema}".t (id int PRIMARY KEY, v int)'))
        await c.execute(text(f'INSERT INTO "{schema}".t VALUES (1, 0), (2, 0)'))
    yield eng
    async with eng.begin() as c:
        await c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await eng.dispose()


async def raised(action: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await action()
    except Exception as exc:
        return exc
    raise AssertionError("expected an exception")


async def test_a_serialization_failure_and_a_deadlock_are_infrastructure(engine: AsyncEngine) -> None:
    async def serialization() -> None:
        async with engine.connect() as a, engine.connect() as b:
            ta, _ = await a.begin(), await b.begin()
            for c in (a, b):
                await c.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                await c.execute(text("SELECT * FROM t"))
            await a.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))
            await ta.commit()
            await b.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))

    async def deadlock() -> None:
        async with engine.connect() as a, engine.connect() as b:
            await a.begin()
            await b.begin()
            await a.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))
            await b.execute(text("UPDATE t SET v = v + 1 WHERE id = 2"))
            for r in await asyncio.gather(a.execute(text("UPDATE t SET v = v + 1 WHERE id = 2")),
                                          b.execute(text("UPDATE t SET v = v + 1 WHERE id = 1")),
                                          return_exceptions=True):
                if isinstance(r, BaseException):
                    raise r

    ser = await raised(serialization)
    assert is_infrastructure_error(ser) and error_class(ser) == "SerializationError(40001)"
    dead = await raised(deadlock)
    assert is_infrastructure_error(dead) and error_class(dead) == "DeadlockDetectedError(40P01)"


async def test_a_lost_connection_a_refused_one_and_a_full_pool_are_infrastructure(
    engine: AsyncEngine, database_url: str,
) -> None:
    async def terminated() -> None:
        async with engine.connect() as victim:
            pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with engine.connect() as killer:
                # wait=true: returns once the backend is gone, so the client has seen the socket close
                await killer.execute(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
            await asyncio.sleep(0.2)
            await victim.execute(text("SELECT 1"))

    async def terminated_itself() -> None:  # 08003, caused by the 57P01 admin_shutdown the server sends
        async with engine.connect() as c:
            await c.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    nowhere = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/x", "public", 1)

    async def refused() -> None:
        async with nowhere.connect() as c:
            await c.execute(text("SELECT 1"))

    tiny = create_async_engine(async_url(database_url), pool_size=1, max_overflow=0, pool_timeout=0.2)

    async def pool_timeout() -> None:
        async with tiny.connect() as a:
            await a.execute(text("SELECT 1"))
            async with tiny.connect():
                pass

    try:
        for action, name in ((terminated, "InterfaceError"), (terminated_itself, "ConnectionDoesNotExistError(08003)"),
                             (refused, "ConnectionRefusedError"), (pool_timeout, "TimeoutError")):
            exc = await raised(action)
            assert is_infrastructure_error(exc), (action.__name__, repr(exc))
            assert error_class(exc) == name, action.__name__
    finally:
        await nowhere.dispose()
        await tiny.dispose()
    raw = await raised(lambda: asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/x"))
    assert is_infrastructure_error(raw)


async def test_too_many_connections_is_infrastructure(engine: AsyncEngine, database_url: str) -> None:
    role = f"capped_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as c:
        await c.execute(text(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
    try:
        exc = await raised(lambda: asyncpg.connect(asyncpg_dsn(database_url).replace("postgres@", f"{role}@")))
        assert is_infrastructure_error(exc) and error_class(exc) == "TooManyConnectionsError(53300)"
    finally:
        async with engine.begin() as c:
            await c.execute(text(f"DROP ROLE {role}"))


async def test_an_unreachable_broker_is_infrastructure() -> None:
    producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{free_port()}", request_timeout_ms=1000)
    try:
        exc = await raised(producer.start)
    finally:
        await producer.stop()
    assert is_infrastructure_error(exc) and error_class(exc) == "KafkaConnectionError"


async def test_bad_data_and_bugs_are_not_infrastructure(engine: AsyncEngine, infra: Infra) -> None:
    async def run(sql: str, **params: Any) -> None:
        async with engine.begin() as c:
            if sql.startswith("SET"):
                await c.execute(text(sql))
                await c.execute(text("SELECT pg_sleep(1)"))
            else:
                await c.execute(text(sql), params)

    cases = {
        "unique violation": lambda: run("INSERT INTO t VALUES (1, 0)"),
        "undefined table": lambda: run("SELECT * FROM nope"),
        "division by zero": lambda: run("SELECT 1 / 0"),
        "argument of the wrong type": lambda: run("SELECT CAST(:x AS int)", x="abc"),
        "statement timeout": lambda: run("SET LOCAL statement_timeout = 50"),
    }
    for what, action in cases.items():
        exc = await raised(action)
        assert not is_infrastructure_error(exc), (what, repr(exc))
    assert not is_infrastructure_error(RuntimeError("cannot handle this event"))
    assert not is_infrastructure_error(ValueError("bad"))
