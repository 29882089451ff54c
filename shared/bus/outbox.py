"""Transactional outbox and its relay.

A handler calls ``add_event`` inside its own transaction; the relay publishes committed rows to Kafka.

Relay: one active instance per service, elected with a PostgreSQL advisory lock held by a dedicated
connection; woken by LISTEN/NOTIFY with a fallback poll; publishes in id order (so in order per key),
marks rows published with their partition and offset, keeps them for a retention window, and
re-publishes every retained row when it sees that the broker forgot them — a topic it publishes to is
gone, or the cluster id changed (a new or wiped cluster; the embedded broker gets a fresh id on every
start) — consumers dedupe by ``ce_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError
from opentelemetry.trace import Span, StatusCode, Tracer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.pending import mark_outbox_written
from shared.bus.tables import notify_channel
from shared.bus.topics import ensure_topics
from shared.events import Event, encode, envelope_for
from shared.observability import Metrics
from shared.tracing import TRACEPARENT, current_traceparent, producer_span

log = structlog.get_logger(__name__)


OUTBOX_COLUMNS = "event_id, topic, key, ce_type, headers, payload"
# the columns of ``outbox_row`` as a record type, for a statement that reads rows from JSON (``jsonb_to_recordset``)
OUTBOX_RECORD = "event_id uuid, topic text, key text, ce_type text, headers text, payload text"


def outbox_insert_values(schema: str) -> str:
    """``INSERT`` of one outbox row from the named parameters of ``outbox_row``."""
    return (f'INSERT INTO "{schema}".outbox ({OUTBOX_COLUMNS}) '
            "VALUES (:event_id, :topic, :key, :ce_type, CAST(:headers AS jsonb), CAST(:payload AS jsonb))")


def outbox_insert_select(schema: str, source: str, *, alias: str = "r", order_by: str | None = None) -> str:
    """An ``INSERT … SELECT`` of outbox rows from ``source`` (a FROM clause whose ``alias`` has the ``OUTBOX_RECORD``
    columns), for a hot-path statement that writes its other effects and their events in one round trip (embed it as
    a data-modifying CTE). The caller marks the session (``shared.bus.pending.mark_outbox_written``) or, outside an
    ORM session, calls the service's waker after the commit."""
    a = alias
    sql = (f'INSERT INTO "{schema}".outbox ({OUTBOX_COLUMNS}) '
           f"SELECT {a}.event_id, {a}.topic, {a}.key, {a}.ce_type, CAST({a}.headers AS jsonb), "
           f"CAST({a}.payload AS jsonb) FROM {source}")
    return f"{sql} ORDER BY {order_by}" if order_by else sql


async def add_event(session: AsyncSession, event: Event, *, source: str, traceparent: str | None = None) -> uuid.UUID:
    """Write ``event`` to the outbox of the session's schema, in the caller's transaction; the relay is woken after
    the commit (no NOTIFY inside the transaction, see ``shared.bus.wake``)."""
    row = outbox_row(event, source=source, traceparent=traceparent)
    await session.execute(text(outbox_insert_values(_schema_of(session))), row)
    mark_outbox_written(session)
    return row["event_id"]  # type: ignore[return-value]


def outbox_row(event: Event, *, source: str, traceparent: str | None = None) -> dict[str, object]:
    """The outbox columns of ``event`` (``headers`` and ``payload`` as JSON text), for a caller that writes the row
    in its own statement (``outbox_insert_select``). ``traceparent`` left out: the current span's (the request's or
    the consumed event's, ``shared.tracing``), so the relay continues the trace; none when tracing is off."""
    env = envelope_for(event, source, traceparent or current_traceparent())
    return {
        "event_id": uuid.UUID(env.id),
        "topic": event.topic,
        "key": event.key(),
        "ce_type": event.ce_type,
        "headers": json.dumps([[k, v.decode()] for k, v in env.headers()]),
        "payload": encode(event).decode(),
    }


def _schema_of(session: AsyncSession) -> str:
    schema = session.info.get("schema")
    if not schema:
        raise RuntimeError("session has no schema; build it with ServiceRuntime.session()")
    return str(schema)


_CLUSTER_KEY = "kafka_cluster_id"


def advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@dataclass
class RelaySettings:
    batch_size: int = 500
    poll_seconds: float = 1.0
    retention_hours: float = 72.0
    health_check_seconds: float = 2.0
    standby_seconds: float = 1.0
    partitions: int = 6
    replication_factor: int = 1


class OutboxRelay:
    def __init__(
        self,
        *,
        dsn: str,
        schema: str,
        bootstrap: str,
        topics: Sequence[str],
        metrics: Metrics,
        settings: RelaySettings | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.metrics = metrics
        self.settings = settings or RelaySettings()
        self.tracer = tracer  # tracing on: a producer span per row that carries a traceparent
        self.is_leader = False
        self.last_error: str | None = None  # the latest failure, cleared by the next successful round
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.republish_count = 0

    @property
    def table(self) -> str:
        return f'"{self.schema}".outbox'

    def wake(self) -> None:
        """Publish now (as a NOTIFY on the schema's channel does): for a writer in this process that committed
        outbox rows without a NOTIFY. Only useful while this relay is the leader."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.schema}")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, 10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task

    async def _run(self) -> None:
        lock = advisory_key(f"fq-outbox:{self.schema}")
        while not self._stopping.is_set():
            conn: asyncpg.Connection | None = None
            producer: AIOKafkaProducer | None = None
            try:
                # every statement of the relay has an index path (the partial index of unpublished rows, the
                # key, published_at); without sequential scans the plan its long-lived connection caches while
                # the outbox is new stays an index plan once the outbox holds its retained published rows
                conn = await asyncpg.connect(self.dsn, server_settings={"enable_seqscan": "off"})
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock):
                    await conn.close()
                    conn = None
                    self.last_error = None  # a standby that reached the database is healthy: another replica leads
                    await self._sleep(self.settings.standby_seconds)
                    continue
                self.is_leader = True
                self.metrics.relay_leader.set(1)
                log.info("outbox_relay_leader", schema=self.schema)
                await conn.add_listener(notify_channel(self.schema), lambda *_: self._wake.set())
                await ensure_topics(self.bootstrap, self.topics, self.settings.partitions,
                                    self.settings.replication_factor)
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=False,
                    request_timeout_ms=8000, linger_ms=2, metadata_max_age_ms=3000,
                )
                await producer.start()
                await self._check_broker(conn)
                await self._lead(conn, producer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = repr(exc)
                log.warning("outbox_relay_error", schema=self.schema, error=repr(exc))
                await self._sleep(1.0)
            finally:
                self.is_leader = False
                self.metrics.relay_leader.set(0)
                if producer is not None:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _lead(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> None:
        last_check = time.monotonic()
        while not self._stopping.is_set():
            self._wake.clear()
            published = await self._publish_batch(conn, producer)
            self.last_error = None
            if time.monotonic() - last_check >= self.settings.health_check_seconds:
                last_check = time.monotonic()
                await self._check_broker(conn)
                await conn.execute(
                    f"DELETE FROM {self.table} WHERE published_at < now() - make_interval(secs => $1)",
                    self.settings.retention_hours * 3600,
                )
            if published < self.settings.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    async def _publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        rows = await conn.fetch(
            f"SELECT id, topic, key, headers, payload FROM {self.table} "
            "WHERE published_at IS NULL ORDER BY id LIMIT $1",
            self.settings.batch_size,
        )
        if not rows:
            return 0
        futures = []
        spans: list[Span | None] = []
        for r in rows:
            pairs = json.loads(r["headers"])
            span = None
            if self.tracer is not None:
                span = self._publish_span(r["topic"], pairs)
            spans.append(span)
            headers = [(k, v.encode()) for k, v in pairs]
            futures.append(await producer.send(
                r["topic"], value=r["payload"].encode(), key=r["key"].encode(), headers=headers
            ))
        results = await asyncio.gather(*futures, return_exceptions=True)
        for span, res in zip(spans, results, strict=True):
            if span is not None:
                if isinstance(res, BaseException):
                    span.set_status(StatusCode.ERROR, type(res).__name__)
                else:
                    span.set_attribute("messaging.destination.partition.id", str(res.partition))
                    span.set_attribute("messaging.kafka.offset", res.offset)
                span.end()
        ids, parts, offsets = [], [], []
        failure: BaseException | None = None
        for r, res in zip(rows, results, strict=True):
            if isinstance(res, BaseException):
                failure = res
                break  # keep order: everything from the first failure is sent again
            ids.append(r["id"])
            parts.append(res.partition)
            offsets.append(res.offset)
            self.metrics.outbox_published.labels(r["topic"]).inc()
        if ids:
            await conn.execute(
                f"UPDATE {self.table} o SET published_at = now(), kafka_partition = d.p, kafka_offset = d.o "
                "FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS d(id, p, o) WHERE o.id = d.id",
                ids, parts, offsets,
            )
        if failure is not None:
            if isinstance(failure, UnknownTopicOrPartitionError):
                await self._recover_amnesia(conn, "topic unknown to the broker")
            raise failure if isinstance(failure, Exception) else RuntimeError(repr(failure))
        return len(rows)

    def _publish_span(self, topic: str, pairs: list[list[str]]) -> Span | None:
        """A producer span, child of the row's stored ``traceparent``, whose own ``traceparent`` replaces it in
        ``pairs`` (the message's headers)."""
        assert self.tracer is not None
        for pair in pairs:
            if pair[0] == TRACEPARENT:
                ce = dict(pairs)
                started = producer_span(self.tracer, pair[1], f"publish {ce.get('ce_type', topic)}", {
                    "messaging.system": "kafka", "messaging.operation.type": "publish",
                    "messaging.destination.name": topic, "messaging.message.id": ce.get("ce_id", ""),
                })
                if started is None:
                    return None
                span, pair[1] = started
                return span
        return None

    async def _check_broker(self, conn: asyncpg.Connection) -> None:
        """Detect broker amnesia: a topic we publish to is gone, or the cluster is not the one we wrote to."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            cluster_id = str((await admin.describe_cluster()).get("cluster_id") or "")
        except KafkaError as exc:
            log.warning("outbox_broker_unreachable", schema=self.schema, error=repr(exc))
            return
        finally:
            await admin.close()
        known = await conn.fetchval(f'SELECT value FROM "{self.schema}".relay_state WHERE key = $1', _CLUSTER_KEY)
        if cluster_id and cluster_id != known:
            if known is None:  # the first broker this outbox meets: nothing was published anywhere else
                await self._remember_cluster(conn, cluster_id)
            else:
                await self._recover_amnesia(conn, f"cluster id changed from {known} to {cluster_id}", cluster_id)
                return
        missing = [t for t in self.topics if t not in existing]
        if missing:
            await self._recover_amnesia(conn, f"topics missing: {missing}")

    async def _remember_cluster(self, conn: asyncpg.Connection, cluster_id: str) -> None:
        await conn.execute(
            f'INSERT INTO "{self.schema}".relay_state (key, value, updated_at) VALUES ($1, $2, now()) '
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            _CLUSTER_KEY, cluster_id,
        )

    async def _recover_amnesia(self, conn: asyncpg.Connection, reason: str, cluster_id: str | None = None) -> None:
        """Publish every retained row again. The new cluster id is remembered in the same transaction that marks
        the rows: a failure in between (the topics cannot be created yet, the database goes away, the process is
        killed) leaves the old id, so the next check finds the amnesia again instead of forgetting it."""
        await ensure_topics(self.bootstrap, self.topics, self.settings.partitions, self.settings.replication_factor)
        async with conn.transaction():
            count = await _mark_unpublished(conn, self.schema, None)
            if cluster_id is not None:
                await self._remember_cluster(conn, cluster_id)
        self.republish_count += 1
        self.metrics.outbox_republished.inc()
        log.warning("outbox_broker_amnesia", schema=self.schema, reason=reason, republishing=count)


async def _mark_unpublished(conn: asyncpg.Connection, schema: str, since: datetime | None) -> int:
    result = await conn.execute(
        f'UPDATE "{schema}".outbox SET published_at = NULL, kafka_partition = NULL, kafka_offset = NULL '
        "WHERE published_at IS NOT NULL AND ($1::timestamptz IS NULL OR published_at >= $1)",
        since,
    )
    return int(result.split()[-1])


async def republish(dsn: str, schema: str, since: datetime | None = None) -> int:
    """Mark retained rows (published since ``since``, or all) for publishing again; the relay sends them."""
    conn = await asyncpg.connect(dsn)
    try:
        count = await _mark_unpublished(conn, schema, since)
        await conn.execute("SELECT pg_notify($1, '')", notify_channel(schema))
        return count
    finally:
        await conn.close()


async def outbox_stats(session: AsyncSession) -> tuple[int, float]:
    """(unpublished rows, age in seconds of the oldest unpublished row)."""
    schema = _schema_of(session)
    row = (await session.execute(text(
        f'SELECT count(*), min(created_at) FROM "{schema}".outbox WHERE published_at IS NULL'
    ))).one()
    oldest = row[1]
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    return int(row[0]), max(age, 0.0)
