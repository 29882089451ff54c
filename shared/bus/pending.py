"""Pending writes: rows a transaction's handlers queue, written once by the entry point just before commit.

A consumer batch applies many events in one transaction; writing each event's rows as it goes costs a statement
per event. Instead a handler queues its rows under a ``PendingKind`` (``queue``), and the entry point that owns
the transaction — a route through ``transaction()``, the consumer after a batch's handlers — calls ``flush``
before it commits: each kind's writer then writes everything queued for it in one statement. A rolled-back
transaction drops what it queued. Committing with rows still queued is a bug and raises (``guard_session``), so a
forgotten flush fails loudly instead of losing writes.

A deadlock or a serialization failure is not the request's fault: ``run`` is ``transaction`` around a unit of work
that it redoes (a few times, with a short jittered pause) when PostgreSQL picked it as the victim, so a route
never answers 500 for it (and answers 503 only when contention persists: ``shared.infra``). The consumer redoes its
batches the same way (``shared.bus.consumer``).

The same module carries the transaction's "wake the outbox relay after commit" flag: no NOTIFY inside a
transaction (it holds a database-wide lock until the commit is flushed, serializing every writer); a writer marks
the session (``mark_outbox_written``) and the session's ``after_commit`` calls the service's waker.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared.infra import error_class, is_contention

log = structlog.get_logger(__name__)

T = TypeVar("T")

_QUEUED = "fq_pending_writes"
_OUTBOX_WRITTEN = "fq_outbox_written"
_ON_COMMIT = "fq_on_commit"
WAKER = "fq_outbox_waker"  # session.info key of the service's waker (a plain callable, set by the runtime)


@dataclass(frozen=True, eq=False)
class PendingKind(Generic[T]):
    """One kind of queued row and the writer that writes a transaction's rows of that kind in one statement."""

    name: str
    write: Callable[[AsyncSession, list[T]], Awaitable[None]]

    def __repr__(self) -> str:
        return f"PendingKind({self.name})"


def _queues(info: dict[str, Any]) -> dict[PendingKind[Any], list[Any]]:
    queues: dict[PendingKind[Any], list[Any]] | None = info.get(_QUEUED)
    if queues is None:
        queues = info[_QUEUED] = {}
    return queues


def queue(session: AsyncSession, kind: PendingKind[T], item: T) -> None:
    """Queue ``item``; it is written by ``flush`` before the transaction commits."""
    _queues(session.info).setdefault(kind, []).append(item)


def queued(session: AsyncSession, kind: PendingKind[T]) -> list[T]:
    """What is queued of ``kind`` so far in this transaction (a handler that must see earlier events' rows)."""
    return list(_queues(session.info).get(kind, ()))


def has_pending(session: AsyncSession) -> bool:
    return any(_queues(session.info).values())


async def flush(session: AsyncSession) -> None:
    """Write everything queued, kind by kind in the order each was first queued; a writer may queue more."""
    queues = _queues(session.info)
    while True:
        kind = next((k for k, items in queues.items() if items), None)
        if kind is None:
            return
        items = queues.pop(kind)
        await kind.write(session, items)


def mark_outbox_written(session: AsyncSession | Session) -> None:
    """The transaction wrote outbox rows: wake the relay once it commits."""
    session.info[_OUTBOX_WRITTEN] = True


def on_commit(session: AsyncSession | Session, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the transaction commits (dropped if it rolls back): an in-process, quick signal about
    what the transaction wrote (wake a loop, hand new rows to this replica's live streams), never I/O."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def _after_commit(session: Session) -> None:
    for callback in session.info.pop(_ON_COMMIT, ()):
        try:
            callback()
        except Exception as exc:  # the commit happened: a failed signal must not make the caller think otherwise
            log.warning("on_commit_callback_failed", error=type(exc).__name__)
    if session.info.pop(_OUTBOX_WRITTEN, False):
        waker = session.info.get(WAKER)
        if waker is not None:
            waker()


def _after_rollback(session: Session) -> None:
    session.info.pop(_OUTBOX_WRITTEN, None)
    session.info.pop(_QUEUED, None)
    session.info.pop(_ON_COMMIT, None)


def _before_commit(session: Session) -> None:
    queues: dict[PendingKind[Any], list[Any]] = session.info.get(_QUEUED) or {}
    left = sorted(k.name for k, items in queues.items() if items)
    if left:
        raise RuntimeError(f"committing with pending writes not flushed: {left} (use shared.bus.pending.transaction)")


def guard_session(maker: async_sessionmaker[AsyncSession]) -> None:
    """Install the commit guard, the after-commit wake-up and the rollback cleanup on every session of ``maker``."""
    sync_cls = maker.kw.get("sync_session_class") or Session
    for name, fn in (("before_commit", _before_commit), ("after_commit", _after_commit),
                     ("after_rollback", _after_rollback)):
        if not sa_event.contains(sync_cls, name, fn):  # several services in one process share the class
            sa_event.listen(sync_cls, name, fn)


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The entry point's transaction: begin, run the block, flush the pending writes, commit (rollback on error)."""
    async with session.begin():
        yield session
        await flush(session)


RETRY_ATTEMPTS = 5
RETRY_PAUSE_SECONDS = 0.02  # doubled after every attempt, jittered


async def run(session: AsyncSession, work: Callable[[], Awaitable[T]], *, attempts: int = RETRY_ATTEMPTS) -> T:
    """``work()`` in the entry point's transaction (``transaction``), run again from the start when PostgreSQL
    aborted it for a deadlock or a serialization failure (SQLSTATE 40P01/40001). ``work`` must do everything
    that depends on the database inside (loads included): a retried attempt sees the other transaction's commit.
    The last failure is raised (``shared.problems`` answers an infrastructure error with 503, never 500)."""
    for attempt in range(1, attempts + 1):
        try:
            async with transaction(session):
                return await work()
        except Exception as exc:
            if attempt == attempts or not is_contention(exc):
                raise
            log.info("transaction_retried", attempt=attempt, error=error_class(exc))
            await asyncio.sleep(RETRY_PAUSE_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")

