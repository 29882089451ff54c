"""The consumer's transaction: the inbox rows of a batch and its handlers, in one transaction; and what a dead
letter carries.

``apply_items`` inserts ``(consumer, ce_source, ce_id)`` for every event of the batch into ``processed_events`` in
one statement and runs the handler of each event that is new (not seen before, not a second copy in the batch), in
order, then the batch's pending writes (``before_commit``), and commits. A duplicate is skipped: effects happen once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from opentelemetry.trace import Tracer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events import Envelope, Event
from shared.tracing import consumer_span

Handler = Callable[[AsyncSession, Event, Envelope], Awaitable[None]]


@dataclass
class Item:
    msg: ConsumerRecord[bytes, bytes]
    env: Envelope
    event: Event


@dataclass
class Skip:
    """A message with no handler here (counted as ignored) or that can never be decoded (dead-lettered)."""

    msg: ConsumerRecord[bytes, bytes]
    ce_type: str | None = None
    poison: Exception | None = None


async def apply_items(sessionmaker: async_sessionmaker[AsyncSession], schema: str, consumer: str,
                      handlers: Mapping[str, Handler], items: list[Item], *,
                      before_commit: Callable[[AsyncSession], Awaitable[None]] | None = None,
                      tracer: Tracer | None = None) -> list[bool]:
    """One transaction: the inbox rows of all events in one statement, then the handler of each event that is
    not a duplicate (an event seen before, or a second copy within the batch), in order. Returns, per item,
    whether it was applied."""
    applied = []
    async with sessionmaker() as session, session.begin():
        session.info["schema"] = schema
        inserted = await session.execute(
            text(
                f'INSERT INTO "{schema}".processed_events (consumer, ce_source, ce_id, ce_type) '
                "SELECT :c, s, i, t FROM unnest(CAST(:s AS varchar[]), CAST(:i AS varchar[]), "
                "CAST(:t AS varchar[])) AS x(s, i, t) ON CONFLICT DO NOTHING RETURNING ce_source, ce_id"
            ),
            {"c": consumer, "s": [it.env.source for it in items], "i": [it.env.id for it in items],
             "t": [it.env.type for it in items]},
        )
        new = {(row[0], row[1]) for row in inserted}
        for item in items:
            key = (item.env.source, item.env.id)
            if key not in new:
                applied.append(False)
                continue
            new.discard(key)
            with consumer_span(tracer, item.env.traceparent, f"process {item.env.type}",
                               span_attributes(tracer, consumer, item)):
                await handlers[item.env.type](session, item.event, item.env)
            applied.append(True)
        if before_commit is not None:
            await before_commit(session)
    return applied


def span_attributes(tracer: Tracer | None, consumer: str, item: Item) -> dict[str, str | int]:
    if tracer is None:
        return {}
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka", "messaging.operation.type": "process",
        "messaging.destination.name": item.msg.topic, "messaging.consumer.group.name": consumer,
        "messaging.message.id": item.env.id, "messaging.destination.partition.id": str(item.msg.partition),
        "messaging.kafka.offset": item.msg.offset, "cloudevents.event_type": item.env.type,
    }
    case_id = getattr(item.event, "case_id", None)
    if case_id is not None:  # an id, never personal data: finds a case's traces
        attributes["fq.case_id"] = str(case_id)
    return attributes


def dead_letter_headers(msg: ConsumerRecord[bytes, bytes], exc: BaseException, attempts: int,
                        consumer: str) -> list[tuple[str, bytes]]:
    """The original headers plus why, by whom and from where the message was dead-lettered."""
    return [*list(msg.headers or ()),
            ("fq_error", str(exc)[:4000].encode()),
            ("fq_error_type", type(exc).__name__.encode()),
            ("fq_attempts", str(attempts).encode()),
            ("fq_consumer", consumer.encode()),
            ("fq_original_topic", msg.topic.encode()),
            ("fq_original_partition", str(msg.partition).encode()),
            ("fq_original_offset", str(msg.offset).encode()),
            ("fq_failed_at", datetime.now(UTC).isoformat().encode())]
