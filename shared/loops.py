"""One base for every background loop of a service: start, stop with a timeout, wake, back-off, last error, status.

A loop subclasses ``BackgroundLoop`` and implements ``round()`` — one pass over the work that is due, returning
True when more is waiting (the next pass starts at once) — and, optionally, ``open()`` / ``close()`` for
resources the loop holds while it runs (a LISTEN connection). The base runs ``round()`` every ``interval``
seconds or as soon as ``wake()`` is called, backs off exponentially while it fails (an unreachable database is
not a reason to spin) and reports its state for ``/readyz`` details. Loops are listed in
``ServiceSpec.loops``; the runtime starts them after the relay and consumer and stops them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from enum import StrEnum

import structlog

log = structlog.get_logger(__name__)


class LoopState(StrEnum):
    DISABLED = "disabled"
    STOPPED = "stopped"
    OK = "ok"
    FAILING = "failing"


class BackgroundLoop:
    """Subclass and implement ``round``. ``interval``: seconds between passes when nothing wakes the loop."""

    name: str = "loop"

    def __init__(self, *, interval: float, enabled: bool = True, backoff_max: float = 30.0,
                 stop_timeout: float = 15.0) -> None:
        self.interval = interval
        self.enabled = enabled
        self.backoff_max = backoff_max
        self.stop_timeout = stop_timeout
        self.last_error: str | None = None
        self.failures = 0  # consecutive failed passes
        self.rounds = 0
        self.last_round_at: float | None = None  # time.time() of the last pass that succeeded
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- what a loop implements ---

    async def round(self) -> bool:
        """One pass; True when more work is waiting (run again at once)."""
        raise NotImplementedError

    async def open(self) -> None:
        """Acquire what the loop holds while it runs; called before the first pass and again after a failure."""

    async def close(self) -> None:
        """Release what ``open`` acquired; called after a failure and when the loop stops. Must not raise."""

    # --- the mechanism ---

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def status(self) -> str:
        if not self.enabled:
            return LoopState.DISABLED.value
        if not self.running:
            return LoopState.STOPPED.value
        if self.last_error:
            return f"{LoopState.FAILING.value}: {self.last_error[:300]}"
        return LoopState.OK.value

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if not self.enabled or self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"loop-{self.name}")

    async def stop(self) -> None:
        """Let the pass in progress finish (up to ``stop_timeout``), then cancel; release the loop's resources."""
        self._stopping.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), self.stop_timeout)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def _run(self) -> None:
        opened = False
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    if not opened:
                        await self.open()
                        opened = True
                    more = await self.round()
                except Exception as exc:  # the database or a vendor may be away: back off, try again
                    self.failures += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    log.warning("loop_round_failed", loop=self.name, failures=self.failures,
                                error=type(exc).__name__)
                    if opened:
                        await self.close()
                        opened = False
                    await self._pause(min(self.interval * 2 ** min(self.failures, 10), self.backoff_max),
                                      wakeable=False)
                    continue
                self.rounds += 1
                self.failures = 0
                self.last_error = None
                self.last_round_at = time.time()
                if not more:
                    await self._pause(self.interval, wakeable=True)
        finally:
            if opened:
                await self.close()

    async def _pause(self, seconds: float, *, wakeable: bool) -> None:
        waiter = self._wake if wakeable else self._stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), seconds)
