"""Dead letters: list what a ``<topic>.dlq`` holds and re-drive it to its original topic.

Re-driving re-publishes the original key, value and CloudEvents headers (the ``fq_*`` error headers are
dropped) to the original topic; consumers that already applied an event skip it by ``ce_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events import Topic


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


async def read_dead_letters(bootstrap: str, topic: str, idle_ms: int = 1500) -> list[DeadLetter]:
    """Everything currently in ``<topic>.dlq`` (read without a consumer group, so nothing is consumed)."""
    consumer = AIOKafkaConsumer(Topic.dlq(topic), bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    out: list[DeadLetter] = []
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=idle_ms)
            if not batch:
                break
            for msgs in batch.values():
                for m in msgs:
                    h = {k: v.decode(errors="replace") for k, v in m.headers or ()}
                    out.append(DeadLetter(
                        partition=m.partition, offset=m.offset, key=(m.key or b"").decode(errors="replace"),
                        ce_type=h.get("ce_type", "?"), ce_id=h.get("ce_id", "?"), consumer=h.get("fq_consumer", "?"),
                        error_type=h.get("fq_error_type", "?"), error=h.get("fq_error", ""),
                        attempts=h.get("fq_attempts", "?"), failed_at=h.get("fq_failed_at", ""),
                        original=f"{h.get('fq_original_topic', topic)}/{h.get('fq_original_partition', '?')}"
                                 f"@{h.get('fq_original_offset', '?')}",
                        value=m.value or b"", headers=list(m.headers or ()),
                    ))
    finally:
        await consumer.stop()
    return sorted(out, key=lambda d: (d.failed_at, d.partition, d.offset))


async def redrive(bootstrap: str, topic: str, letters: list[DeadLetter]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        for d in letters:
            headers = [(k, v) for k, v in d.headers if not k.startswith("fq_")]
            await producer.send_and_wait(topic, value=d.value, key=d.key.encode(), headers=headers)
    finally:
        await producer.stop()
    return len(letters)
