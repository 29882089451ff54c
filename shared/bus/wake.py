"""Waking a service's outbox relay after a commit, never with a NOTIFY inside the writing transaction.

A NOTIFY takes a database-wide lock that is held until its transaction's commit is flushed to the WAL, so every
transaction that notifies waits for the flushes of all the others, one at a time: under a burst, writers queued
behind that lock (and behind the other services' outbox writes) instead of committing together. So every writer
commits without NOTIFY and then calls the waker (``shared.bus.pending`` does it for ORM sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from shared.bus.outbox import OutboxRelay

log = structlog.get_logger(__name__)

Notify = Callable[[str], Awaitable[object]]  # sends ``SELECT pg_notify(channel, '')`` outside any transaction


class OutboxWaker:
    """Called once a writer's outbox rows are committed. When this process's relay leads: wakes it in memory.
    Otherwise (another worker or replica leads): one NOTIFY on the outbox channel, sent outside any writer's
    transaction, for every commit that happened while the previous NOTIFY was on its way. If a NOTIFY fails, the
    relay's poll (``outbox_poll_seconds``) still publishes the rows: later, never lost."""

    def __init__(self, relay: OutboxRelay | None, notify: Notify | asyncpg.Pool, channel: str) -> None:
        self.relay = relay
        if isinstance(notify, asyncpg.Pool):
            pool = notify
            self._notify: Notify = lambda ch: pool.execute("SELECT pg_notify($1, '')", ch)
        else:
            self._notify = notify
        self.channel = channel
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        if self.relay is not None and self.relay.is_leader:
            self.relay.wake()
        else:
            self._pending.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"outbox-wake-{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self._notify(self.channel)
            except Exception as exc:  # the database is away: the relay's poll still publishes the rows
                log.warning("outbox_wake_failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)
