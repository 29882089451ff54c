"""A registration commits without NOTIFY; the outbox relay is woken after the commit instead."""

from __future__ import annotations

import asyncio

import asyncpg

from intake_svc.tables import SCHEMA
from shared.bus.outbox import OutboxRelay
from shared.bus.tables import notify_channel
from shared.bus.wake import OutboxWaker
from shared.db import asyncpg_dsn
from shared.observability import Metrics


async def test_without_the_leading_relay_here_one_notify_answers_a_burst(database_url: str) -> None:
    """Another worker or replica leads: registrations that commit together are announced by NOTIFYs sent outside
    their transactions, at most one in flight (a burst of 50 does not send 50)."""
    dsn = asyncpg_dsn(database_url)
    listener = await asyncpg.connect(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    got: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(notify_channel(SCHEMA), lambda *args: got.put_nowait(args[2]))
    waker = OutboxWaker(None, pool, notify_channel(SCHEMA))
    waker.start()
    try:
        for _ in range(50):
            waker()
        await asyncio.wait_for(got.get(), 10)
        await asyncio.sleep(0.3)
        assert got.qsize() <= 1  # the burst while the first NOTIFY was on its way: at most one more
        waker()  # a later registration gets its own
        await asyncio.wait_for(got.get(), 10)
    finally:
        await waker.stop()
        await pool.close()
        await listener.close()


async def test_the_leading_relay_in_this_process_is_woken_in_memory(database_url: str) -> None:
    dsn = asyncpg_dsn(database_url)
    listener = await asyncpg.connect(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    got: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(notify_channel(SCHEMA), lambda *args: got.put_nowait(args[2]))
    relay = OutboxRelay(dsn=dsn, schema=SCHEMA, bootstrap="127.0.0.1:1", topics=[], metrics=Metrics("intake"))
    relay.is_leader = True  # not started: only its wake-up is looked at
    waker = OutboxWaker(relay, pool, notify_channel(SCHEMA))
    waker.start()
    try:
        waker()
        assert relay._wake.is_set()
        await asyncio.sleep(0.3)
        assert got.empty()  # no NOTIFY: nothing waits on the database-wide notify lock
    finally:
        await waker.stop()
        await pool.close()
        await listener.close()
