"""Live inbox push: each replica's SSE streams get the new inbox items whichever replica's consumer wrote them.

The writer hands the items it committed to its own replica's hub (``push``, after the commit: in memory, no
round trip). The other replicas hear of them through one ``NOTIFY fq_notify_inbox`` per pass, sent by this hub on
its own connection outside any writing transaction (a NOTIFY inside the writer's transaction would hold
PostgreSQL's notify lock through its commit, see ``shared.bus.wake``), and only while another replica's hub
listens: a hub says hello on the channel when it starts listening and checks every ``interval`` seconds which
others still listen (``pg_stat_activity``), so one replica sends no NOTIFY at all. A hub ignores the
notifications its own connection sent. Live push is best effort: the inbox table is the truth (a stream that
reconnects with ``Last-Event-ID`` reads what it missed).

A payload (``push_payload``) is the recipient as a JSON string, the item id and the item's public JSON, one line
each: the hub routes on the first line and the stream sends the third as it is (no parse and re-encode per
stream); an empty third line (an item too large for a NOTIFY) makes the stream read the item from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from typing import Any

import asyncpg
import structlog

from shared.loops import BackgroundLoop

log = structlog.get_logger(__name__)

INBOX_CHANNEL = "fq_notify_inbox"
APPLICATION = "fq-notify-hub"  # the application_name of every hub's connection: how hubs find each other
HELLO = ""  # the payload of a hub that just started listening
NOTIFY_LIMIT = 7000  # NOTIFY payloads must stay under 8000 bytes
BACKLOG_MAX = 10_000  # payloads held for the other replicas while this hub's connection is down

_PEERS = ("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
          "AND application_name = $1 AND pid <> pg_backend_pid())")
_SEND = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"


def push_payload(user_id: str, item_id: str, public: dict[str, Any]) -> str:
    """The push of a new inbox item; ``public`` is the item as the stream shows it."""
    head = f"{json.dumps(user_id)}\n{item_id}\n"
    body = json.dumps(public, ensure_ascii=False)
    return head + body if len(head) + len(body.encode()) <= NOTIFY_LIMIT else head


class InboxHub(BackgroundLoop):
    name = "inbox-hub"

    def __init__(self, dsn: str, queue_size: int = 1000, interval: float = 2.0) -> None:
        super().__init__(interval=interval)
        self.dsn = dsn
        self.queue_size = queue_size
        self.peers = False  # another replica's hub listens: send it what this replica wrote
        self.listening = asyncio.Event()
        self._subs: dict[str, set[asyncio.Queue[tuple[str, str]]]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._pid: int | None = None
        self._outgoing: list[str] = []
        self._checked = -1e18

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

    def push(self, payloads: list[str]) -> None:
        """Inbox items this replica committed: to its own streams now, to the other replicas' on the next pass."""
        for payload in payloads:
            self._route(payload)
        if self.peers:
            self._outgoing.extend(payloads)
            del self._outgoing[:-BACKLOG_MAX]
            self.wake()

    def _route(self, payload: str) -> None:
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

    def _on_notify(self, _conn: Any, pid: int, _channel: str, payload: str) -> None:
        if pid == self._pid:
            return  # sent by this hub: its streams have it already
        if payload == HELLO:
            self.peers = True
            return
        self._route(payload)

    # --- the loop: the LISTEN connection, the NOTIFYs to the other replicas, who else listens ---

    async def open(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": APPLICATION})
        try:
            await conn.add_listener(INBOX_CHANNEL, self._on_notify)
            self._conn, self._pid = conn, conn.get_server_pid()
            await conn.execute("SELECT pg_notify($1, $2)", INBOX_CHANNEL, HELLO)
        except BaseException:
            await self.close()
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        self._checked = -1e18
        self.listening.set()

    async def round(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            raise ConnectionError("the inbox hub's connection closed")
        if time.monotonic() - self._checked >= self.interval:
            self.peers = bool(await conn.fetchval(_PEERS, APPLICATION))  # also notices a dead connection
            self._checked = time.monotonic()
        out, self._outgoing = self._outgoing, []
        if out and self.peers:
            try:
                await conn.execute(_SEND, INBOX_CHANNEL, out)
            except BaseException:
                self._outgoing[:0] = out
                raise
        return bool(self._outgoing)

    async def close(self) -> None:
        self.listening.clear()
        conn, self._conn, self._pid = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
