"""Idempotent consumer: inbox row + effects in one transaction, offsets committed after the database.

For each message: decode the CloudEvents headers and body; in one transaction insert
``(consumer, ce_source, ce_id)`` into ``processed_events`` (a duplicate is skipped) and run the handler;
commit; only then commit the Kafka offset. The messages a fetch returns for one partition share one
transaction; when any of them fails, they are redone one by one.

Two kinds of failure (``shared.infra.is_infrastructure_error`` tells them apart):

- **Infrastructure** (database or broker unreachable, connection lost, too many connections, pool timeout,
  serialization failure, deadlock): nothing is wrong with the message. The partition is put back at the first
  message not applied (``seek``) and paused; it is resumed after an exponential back-off capped at
  ``backoff_max_seconds`` and retried without limit, never counted toward the dead-letter attempts. The poll loop
  keeps running meanwhile (paused partitions fetch nothing), so the member keeps its place in the group
  (``max_poll_interval_ms``) and a rebalance during the outage simply hands the partition over at its committed
  offset (the inbox makes the redelivery safe). The consumer reports ``degraded`` (``/readyz``,
  ``fq_consumer_degraded``) until a transaction succeeds again.
- **Handler** (anything else): retried with back-off; after ``max_attempts`` (or at once for a message that can
  never be decoded) the message goes to ``<topic>.dlq`` with the error in headers, and the partition moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.fetching import ConsumerSettings, Pauses, Rebalance, Stalled, gather_more, update_lag
from shared.bus.inbox import Item, Skip, apply_items, dead_letter_headers
from shared.bus.topics import ensure_topics
from shared.events import Envelope, Event, InvalidEvent, Topic, decode
from shared.infra import error_class, is_infrastructure_error
from shared.observability import LogLimiter, Metrics

log = structlog.get_logger(__name__)

Handler = Callable[[AsyncSession, Event, Envelope], Awaitable[None]]
Hook = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]


class _InfraFailure(Exception):
    def __init__(self, exc: BaseException) -> None:
        super().__init__(error_class(exc))
        self.exc = exc


class EventConsumer:
    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        sessionmaker: async_sessionmaker[AsyncSession],
        schema: str,
        bootstrap: str,
        metrics: Metrics,
        settings: ConsumerSettings | None = None,
        after_db_commit: Hook | None = None,
        before_commit: Callable[[AsyncSession], Awaitable[None]] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.name = name
        self.tracer = tracer  # tracing on: each event's handler runs in a consumer span (shared.tracing)
        self.topics = list(topics)
        self.handlers = dict(handlers)
        self.sessionmaker = sessionmaker
        self.schema = schema
        self.bootstrap = bootstrap
        self.metrics = metrics
        self.settings = settings or ConsumerSettings()
        self.after_db_commit = after_db_commit
        self.before_commit = before_commit
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._cluster_id = ""  # the cluster the positions and pending offsets belong to
        self._pending: dict[TopicPartition, int] = {}
        self._batch_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._started = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # infrastructure failures: partitions paused until a monotonic time, consecutive failures, last error class
        self._pauses = Pauses()
        self._infra_streak = 0
        self.last_infra_error: str | None = None
        self._log_limiter = LogLimiter(10.0)

    @property
    def degraded(self) -> bool:
        """True from a database or broker failure until a transaction succeeds again."""
        return self._infra_streak > 0

    async def start(self) -> None:
        """Start in the background: joining a group takes seconds and the API must not wait for it."""
        self._task = asyncio.create_task(self._main(), name=f"consumer-{self.name}")

    async def wait_started(self, timeout: float = 60.0) -> None:
        await asyncio.wait_for(self._started.wait(), timeout)

    @property
    def started(self) -> bool:
        return self._started.is_set()

    async def _connect(self) -> None:
        s = self.settings
        await ensure_topics(self.bootstrap, [*self.topics, *(Topic.dlq(t) for t in self.topics)],
                            s.partitions, s.replication_factor)
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=False)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=s.metadata_max_age_ms,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=max(s.session_timeout_ms // 10, 100),
            max_poll_interval_ms=300000,
            fetch_max_wait_ms=s.fetch_max_wait_ms,
        )
        self._consumer.subscribe(self.topics, listener=Rebalance(self))
        await self._consumer.start()
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        await self._admin.start()
        self._cluster_id = await self._current_cluster_id()

    async def _current_cluster_id(self) -> str:
        assert self._admin is not None
        return str((await self._admin.describe_cluster()).get("cluster_id") or "")

    async def _main(self) -> None:
        self.metrics.consumer_degraded.labels(self.name).set(0)  # the name is final now (analytics: its epoch)
        while not self._stopping.is_set():
            try:
                await self._connect()
                break
            except (KafkaError, OSError) as exc:
                log.warning("consumer_connect_failed", consumer=self.name, error=repr(exc))
                await self._close_clients()
                await asyncio.sleep(1.0)
        else:
            return
        self._started.set()
        try:
            await self._run()
        except Exception:
            log.exception("consumer_crashed", consumer=self.name)  # /readyz reports it; offsets stay uncommitted
            raise

    async def _close_clients(self) -> None:
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
        self._consumer = self._producer = None
        self._admin = None

    async def stop(self) -> None:
        """Graceful: finish the batch in progress, commit its offsets, leave the group."""
        self._stopping.set()
        if self._task:
            done, _ = await asyncio.wait({self._task}, timeout=15)
            if not done:
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
        await self._close_clients()

    @property
    def crashed(self) -> BaseException | None:
        if self._task and self._task.done() and not self._task.cancelled():
            return self._task.exception()
        return None

    async def _run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not self._stopping.is_set():
            timeout_ms = self._pauses.resume_due(consumer)
            try:
                batch = await consumer.getmany(timeout_ms=timeout_ms, max_records=self.settings.max_records)
            except KafkaError as exc:
                log.warning("consumer_fetch_failed", consumer=self.name, error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            if not batch:
                continue
            if self.settings.batch_wait_ms > 0:
                batch = await gather_more(consumer, batch, self.settings)
            async with self._batch_lock:
                stalled: Stalled = {}
                if self.settings.batch_wait_ms > 0:  # batching: every partition's messages in one transaction
                    stalled = await self._process_partition_batch([m for ms in batch.values() for m in ms])
                elif self.settings.concurrent_partitions and len(batch) > 1:
                    for part in await asyncio.gather(*(self._process_partition_batch(m) for m in batch.values())):
                        stalled.update(part)
                else:
                    for tp, messages in batch.items():
                        if stalled:  # the database just failed: do not try the others now, they wait alike
                            stalled[tp] = messages[0].offset
                            continue
                        stalled.update(await self._process_partition_batch(messages))
                for tp, messages in batch.items():
                    if tp not in stalled:
                        self._pending[tp] = messages[-1].offset + 1
                    elif stalled[tp] > messages[0].offset:  # applied up to there before the failure
                        self._pending[tp] = stalled[tp]
                await self._commit_pending()
                if stalled:
                    self._hold(consumer, stalled)
            await update_lag(consumer, batch.keys(), self.metrics, self.name)

    def _hold(self, consumer: AIOKafkaConsumer, stalled: Stalled) -> None:
        """Put the stalled partitions back at their first message not applied and pause them for a back-off."""
        delay = min(self.settings.backoff_seconds * 2 ** min(self._infra_streak - 1, 30),
                    self.settings.backoff_max_seconds)
        self._pauses.hold(consumer, stalled, delay)
        ok, suppressed = self._log_limiter.allow(("infra", self.last_infra_error))
        if ok:
            log.warning("consumer_infrastructure_failure", consumer=self.name, error=self.last_infra_error,
                        retry_in_seconds=round(delay, 3), consecutive=self._infra_streak,
                        partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in stalled), suppressed=suppressed)

    def _infra_failed(self, exc: BaseException) -> None:
        self._infra_streak += 1
        self.last_infra_error = error_class(exc)
        self.metrics.consumer_infra_retries.labels(self.name).inc()
        self.metrics.consumer_degraded.labels(self.name).set(1)

    def _recovered(self) -> None:
        if self._infra_streak == 0:
            return
        log.info("consumer_recovered", consumer=self.name, after_failures=self._infra_streak,
                 error=self.last_infra_error)
        self._infra_streak = 0
        self.metrics.consumer_degraded.labels(self.name).set(0)
        if self._consumer is not None:  # the database is back: no need to wait longer
            self._pauses.resume_all(self._consumer)

    async def _commit_pending(self) -> None:
        if not self._pending or self._consumer is None:
            return
        offsets = dict(self._pending)
        self._pending.clear()
        # Broker amnesia (an empty broker on the same address: the embedded one after a restart, a wiped cluster):
        # offsets read on the old cluster mean other events on the new one, where the relays re-publish from offset
        # 0. Committing them there would skip every re-published event below them; instead start over from the
        # beginning — the inbox skips what was applied already.
        try:
            cluster_id = await self._current_cluster_id()
        except KafkaError as exc:  # the broker is away: the commit could not go through either; keep the offsets
            self._pending = {**offsets, **self._pending}
            log.warning("consumer_commit_deferred", consumer=self.name, error=error_class(exc))
            return
        if cluster_id and self._cluster_id and cluster_id != self._cluster_id:
            log.warning("consumer_broker_amnesia", consumer=self.name, old=self._cluster_id, new=cluster_id)
            self._cluster_id = cluster_id
            assigned = list(self._consumer.assignment())
            if assigned:
                await self._consumer.seek_to_beginning(*assigned)
            return
        self._cluster_id = cluster_id or self._cluster_id
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # Partitions moved on; the next owner re-reads these messages and the inbox skips them.
            log.warning("consumer_commit_failed", consumer=self.name, error=repr(exc))

    async def _process_partition_batch(self, messages: list[ConsumerRecord[bytes, bytes]]) -> Stalled:
        """Apply a partition's messages in one transaction; if any handler fails, redo them one by one.

        One commit per batch instead of one per event; the one-by-one path isolates the failing event, retries it
        with backoff and dead-letters it, so the rest of the batch is applied exactly as if processed alone.
        An infrastructure failure stops the batch where it is: the answer says, per partition, the first offset
        not applied (nothing of it or after it has any effect yet, a dead letter included).
        """
        decoded = [self._decode(msg) for msg in messages]
        items = [d for d in decoded if isinstance(d, Item)]
        if len(items) > 1:
            try:
                results = await self._apply(items)
            except Exception as exc:
                if is_infrastructure_error(exc):
                    self._infra_failed(exc)
                    return self._first_offsets(messages)
                log.info("consumer_batch_failed_retrying_singly", consumer=self.name, size=len(items),
                         error=repr(exc))
            else:
                self._recovered()
                for d in decoded:
                    if isinstance(d, Skip):
                        await self._skip(d)
                await self._done(items, results)
                return {}
        for i, d in enumerate(decoded):
            if isinstance(d, Skip):
                await self._skip(d)
                continue
            try:
                await self._process_one(d)
            except _InfraFailure as failure:
                self._infra_failed(failure.exc)
                return self._first_offsets(messages[i:])
        return {}

    @staticmethod
    def _first_offsets(messages: list[ConsumerRecord[bytes, bytes]]) -> Stalled:
        out: Stalled = {}
        for m in messages:
            out.setdefault(TopicPartition(m.topic, m.partition), m.offset)
        return out

    def _decode(self, msg: ConsumerRecord[bytes, bytes]) -> Item | Skip:
        """The event of a message we handle, or what to do instead (no side effect here: a batch that stalls is
        read again, and its poison must go to the DLQ once)."""
        try:
            env = Envelope.from_headers(list(msg.headers or ()))
            if env.type not in self.handlers:
                return Skip(msg, ce_type=env.type)
            return Item(msg, env, decode(env.type, msg.value or b""))
        except (InvalidEvent, ValueError) as exc:
            return Skip(msg, poison=exc)

    async def _skip(self, skip: Skip) -> None:
        if skip.poison is not None:
            await self._dead_letter(skip.msg, skip.poison, attempts=1)
        else:
            self.metrics.consumed.labels(self.name, skip.ce_type or "?", "ignored").inc()

    async def _process_one(self, item: Item) -> None:
        """Apply one event, retrying a handler failure up to ``max_attempts`` and then dead-lettering it; raise
        ``_InfraFailure`` on an infrastructure failure (not an attempt: the caller pauses the partition)."""
        bind = {"ce_id": item.env.id, "ce_type": item.env.type}
        case_id = getattr(item.event, "case_id", None)
        if case_id is not None:
            bind["case_id"] = str(case_id)
        with structlog.contextvars.bound_contextvars(**bind):
            attempt = 0
            while True:
                try:
                    results = await self._apply([item])
                except Exception as exc:
                    if is_infrastructure_error(exc):
                        raise _InfraFailure(exc) from exc
                    attempt += 1
                    log.warning("consumer_handler_failed", consumer=self.name, attempt=attempt, error=repr(exc))
                    if attempt >= self.settings.max_attempts:
                        await self._dead_letter(item.msg, exc, attempts=attempt)
                        return
                    delay = min(self.settings.backoff_seconds * 2 ** (attempt - 1), self.settings.backoff_max_seconds)
                    await asyncio.sleep(delay)
                    continue
                self._recovered()
                await self._done([item], results)
                return

    async def _done(self, items: list[Item], applied: list[bool]) -> None:
        for item, was_applied in zip(items, applied, strict=True):
            self.metrics.consumed.labels(self.name, item.env.type, "applied" if was_applied else "duplicate").inc()
        if self.after_db_commit is not None:
            for item in items:
                await self.after_db_commit(item.msg)

    async def _apply(self, items: list[Item]) -> list[bool]:
        return await apply_items(self.sessionmaker, self.schema, self.name, self.handlers, items,
                                 before_commit=self.before_commit, tracer=self.tracer)

    async def _dead_letter(self, msg: ConsumerRecord[bytes, bytes], exc: BaseException, attempts: int) -> None:
        assert self._producer is not None
        headers = dead_letter_headers(msg, exc, attempts, self.name)
        delay = self.settings.backoff_seconds
        while True:  # never drop a message: keep trying the DLQ until the broker takes it
            try:
                await self._producer.send_and_wait(Topic.dlq(msg.topic), value=msg.value, key=msg.key,
                                                   headers=headers)
                break
            except KafkaError as send_exc:
                log.warning("dlq_send_failed", consumer=self.name, error=repr(send_exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.backoff_max_seconds)
        self.metrics.dead_lettered.labels(self.name, msg.topic).inc()
        log.error("event_dead_lettered", consumer=self.name, topic=msg.topic, partition=msg.partition,
                  offset=msg.offset, error=str(exc)[:500], attempts=attempts)
