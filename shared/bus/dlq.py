"""Dead letters: list what a ``<topic>.dlq`` holds, count it, and re-drive it to its original topic.

A DLQ topic is a queue with one read position per partition: the committed offset of the consumer group
``fq-dlq-redriven`` (no member ever joins it; only ``redrive`` commits). What lies at or after that position is
waiting; what lies before it was re-driven (or moved, see below). So:

- ``read_dead_letters`` lists from the position to the end, and ``pending_dead_letters`` counts
  ``end offset - position`` per partition from the offsets alone (cheap enough for ``/metrics`` and ``/readyz``).
- ``redrive`` re-publishes the chosen letters (original key, value and CloudEvents headers; the ``fq_*`` error
  headers dropped) to the original topic, where consumers that already applied an event skip it by ``ce_id``;
  then it appends the letters *not* chosen that lie before the last chosen one (a ``--ce-id`` redrive) again at the
  end of their DLQ partition, unchanged (their ``fq_failed_at`` and origin headers kept), and only then commits the
  position past the last chosen letter. A crash between these steps lists a letter twice or re-drives it twice,
  never loses one; both are harmless (the consumers' inbox skips a second copy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.events import Topic

REDRIVEN_GROUP = "fq-dlq-redriven"


@dataclass
class DeadLetter:
    partition: int
    offset: int
    key: str
    ce_type: str
    ce_id: str
    consumer: str
    error_type: str
    error: str
    attempts: str
    failed_at: str
    original: str
    value: bytes
    headers: list[tuple[str, bytes]]


def _letter(topic: str, m: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = list(m.headers or ())
    h = {k: v.decode(errors="replace") for k, v in headers}
    return DeadLetter(
        partition=m.partition, offset=m.offset, key=(m.key or b"").decode(errors="replace"),
        ce_type=h.get("ce_type", "?"), ce_id=h.get("ce_id", "?"), consumer=h.get("fq_consumer", "?"),
        error_type=h.get("fq_error_type", "?"), error=h.get("fq_error", ""),
        attempts=h.get("fq_attempts", "?"), failed_at=h.get("fq_failed_at", ""),
        original=f"{h.get('fq_original_topic', topic)}/{h.get('fq_original_partition', '?')}"
                 f"@{h.get('fq_original_offset', '?')}",
        value=m.value or b"", headers=headers,
    )


def _client(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=REDRIVEN_GROUP, enable_auto_commit=False,
                            auto_offset_reset="earliest", request_timeout_ms=5000)


async def _partitions(consumer: AIOKafkaConsumer, dlq_topic: str) -> list[TopicPartition]:
    await consumer.topics()  # fresh metadata: partitions_for_topic answers from it
    parts = consumer.partitions_for_topic(dlq_topic) or set()
    return [TopicPartition(dlq_topic, p) for p in sorted(parts)]


async def _positions(consumer: AIOKafkaConsumer, tps: list[TopicPartition]
                     ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """Per partition: the read position (the committed mark, or the first offset retained) and the end offset."""
    if not tps:
        return {}, {}
    begins = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    starts = {}
    for tp in tps:
        committed = await consumer.committed(tp)
        starts[tp] = max(committed or 0, begins[tp])
    return starts, ends


async def pending_dead_letters(bootstrap: str, topics: Sequence[str]) -> dict[str, int]:
    """How many dead letters wait in each ``<topic>.dlq`` (keyed by the DLQ topic), from offsets only."""
    consumer = _client(bootstrap)
    await consumer.start()
    try:
        out: dict[str, int] = {}
        for topic in topics:
            dlq = Topic.dlq(topic)
            starts, ends = await _positions(consumer, await _partitions(consumer, dlq))
            out[dlq] = sum(max(ends[tp] - starts[tp], 0) for tp in starts)
        return out
    finally:
        await consumer.stop()


async def _read(consumer: AIOKafkaConsumer, topic: str, starts: dict[TopicPartition, int],
                ends: dict[TopicPartition, int], idle_ms: int) -> list[DeadLetter]:
    todo = {tp for tp in starts if ends[tp] > starts[tp]}
    if not todo:
        return []
    consumer.assign(sorted(todo))
    for tp in todo:
        consumer.seek(tp, starts[tp])
    out: list[DeadLetter] = []
    while todo:
        batch = await consumer.getmany(*todo, timeout_ms=idle_ms)
        if not batch:
            break  # the end offsets moved back (a deleted topic): take what came
        for tp, msgs in batch.items():
            out.extend(_letter(topic, m) for m in msgs if m.offset < ends[tp])
            if msgs and msgs[-1].offset + 1 >= ends[tp]:
                todo.discard(tp)
    return out


async def read_dead_letters(bootstrap: str, topic: str, idle_ms: int = 1500) -> list[DeadLetter]:
    """The dead letters of ``<topic>.dlq`` not yet re-driven (read from the ``fq-dlq-redriven`` positions to the
    end offsets of the moment; nothing is committed)."""
    consumer = _client(bootstrap)
    await consumer.start()
    try:
        starts, ends = await _positions(consumer, await _partitions(consumer, Topic.dlq(topic)))
        out = await _read(consumer, topic, starts, ends, idle_ms)
    finally:
        await consumer.stop()
    return sorted(out, key=lambda d: (d.failed_at, d.partition, d.offset))


async def redrive(bootstrap: str, topic: str, letters: list[DeadLetter], idle_ms: int = 1500) -> int:
    """Send ``letters`` back to ``topic`` and move the DLQ's position past them (see the module doc)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    consumer = _client(bootstrap)
    await producer.start()
    await consumer.start()
    try:
        for d in letters:
            headers = [(k, v) for k, v in d.headers if not k.startswith("fq_")]
            await producer.send_and_wait(topic, value=d.value, key=d.key.encode(), headers=headers)
        dlq = Topic.dlq(topic)
        upto: dict[TopicPartition, int] = {}
        for d in letters:
            tp = TopicPartition(dlq, d.partition)
            upto[tp] = max(upto.get(tp, 0), d.offset + 1)
        starts, _ = await _positions(consumer, sorted(upto))
        upto = {tp: end for tp, end in upto.items() if end > starts[tp]}  # already past: someone re-drove them
        chosen = {(d.partition, d.offset) for d in letters}
        kept = [d for d in await _read(consumer, topic, {tp: starts[tp] for tp in upto}, upto, idle_ms)
                if (d.partition, d.offset) not in chosen]
        for d in kept:  # not chosen this time: still waiting, now after the new position
            await producer.send_and_wait(dlq, value=d.value, key=d.key.encode() if d.key else None,
                                         headers=d.headers, partition=d.partition)
        if upto:
            await consumer.commit(upto)
    finally:
        await consumer.stop()
        await producer.stop()
    return len(letters)
