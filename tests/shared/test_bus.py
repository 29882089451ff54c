"""The bus mechanisms against the real broker and PostgreSQL: outbox relay, idempotent consumer, DLQ."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.consumer import ConsumerSettings, EventConsumer
from shared.bus.outbox import OutboxRelay, RelaySettings, add_event
from shared.bus.tables import bus_tables
from shared.db import asyncpg_dsn, make_engine, make_sessionmaker
from shared.events import Envelope, Event, Topic, encode, envelope_for
from shared.observability import Metrics
from tests.support import Infra, eventually

_n = itertools.count()


class _Ping(Event):
    key_id: str
    seq: int
    fail: bool = False

    def key(self) -> str:
        return self.key_id


def ping_type() -> type[_Ping]:
    """A fresh event type on a fresh topic, so tests never see each other's messages."""
    n = f"{uuid.uuid4().hex[:8]}{next(_n)}"
    return type(f"Ping{n}", (_Ping,), {"ce_type": f"fq.test.ping{n}.v1", "topic": f"fq-test-{n}"})  # type: ignore[return-value]


class BusDb:
    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self.engine: AsyncEngine = make_engine(url, schema, 5)
        self.maker: async_sessionmaker[AsyncSession] = make_sessionmaker(self.engine)
        md = MetaData()
        self.outbox = bus_tables(md, schema)[0]
        self.effects = Table("effects", md, Column("id", Integer, primary_key=True),
                             Column("ce_id", String, nullable=False), Column("seq", Integer), schema=schema)
        self.md = md

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await conn.run_sync(self.md.create_all)

    def session(self) -> AsyncSession:
        s = self.maker()
        s.info["schema"] = self.schema
        return s

    async def count(self, table: Table, *where: Any) -> int:
        async with self.session() as s:
            return int((await s.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


@pytest.fixture
async def busdb(infra: Infra, database_url: str) -> AsyncIterator[BusDb]:
    b = BusDb(database_url, f"bustest_{uuid.uuid4().hex[:8]}")
    await b.create()
    yield b
    async with b.engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{b.schema}" CASCADE'))
    await b.engine.dispose()


async def read_topic(
    bootstrap: str, topic: str, expect: int, timeout: float = 30
) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async def enough() -> bool:
            batch = await consumer.getmany(timeout_ms=200)
            for msgs in batch.values():
                got.extend(msgs)
            return len(got) >= expect

        await eventually(enough, timeout=timeout, interval=0, what=f"{expect} messages on {topic}")
        extra = await consumer.getmany(timeout_ms=700)  # anything beyond what we expect shows up too
        for msgs in extra.values():
            got.extend(msgs)
    finally:
        await consumer.stop()
    return got


def relay(db: BusDb, bootstrap: str, topic: str) -> OutboxRelay:
    return OutboxRelay(dsn=asyncpg_dsn(db.url), schema=db.schema, bootstrap=bootstrap, topics=[topic],
                       metrics=Metrics("test"),
                       settings=RelaySettings(poll_seconds=0.3, health_check_seconds=0.5, standby_seconds=0.2,
                                              partitions=3, batch_size=50))


async def write_events(db: BusDb, events: list[Event]) -> None:
    async with db.session() as s, s.begin():
        for e in events:
            await add_event(s, e, source="/fengqiao/test")


async def test_two_racing_relays_publish_each_event_once_in_order_per_key(busdb: BusDb, infra: Infra) -> None:
    Ping = ping_type()
    keys = [f"case-{i}" for i in range(5)]
    await write_events(busdb, [Ping(key_id=keys[i % 5], seq=i) for i in range(200)])
    a, b = relay(busdb, infra.broker.bootstrap, Ping.topic), relay(busdb, infra.broker.bootstrap, Ping.topic)
    await asyncio.gather(a.start(), b.start())
    try:
        await eventually(lambda: _true_if(a.is_leader or b.is_leader), what="a leader")
        # more events while the relays run: NOTIFY wakes the leader
        for chunk in range(5):
            await write_events(busdb, [Ping(key_id=keys[i % 5], seq=i) for i in range(200 + chunk * 20,
                                                                                    220 + chunk * 20)])
        msgs = await read_topic(infra.broker.bootstrap, Ping.topic, 300)
        assert [a.is_leader, b.is_leader].count(True) == 1
    finally:
        await asyncio.gather(a.stop(), b.stop())
    assert len(msgs) == 300, "every event exactly once"
    ids = [dict(m.headers)["ce_id"] for m in msgs]
    assert len(set(ids)) == 300
    per_key: dict[str, list[int]] = {}
    for m in msgs:
        event = Ping.model_validate_json(m.value or b"")
        assert (m.key or b"").decode() == event.key_id == dict(m.headers)["ce_partitionkey"].decode()
        per_key.setdefault(event.key_id, []).append(event.seq)
    for key, seqs in per_key.items():
        assert seqs == sorted(seqs), f"order kept for {key}"
    assert await busdb.count(busdb.outbox, busdb.outbox.c.published_at.is_(None)) == 0


async def test_standby_relay_takes_over_when_the_leader_stops(busdb: BusDb, infra: Infra) -> None:
    Ping = ping_type()
    a = relay(busdb, infra.broker.bootstrap, Ping.topic)
    await a.start()
    await eventually(lambda: _true_if(a.is_leader), what="first relay leads")
    b = relay(busdb, infra.broker.bootstrap, Ping.topic)
    await b.start()
    try:
        await write_events(busdb, [Ping(key_id="k", seq=1)])
        await read_topic(infra.broker.bootstrap, Ping.topic, 1)
        assert not b.is_leader
        await a.stop()
        await eventually(lambda: _true_if(b.is_leader), what="standby takes over")
        await write_events(busdb, [Ping(key_id="k", seq=2)])
        msgs = await read_topic(infra.broker.bootstrap, Ping.topic, 2)
        assert [Ping.model_validate_json(m.value or b"").seq for m in msgs] == [1, 2]
    finally:
        await b.stop()


async def _true_if(value: bool) -> bool:
    return value


def consumer(db: BusDb, bootstrap: str, event_type: type[_Ping], group: str, batch_wait_ms: int = 0,
             **kwargs: Any) -> EventConsumer:
    async def handle(session: AsyncSession, event: _Ping, env: Envelope) -> None:
        if event.fail:
            raise RuntimeError(f"cannot handle seq {event.seq}")
        await session.execute(db.effects.insert().values(ce_id=env.id, seq=event.seq))

    return EventConsumer(
        name=group, topics=[event_type.topic], handlers={event_type.ce_type: handle},  # type: ignore[dict-item]
        sessionmaker=db.maker, schema=db.schema, bootstrap=bootstrap, metrics=Metrics("test"),
        settings=ConsumerSettings(max_attempts=2, backoff_seconds=0.01, partitions=3, session_timeout_ms=6000,
                                  batch_wait_ms=batch_wait_ms),
        **kwargs,
    )


async def produce(bootstrap: str, event: Event, *, env: Envelope | None = None, body: bytes | None = None) -> Envelope:
    env = env or envelope_for(event, "/fengqiao/test")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(event.topic, value=body if body is not None else encode(event),
                                     key=event.key().encode(), headers=env.headers())
    finally:
        await producer.stop()
    return env


def _count(c: EventConsumer, ce_type: str, result: str) -> float:
    return c.metrics.registry.get_sample_value(
        "fq_consumer_events_total", {"consumer": c.name, "ce_type": ce_type, "result": result}) or 0.0


async def test_an_event_delivered_twice_has_one_effect(busdb: BusDb, infra: Infra) -> None:
    Ping = ping_type()
    event = Ping(key_id="k1", seq=7)
    env = await produce(infra.broker.bootstrap, event)
    await produce(infra.broker.bootstrap, event, env=env)  # the same ce_id again (a redelivery)
    c = consumer(busdb, infra.broker.bootstrap, Ping, f"g-{uuid.uuid4().hex[:6]}")
    await c.start()
    try:
        await eventually(lambda: _true_if(_count(c, Ping.ce_type, "duplicate") == 1), what="duplicate skipped")
    finally:
        await c.stop()
    assert _count(c, Ping.ce_type, "applied") == 1
    assert await busdb.count(busdb.effects) == 1


class SimulatedCrash(Exception):
    pass


async def test_a_crash_between_db_commit_and_offset_commit_has_no_double_effect(busdb: BusDb, infra: Infra) -> None:
    Ping = ping_type()
    group = f"g-{uuid.uuid4().hex[:6]}"

    async def crash(msg: ConsumerRecord[bytes, bytes]) -> None:
        raise SimulatedCrash("process died after the database commit, before the offset commit")

    first = consumer(busdb, infra.broker.bootstrap, Ping, group, after_db_commit=crash)
    await produce(infra.broker.bootstrap, Ping(key_id="k1", seq=1))
    await first.start()
    await eventually(lambda: _true_if(isinstance(first.crashed, SimulatedCrash)), what="the consumer crashed")
    await first.stop()
    assert await busdb.count(busdb.effects) == 1

    second = consumer(busdb, infra.broker.bootstrap, Ping, group)
    await second.start()
    try:
        await eventually(lambda: _true_if(_count(second, Ping.ce_type, "duplicate") == 1),
                         what="the redelivered event skipped")
    finally:
        await second.stop()
    assert await busdb.count(busdb.effects) == 1


async def test_poison_messages_go_to_the_dlq_and_the_partition_moves_on(busdb: BusDb, infra: Infra) -> None:
    Ping = ping_type()
    # same key → same partition: the good messages sit behind the bad ones
    await produce(infra.broker.bootstrap, Ping(key_id="k1", seq=1), body=b"{not json")
    await produce(infra.broker.bootstrap, Ping(key_id="k1", seq=2, fail=True))
    await produce(infra.broker.bootstrap, Ping(key_id="k1", seq=3))
    c = consumer(busdb, infra.broker.bootstrap, Ping, f"g-{uuid.uuid4().hex[:6]}")
    await c.start()
    try:
        dead = await read_topic(infra.broker.bootstrap, Topic.dlq(Ping.topic), 2)
        await eventually(lambda: _effects_seq(busdb), what="the message after the poison processed")
    finally:
        await c.stop()
    assert len(dead) == 2
    headers = [{k: v.decode() for k, v in m.headers} for m in dead]
    assert headers[0]["fq_error_type"] == "InvalidEvent" and headers[0]["fq_attempts"] == "1"
    assert headers[1]["fq_error_type"] == "RuntimeError" and headers[1]["fq_attempts"] == "2"
    assert "cannot handle seq 2" in headers[1]["fq_error"]
    assert all(h["fq_original_topic"] == Ping.topic for h in headers)
    assert dead[0].value == b"{not json"
    assert await busdb.count(busdb.effects) == 1


async def test_a_batching_consumer_applies_every_partition_once_and_isolates_a_poison(busdb: BusDb,
                                                                                   infra: Infra) -> None:
    """batch_wait_ms > 0: a fetch's messages of all partitions share one transaction; a failing one is still
    dead-lettered alone and a redelivered one still skipped."""
    Ping = ping_type()
    envs = [await produce(infra.broker.bootstrap, Ping(key_id=f"k{i}", seq=i, fail=i == 4)) for i in range(1, 9)]
    await produce(infra.broker.bootstrap, Ping(key_id="k2", seq=2), env=envs[1])  # a redelivery
    c = consumer(busdb, infra.broker.bootstrap, Ping, f"g-{uuid.uuid4().hex[:6]}", batch_wait_ms=50)
    await c.start()
    try:
        dead = await read_topic(infra.broker.bootstrap, Topic.dlq(Ping.topic), 1)

        async def all_good() -> bool:
            async with busdb.session() as s:
                return sorted((await s.execute(select(busdb.effects.c.seq))).scalars()) == [1, 2, 3, 5, 6, 7, 8]

        await eventually(all_good, what="every good message applied")
        await eventually(lambda: _true_if(_count(c, Ping.ce_type, "duplicate") == 1), what="the copy skipped")
    finally:
        await c.stop()
    assert [dict(m.headers)["ce_id"].decode() for m in dead] == [envs[3].id]
    assert await busdb.count(busdb.effects) == 7


async def _effects_seq(db: BusDb) -> bool:
    async with db.session() as s:
        return (await s.execute(select(db.effects.c.seq))).scalars().all() == [3]


async def test_dead_letters_can_be_listed_and_redriven(busdb: BusDb, infra: Infra) -> None:
    from shared.bus.dlq import pending_dead_letters, read_dead_letters, redrive

    Ping = ping_type()
    failing = Ping(key_id="k1", seq=5, fail=True)
    env = await produce(infra.broker.bootstrap, failing)
    c = consumer(busdb, infra.broker.bootstrap, Ping, f"g-{uuid.uuid4().hex[:6]}")
    await c.start()
    try:
        await read_topic(infra.broker.bootstrap, Topic.dlq(Ping.topic), 1)
        letters = await read_dead_letters(infra.broker.bootstrap, Ping.topic, idle_ms=500)
        assert [(d.ce_id, d.error_type, d.attempts) for d in letters] == [(env.id, "RuntimeError", "2")]
        assert "cannot handle seq 5" in letters[0].error
        # re-driven as is, it fails again and comes back: the error stays visible, nothing is lost
        assert await redrive(infra.broker.bootstrap, Ping.topic, letters) == 1
        again = await read_topic(infra.broker.bootstrap, Topic.dlq(Ping.topic), 2)
        assert [dict(m.headers)["ce_id"].decode() for m in again] == [env.id, env.id]
        # what was re-driven is no longer listed nor counted: only its new failure is
        relisted = await read_dead_letters(infra.broker.bootstrap, Ping.topic, idle_ms=500)
        assert [(d.ce_id, d.offset) for d in relisted] == [(env.id, again[1].offset)]
        assert await pending_dead_letters(infra.broker.bootstrap, [Ping.topic]) == {Topic.dlq(Ping.topic): 1}
    finally:
        await c.stop()
    assert await busdb.count(busdb.effects) == 0


async def test_a_selective_redrive_keeps_the_letters_not_chosen(busdb: BusDb, infra: Infra) -> None:
    from shared.bus.dlq import pending_dead_letters, read_dead_letters, redrive

    Ping = ping_type()
    ok = {"seq": 0}  # the handler fails for seqs above this
    group = f"g-{uuid.uuid4().hex[:6]}"

    async def handle(session: AsyncSession, event: _Ping, env: Envelope) -> None:
        if event.seq > ok["seq"]:
            raise RuntimeError(f"cannot handle seq {event.seq}")
        await session.execute(busdb.effects.insert().values(ce_id=env.id, seq=event.seq))

    c = EventConsumer(name=group, topics=[Ping.topic], handlers={Ping.ce_type: handle},  # type: ignore[dict-item]
                      sessionmaker=busdb.maker, schema=busdb.schema, bootstrap=infra.broker.bootstrap,
                      metrics=Metrics("test"),
                      settings=ConsumerSettings(max_attempts=1, backoff_seconds=0.01, partitions=3))
    envs = [await produce(infra.broker.bootstrap, Ping(key_id="same", seq=seq)) for seq in (1, 2, 3)]
    await c.start()
    try:
        await read_topic(infra.broker.bootstrap, Topic.dlq(Ping.topic), 3)
        assert await pending_dead_letters(infra.broker.bootstrap, [Ping.topic]) == {Topic.dlq(Ping.topic): 3}
        letters = await read_dead_letters(infra.broker.bootstrap, Ping.topic, idle_ms=500)
        assert [d.ce_id for d in letters] == [e.id for e in envs]
        ok["seq"] = 2  # the cause of seq 1 and 2 is fixed; seq 3's is not: re-drive only the middle one
        assert await redrive(infra.broker.bootstrap, Ping.topic, [letters[1]]) == 1

        async def applied() -> bool:
            async with busdb.session() as s:
                return list((await s.execute(select(busdb.effects.c.seq))).scalars()) == [2]

        await eventually(applied, what="the re-driven letter applied")
        left = await read_dead_letters(infra.broker.bootstrap, Ping.topic, idle_ms=500)
        assert sorted(d.ce_id for d in left) == sorted([envs[0].id, envs[2].id]), "the others still wait"
        assert {d.failed_at for d in left} <= {d.failed_at for d in letters}, "moved unchanged"
        assert await pending_dead_letters(infra.broker.bootstrap, [Ping.topic]) == {Topic.dlq(Ping.topic): 2}
        await redrive(infra.broker.bootstrap, Ping.topic, [d for d in left if d.ce_id == envs[0].id])
        await eventually(lambda: _true_if_count(busdb, 2), what="seq 1 applied")
        assert [d.ce_id for d in await read_dead_letters(infra.broker.bootstrap, Ping.topic, idle_ms=500)] == [
            envs[2].id]
    finally:
        await c.stop()
    assert await busdb.count(busdb.effects) == 2


async def _true_if_count(db: BusDb, n: int) -> bool:
    return await db.count(db.effects) == n


async def test_a_database_outage_is_retried_without_limit_in_order_and_survives_a_rebalance(
    busdb: BusDb, infra: Infra,
) -> None:
    """While the gate is shut every transaction dies of a real lost connection (the handler's backend is
    terminated): far more failures than max_attempts (2), yet nothing is dead-lettered, the consumer says it is
    degraded, a second member joining meanwhile rebalances the partitions, and once the gate opens every event is
    applied exactly once, in order per key."""
    from shared.bus.dlq import pending_dead_letters

    Ping = ping_type()
    gate = asyncio.Event()
    failures = 0

    async def handle(session: AsyncSession, event: _Ping, env: Envelope) -> None:
        nonlocal failures
        if not gate.is_set():
            failures += 1
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        await session.execute(busdb.effects.insert().values(ce_id=env.id, seq=event.seq))

    group = f"g-{uuid.uuid4().hex[:6]}"

    def member() -> EventConsumer:
        return EventConsumer(
            name=group, topics=[Ping.topic], handlers={Ping.ce_type: handle},  # type: ignore[dict-item]
            sessionmaker=busdb.maker, schema=busdb.schema, bootstrap=infra.broker.bootstrap,
            metrics=Metrics("test"),
            settings=ConsumerSettings(max_attempts=2, backoff_seconds=0.01, backoff_max_seconds=0.2, partitions=3,
                                      session_timeout_ms=6000),
        )

    keys = [f"k{i}" for i in range(4)]
    for seq in range(20):
        await produce(infra.broker.bootstrap, Ping(key_id=keys[seq % 4], seq=seq))
    a = member()
    await a.start()
    b: EventConsumer | None = None
    try:
        await eventually(lambda: _true_if(a.degraded and failures > 10), what="the consumer degraded, retrying")
        assert a.metrics.registry.get_sample_value("fq_consumer_degraded", {"consumer": group}) == 1
        assert (a.metrics.registry.get_sample_value("fq_consumer_infra_retries_total", {"consumer": group})
                or 0) > 10
        assert a.last_infra_error is not None and "ConnectionDoesNotExist" in a.last_infra_error
        b = member()  # a rebalance while the database is "down"
        await b.start()
        await b.wait_started()
        await eventually(lambda: _true_if(b is not None and b.degraded), what="the new member degraded too")
        gate.set()

        async def all_applied() -> list[int] | None:
            async with busdb.session() as s:
                rows = (await s.execute(select(busdb.effects.c.seq).order_by(busdb.effects.c.id))).scalars().all()
            return list(rows) if len(rows) >= 20 else None

        applied = await eventually(all_applied, timeout=60, what="every event applied")
        await asyncio.sleep(1.0)  # a second copy would show up now
        await eventually(lambda: _true_if(not a.degraded and b is not None and not b.degraded),
                         what="both recovered")
    finally:
        await a.stop()
        if b is not None:
            await b.stop()
    assert await busdb.count(busdb.effects) == 20, "each event exactly once"
    assert sorted(applied) == list(range(20))
    for key in range(4):
        per_key = [seq for seq in applied if seq % 4 == key]
        assert per_key == sorted(per_key), "order kept per key"
    assert a.metrics.registry.get_sample_value("fq_consumer_degraded", {"consumer": group}) == 0
    assert (await pending_dead_letters(infra.broker.bootstrap, [Ping.topic])) == {Topic.dlq(Ping.topic): 0}


async def test_a_recovery_that_fails_half_way_is_not_forgotten(busdb: BusDb, infra: Infra) -> None:
    """The relay learns the broker is a new, empty cluster, but cannot recover yet (the topics cannot be created:
    here the broker is gone again). The next check must still find the amnesia and publish every retained row
    once more; remembering the new cluster before the rows were marked would lose them for good."""
    Ping = ping_type()
    r = relay(busdb, infra.broker.bootstrap, Ping.topic)
    await r.start()
    try:
        await write_events(busdb, [Ping(key_id="k", seq=1), Ping(key_id="k", seq=2)])
        await read_topic(infra.broker.bootstrap, Ping.topic, 2)
    finally:
        await r.stop()
    dsn = asyncpg_dsn(busdb.url)

    conn = await asyncpg.connect(dsn)
    try:
        # as if the rows were published to a cluster that is gone now
        await conn.execute(f'UPDATE "{busdb.schema}".relay_state SET value = $1 WHERE key = $2',
                           "a-cluster-that-was-wiped", "kafka_cluster_id")
        # the check reaches the broker, but topic creation fails (a topic of -1 partitions)
        failing = OutboxRelay(dsn=dsn, schema=busdb.schema, bootstrap=infra.broker.bootstrap,
                              topics=[Ping.topic, f"{Ping.topic}-missing"], metrics=Metrics("test"),
                              settings=RelaySettings(partitions=-1))
        with pytest.raises(Exception):  # noqa: B017 - whatever the broker answers: the recovery did not happen
            await failing._check_broker(conn)
        assert await conn.fetchval(f'SELECT value FROM "{busdb.schema}".relay_state WHERE key = $1',
                                   "kafka_cluster_id") == "a-cluster-that-was-wiped"
        assert await conn.fetchval(
            f'SELECT count(*) FROM "{busdb.schema}".outbox WHERE published_at IS NULL') == 0
    finally:
        await conn.close()
    again = relay(busdb, infra.broker.bootstrap, Ping.topic)
    await again.start()
    try:
        msgs = await read_topic(infra.broker.bootstrap, Ping.topic, 4)
        assert [Ping.model_validate_json(m.value or b"").seq for m in msgs] == [1, 2, 1, 2]
        assert again.republish_count == 1
    finally:
        await again.stop()
