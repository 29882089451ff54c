"""The Kafka side of the consumer: its settings, a batch gathered from several fetches, partitions paused during
an outage, and the lag metric."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from shared.observability import Metrics

log = structlog.get_logger(__name__)

# where each partition of a batch stopped because of an infrastructure failure: the first offset not applied
Stalled = dict[TopicPartition, int]
Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


@dataclass
class ConsumerSettings:
    max_attempts: int = 5
    backoff_seconds: float = 0.2
    backoff_max_seconds: float = 5.0
    max_records: int = 200
    partitions: int = 6
    replication_factor: int = 1
    metadata_max_age_ms: int = 3000
    session_timeout_ms: int = 10000
    fetch_max_wait_ms: int = 100  # how long the broker may hold a fetch when nothing is new (latency bound)
    # after a fetch returned something, gather what else arrives within this many ms into the same batch, and apply
    # the whole fetch (all partitions, each in its order) in one transaction: fewer, larger transactions and offset
    # commits at the price of this much latency; 0 = process at once, one transaction per partition
    batch_wait_ms: int = 0
    # the partitions of one fetch in concurrent transactions (one session each) instead of one after the other;
    # only for handlers whose transactions of different partitions cannot conflict (analytics: its rollups lock).
    # Ignored with batch_wait_ms (then the whole fetch is one transaction)
    concurrent_partitions: bool = False


async def gather_more(consumer: AIOKafkaConsumer, batch: Batch, settings: ConsumerSettings) -> Batch:
    """Wait ``batch_wait_ms`` and add what else arrived, up to ``max_records`` (later offsets of a partition after
    its earlier ones: order kept)."""
    room = settings.max_records - sum(len(m) for m in batch.values())
    if room <= 0:
        return batch
    await asyncio.sleep(settings.batch_wait_ms / 1000)
    try:
        more = await consumer.getmany(timeout_ms=0, max_records=room)
    except KafkaError:
        return batch
    for tp, messages in more.items():
        batch[tp] = [*batch.get(tp, []), *messages]
    return batch


async def update_lag(consumer: AIOKafkaConsumer, tps: Iterable[TopicPartition], metrics: Metrics, name: str) -> None:
    for tp in tps:
        with contextlib.suppress(KafkaError, AssertionError):  # a partition revoked meanwhile
            hw = consumer.highwater(tp)
            if hw is None:
                continue
            pos = await consumer.position(tp)
            metrics.consumer_lag.labels(name, tp.topic, str(tp.partition)).set(max(hw - pos, 0))


class Pauses:
    """Partitions paused after an infrastructure failure, each until a monotonic time."""

    def __init__(self) -> None:
        self.until: dict[TopicPartition, float] = {}

    def resume_due(self, consumer: AIOKafkaConsumer) -> int:
        """Resume the paused partitions whose back-off is over; the fetch timeout (ms) until the next one is due."""
        if not self.until:
            return 300
        now = time.monotonic()
        assigned = consumer.assignment()
        for tp, until in list(self.until.items()):
            if until <= now:
                del self.until[tp]
                if tp in assigned:
                    consumer.resume(tp)
        if not self.until:
            return 0
        return max(1, min(300, int((min(self.until.values()) - now) * 1000)))

    def hold(self, consumer: AIOKafkaConsumer, stalled: Stalled, delay: float) -> None:
        """Put the stalled partitions back at their first message not applied and pause them for ``delay``."""
        assigned = consumer.assignment()
        until = time.monotonic() + delay
        for tp, offset in stalled.items():
            if tp not in assigned:  # revoked meanwhile: its next owner starts at the committed offset
                continue
            consumer.seek(tp, offset)
            consumer.pause(tp)
            self.until[tp] = until

    def resume_all(self, consumer: AIOKafkaConsumer) -> None:
        assigned = consumer.assignment()
        for tp in list(self.until):
            if tp in assigned:
                consumer.resume(tp)
        self.until.clear()

    def drop(self, tp: TopicPartition) -> None:
        """A partition revoked or newly assigned is not paused (its owner starts at the committed offset)."""
        self.until.pop(tp, None)


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move away: wait for the batch in progress and commit what it processed."""

    def __init__(self, owner: Any) -> None:  # the EventConsumer
        self.owner = owner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Wait for the batch in progress, then commit what it processed before giving partitions away.
        async with self.owner._batch_lock:
            await self.owner._commit_pending()
            for tp in revoked:  # a partition paused for an outage goes to its next owner at its committed offset
                self.owner._pauses.drop(tp)
                # its lag is the next owner's to report: a value left here would read as lag that never drains
                with contextlib.suppress(KeyError):
                    self.owner.metrics.consumer_lag.remove(self.owner.name, tp.topic, str(tp.partition))

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:  # a fresh assignment is not paused: it starts (and if need be stalls) again
            self.owner._pauses.drop(tp)
        log.info("consumer_assigned", consumer=self.owner.name,
                 partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))
