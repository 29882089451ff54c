"""Notify bench: ``fq.case.assigned.v1`` published → the inbox item arriving on the SSE stream.

    uv run python -m bench.notify [--rate 100] [--seconds 20] [--users 5]

Self-contained, so it never disturbs a stack someone else runs: it starts an embedded PostgreSQL and broker on
free ports, migrates notify's schema, runs the real notify service under uvicorn in a subprocess, teaches it a
bench unit with ``--users`` members through real ``fq.org.*`` events, opens one SSE stream per member, then
publishes assigned events for that unit at ``--rate`` per second (open loop: latency counts from each event's
intended send time) and times each until its item arrives on a member's stream. Prints p50/p95/p99, and the CPU
the measured phase cost notify and PostgreSQL (the postmaster and every backend: this PostgreSQL serves notify
alone), in ms per event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaProducer

from bench.__main__ import Result, _table
from services.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, wait_for_port
from services.registry import ROOT, SERVICES
from shared import db
from shared.auth import Role, mint_token
from shared.events import CaseAssigned, Event, MemberUpserted, UnitUpserted, encode, envelope_for
from shared.events.case import Level, Track
from shared.settings import ServiceSettings

UNIT = "BENCH-G1"
PATH = ["BENCH-D", "BENCH-S", "BENCH-C", UNIT]
TARGET_P99_MS = 300.0


async def _send(producer: AIOKafkaProducer, event: Event) -> None:
    env = envelope_for(event, "/fengqiao/bench")
    await producer.send(event.topic, encode(event), key=event.key().encode(), headers=env.headers())


async def _stream(base: str, token: str, arrived: dict[str, float], ready: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=None) as client, \
            client.stream("GET", "/api/v1/inbox/stream", params={"access_token": token}) as resp:
        resp.raise_for_status()
        event = ""
        async for line in resp.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "ready":
                    ready.set()
            elif line.startswith("data:") and event == "inbox":
                case_id = json.loads(line[5:])["case_id"]
                arrived.setdefault(case_id, time.perf_counter())


async def _arrival(arrived: dict[str, float], sent: dict[str, float], timeout: float) -> None:
    """Wait until every sent case arrived on a stream, or ``timeout`` seconds (the rest count as lost)."""
    for _ in range(int(timeout * 20)):
        if all(k in arrived for k in sent):
            return
        await asyncio.sleep(0.05)


class CpuMeter:
    """CPU seconds (user + system) of a process tree: notify, or the postmaster and its backends."""

    def __init__(self, *pids: int) -> None:
        self.roots = [psutil.Process(p) for p in pids]
        self.seen: dict[int, float] = {}

    def total(self) -> float:
        """The CPU of every process alive now plus the last figure of those that exited since the last call."""
        for root in self.roots:
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    self.seen[p.pid] = t.user + t.system
        return sum(self.seen.values())


async def _commits(dsn: str | None) -> int:
    if not dsn:
        return 0
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
    finally:
        await conn.close()


async def run(args: argparse.Namespace, base: str, bootstrap: str,
              meters: dict[str, CpuMeter] | None = None, dsn: str | None = None) -> Result:
    settings = ServiceSettings()
    users = [f"bench-u{i}" for i in range(args.users)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=0)
    await producer.start()
    try:
        for i, level in enumerate([Level.DISTRICT, Level.STREET, Level.COMMUNITY, Level.GRID]):
            await _send(producer, UnitUpserted(unit_id=PATH[i], name=f"压测单位{i}", level=level,
                                               parent_id=PATH[i - 1] if i else None, path=PATH[: i + 1]))
        for u in users:
            await _send(producer, MemberUpserted(member_id=u, unit_id=UNIT, roles=[Role.GRID_WORKER.value]))
        await producer.flush()
        arrived: dict[str, float] = {}
        tasks, readies = [], []
        for u in users:
            ready = asyncio.Event()
            token = mint_token(settings, sub=u, roles=[Role.GRID_WORKER], unit_id=UNIT)
            tasks.append(asyncio.create_task(_stream(base, token, arrived, ready)))
            readies.append(ready)
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)

        async def publish(n: int, rate: float) -> dict[str, float]:
            sent: dict[str, float] = {}
            start = time.perf_counter()
            for i in range(n):
                intended = start + i / rate
                delay = intended - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                now = datetime.now(UTC)
                event = CaseAssigned(case_id=uuid.uuid4(), at=now, assignment_id=uuid.uuid4(),
                                     case_code=f"FQ-B-{i:06d}", unit_id=UNIT, unit_path=PATH, level=Level.GRID,
                                     track=Track.GENERAL, accept_due_at=now + timedelta(hours=4),
                                     rule_id="bench", explanation="压测")
                sent[str(event.case_id)] = intended
                await _send(producer, event)
            return sent

        warm = await publish(50, 20)  # warm-up: let the consumer join and caches fill
        await _arrival(arrived, warm, 60)
        n = int(args.rate * args.seconds)
        meters = meters or {}
        commits0 = await _commits(dsn)
        cpu0 = {k: m.total() for k, m in meters.items()}
        print(f"measuring: {n} events at {args.rate:.0f}/s", file=sys.stderr, flush=True)
        begin = time.perf_counter()
        sent = await publish(n, args.rate)
        await _arrival(arrived, sent, 60)
        await asyncio.sleep(1.0)  # the delivered events' relay and the last commits: part of the cost
        cpu = {k: (m.total() - cpu0[k]) * 1000 / n for k, m in meters.items()}
        print("CPU per event: " + ", ".join(f"{k} {v:.2f} ms" for k, v in cpu.items())
              + f", total {sum(cpu.values()):.2f} ms; "
              f"{(await _commits(dsn) - commits0) / n:.2f} PostgreSQL commits per event")
        result = Result(f"assigned → SSE inbox item ({args.users} streams)", target_rate=args.rate)
        result.elapsed = time.perf_counter() - begin
        for case_id, t0 in sent.items():
            if case_id in arrived:
                result.latencies.append(arrived[case_id] - t0)
            else:
                result.errors += 1
        result.elapsed = n / args.rate
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return result
    finally:
        await producer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=5, help="members of the bench unit, one SSE stream each")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fq-bench-notify-"))
    pg = EmbeddedPostgres(tmp / "pgdata", free_port(), durable=False, log_file=tmp / "postgres.log")
    broker = EmbeddedBroker(free_port(), log_file=tmp / "broker.log")
    proc = None
    try:
        pg.start()
        broker.start()
        pg.create_database("fq_bench")
        url = pg.url("fq_bench")
        notify = next(s for s in SERVICES if s.name == "notify")
        db.upgrade(notify.migrations, url, notify.schema)
        port = free_port()
        env = {**os.environ, "NOTIFY_DATABASE_URL": url, "NOTIFY_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
               "NOTIFY_PORT": str(port), "NOTIFY_LOG_LEVEL": os.environ.get("NOTIFY_LOG_LEVEL", "WARNING"),
               "NOTIFY_KAFKA_TOPIC_PARTITIONS": "3"}
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", notify.factory, "--port", str(port),
                                 "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env,
                                start_new_session=True)
        wait_for_port(port, 60, proc)
        assert pg.proc is not None
        meters = {"notify": CpuMeter(proc.pid), "postgres": CpuMeter(pg.proc.pid)}
        result = asyncio.run(run(args, f"http://127.0.0.1:{port}", broker.bootstrap, meters,
                                 db.asyncpg_dsn(url)))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        broker.stop()
        pg.stop()
    print()
    print(_table([result]))
    lat = sorted(result.latencies)
    p99 = lat[min(int(len(lat) * 0.99), len(lat) - 1)] * 1000 if lat else float("inf")
    verdict = "met" if p99 <= TARGET_P99_MS and not result.errors else "NOT met"
    print(f"\ntarget p99 ≤ {TARGET_P99_MS:.0f} ms: {verdict} (p99 {p99:.1f} ms, {result.errors} lost)")
    print(f"machine: {os.cpu_count()} cores shared by the broker, PostgreSQL, notify and this load generator")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"notify-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(_table([result]) + "\n")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
