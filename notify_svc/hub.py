"""Live inbox push: one LISTEN connection per replica fans NOTIFYs out to that replica's SSE streams.

The handler that writes an inbox item sends ``NOTIFY fq_notify_inbox`` with the item in the same transaction,
so every replica's streams see it as soon as it is committed, whichever replica's consumer wrote it. The payload
(``handlers.push_payload``) is the recipient as a JSON string, the item id and the item's public JSON, one line
each: the hub routes on the first line and the stream sends the third as it is (no parse and re-encode per stream);
an empty third line (an item too large for a NOTIFY) makes the stream read the item from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

import asyncpg
import structlog

from notify_svc.handlers import INBOX_CHANNEL

log = structlog.get_logger(__name__)


class InboxHub:
    def __init__(self, dsn: str, queue_size: int = 1000) -> None:
        self.dsn = dsn
        self.queue_size = queue_size
        self._subs: dict[str, set[asyncio.Queue[tuple[str, str]]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.listening = asyncio.Event()

    def subscribe(self, user_id: str) -> asyncio.Queue[tuple[str, str]]:
        """A queue of (item id, item JSON or "" when the stream must read the item) for ``user_id``."""
        q: asyncio.Queue[tuple[str, str]] = asyncio.Queue(self.queue_size)
        self._subs[user_id].add(q)
        return q

    def unsubscribe(self, user_id: str, q: asyncio.Queue[tuple[str, str]]) -> None:
        subs = self._subs.get(user_id)
        if subs is not None:
            subs.discard(q)
            if not subs:
                del self._subs[user_id]

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        head, _, rest = payload.partition("\n")
        item_id, _, body = rest.partition("\n")
        try:
            user_id = json.loads(head)
        except ValueError:
            return
        subs = self._subs.get(user_id) if isinstance(user_id, str) else None
        if not subs or not item_id:
            return
        for q in list(subs):
            with contextlib.suppress(asyncio.QueueFull):  # a stalled client loses live items, not the inbox
                q.put_nowait((item_id, body))

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notify-inbox-hub")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(INBOX_CHANNEL, self._on_notify)
                self.listening.set()
                while not conn.is_closed():
                    await asyncio.sleep(5)
                    await conn.execute("SELECT 1")  # notice a dead connection and reconnect
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("inbox_hub_error", error=repr(exc))
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(1)
