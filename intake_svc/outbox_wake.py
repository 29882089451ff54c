"""Waking intake's outbox relay after a registration, without a NOTIFY inside the registration's transaction.

A NOTIFY takes a database-wide lock that is held until its transaction's commit is flushed to the WAL, so every
transaction that notifies waits for the flushes of all the others, one at a time: under a burst, registrations
queued behind that lock (and behind the other services' outbox writes) instead of committing together.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from shared.bus.outbox import OutboxRelay

log = structlog.get_logger(__name__)


class OutboxWaker:
    """Called once a registration's rows are committed. When this process's relay leads: wakes it in memory.
    Otherwise (another worker or replica leads): one NOTIFY on the outbox channel, sent outside any registration's
    transaction, for every registration that committed while the previous NOTIFY was on its way. If a NOTIFY
    fails, the relay's poll (``outbox_poll_seconds``) still publishes the rows: later, never lost."""

    def __init__(self, relay: OutboxRelay | None, pool: asyncpg.Pool, channel: str) -> None:
        self.relay = relay
        self.pool = pool
        self.channel = channel
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        if self.relay is not None and self.relay.is_leader:
            self.relay.wake()
        else:
            self._pending.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="intake-outbox-wake")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self.pool.execute("SELECT pg_notify($1, '')", self.channel)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox_wake_failed", error=repr(exc))
                await asyncio.sleep(1.0)
