"""Analytics bench: 1,000,000 cases' facts, `/kpis` latency for a street over a year, projection catch-up rate.

    uv run python -m bench.analytics [--cases 1000000] [--requests 200] [--catchup-events 100000]

What it does, on its own embedded PostgreSQL and broker (or DATABASE_URL when set; a database `fq_bench_analytics`):

1. Load: generates the workflow events of ``--cases`` cases (1 district › 10 streets › 50 communities › 300 grids,
   two years; received, assigned, accepted, escalated, resolved, feedback, reopened, closed), folds them with the
   projection's own fold (``analytics_svc.domain.fold``) and bulk-loads the resulting fact rows with COPY (the fast
   path: the rows are exactly what the consumer would have written, without a transaction per batch).
2. ``/kpis`` for one street over the last year (with 环比 and 同比), sequentially, against a real uvicorn process of
   the analytics app (read-only: no relay, no consumer): p50/p95/p99.
3. Catch-up: ``--catchup-events`` more events (new cases) published to the broker, then the real idempotent consumer
   with the analytics handlers (inbox row per event, batch fold and upsert per transaction) on a new consumer group,
   timed from start until every event is applied: events/s. Also the projection write path alone (same handlers
   and transactions of 200 events, no broker) for comparison.

Everything runs on this machine: load generator, PostgreSQL, broker and service share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel
from sqlalchemy import text

from analytics_svc.consumers import CONSUMERS
from analytics_svc.deps import AnalyticsDeps
from analytics_svc.domain import fold
from analytics_svc.handlers.facts import apply_batch, fact_batch
from analytics_svc.settings import AnalyticsSettings
from analytics_svc.store import rollups
from analytics_svc.tables import ASSIGNMENT_COLUMNS, CASE_COLUMNS
from services.embedded import EmbeddedBroker, EmbeddedPostgres, free_port, wait_for_port
from services.registry import ROOT, SERVICES
from shared import db
from shared.auth import Role, mint_token
from shared.bus import pending
from shared.bus.consumer import ConsumerSettings, EventConsumer
from shared.bus.handlers import bind
from shared.bus.topics import ensure_topics
from shared.clock import Clock
from shared.events import (
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseReceived,
    CaseReopened,
    CaseResolved,
    Event,
    FeedbackReceived,
    Topic,
    UnitUpserted,
    encode,
    envelope_for,
)
from shared.events.case import (
    AssignCause,
    Channel,
    CloseReason,
    EscalationReason,
    FeedbackResult,
    Level,
    LocationRef,
    Outcome,
    ReopenReason,
    RequestType,
    RiskLevel,
    Track,
)
from shared.observability import Metrics

SVC = next(s for s in SERVICES if s.name == "analytics")
END = datetime(2026, 11, 23, tzinfo=UTC)
SPAN_DAYS = 730
CATEGORIES = ["neighbor.noise", "neighbor.water", "labor.wage_arrears", "property.fee", "marriage_family.marriage",
              "land.contract", "consumer.refund", "traffic.accident", "other.general"]
CHANNELS = list(Channel)
SOURCE_INTAKE, SOURCE_ROUTING = "/fengqiao/intake", "/fengqiao/routing"
SOURCE_ANALYTICS = "/fengqiao/analytics"


class Org:
    def __init__(self) -> None:
        self.units: list[UnitUpserted] = [UnitUpserted(unit_id="BD", name="基准区", level=Level.DISTRICT,
                                                       parent_id=None, path=["BD"])]
        self.grids: list[tuple[str, list[str]]] = []
        self.parent: dict[str, tuple[str, list[str], Level]] = {}
        for s in range(10):
            sid = f"BS{s:02d}"
            self.units.append(UnitUpserted(unit_id=sid, name=f"街道{s}", level=Level.STREET, parent_id="BD",
                                           path=["BD", sid]))
            for c in range(5):
                cid = f"{sid}C{c}"
                self.units.append(UnitUpserted(unit_id=cid, name=f"社区{s}-{c}", level=Level.COMMUNITY, parent_id=sid,
                                               path=["BD", sid, cid]))
                for g in range(6):
                    gid = f"{cid}G{g}"
                    path = ["BD", sid, cid, gid]
                    self.units.append(UnitUpserted(unit_id=gid, name=f"网格{s}-{c}-{g}", level=Level.GRID,
                                                   parent_id=cid, path=path))
                    self.grids.append((gid, path))
                    self.parent[gid] = (cid, path[:3], Level.COMMUNITY)
                self.parent[cid] = (sid, ["BD", sid], Level.STREET)
            self.parent[sid] = ("BD", ["BD"], Level.DISTRICT)


_DEFAULTS: dict[type[BaseModel], dict[str, object]] = {}


def _make(cls: type[BaseModel], **fields: object) -> Any:
    """An event without validation (the generator's values are valid by construction): the bench generates millions.
    Fields left out take their defaults (computed once per class; the fold never mutates them)."""
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = _DEFAULTS[cls] = {n: f.get_default(call_default_factory=True)
                                     for n, f in cls.model_fields.items() if not f.is_required()}
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", {**defaults, **fields})
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def case_events(rng: random.Random, org: Org, received: datetime) -> list[Event]:
    """One case's events in order."""
    cid = uuid.UUID(int=rng.getrandbits(128), version=4)
    grid, path = rng.choice(org.grids)
    out: list[Event] = [_make(CaseReceived, 
        case_id=cid, at=received, code=f"FQ-B-{cid.hex[:10]}", channel=rng.choice(CHANNELS),
        request_type=RequestType.DISPUTE, category=rng.choice(CATEGORIES), risk_level=RiskLevel.BLUE,
        risk_signals=[], location=_make(LocationRef, grid_id=grid, lat=None, lng=None, address_sealed=None),
        received_unit_id=None, urgent=False,
        deadline_days=None, applicant_key=f"app-{rng.randrange(400_000)}", address_key=f"addr-{rng.randrange(200_000)}",
        people_involved=None, amount_involved=None)]
    at = received + timedelta(minutes=rng.randrange(1, 30))
    unit, upath, level = grid, path, Level.GRID

    def assign(at: datetime, cause: AssignCause) -> uuid.UUID:
        aid = uuid.UUID(int=rng.getrandbits(128), version=4)
        out.append(_make(CaseAssigned, 
            case_id=cid, at=at, assignment_id=aid, case_code="", unit_id=unit, unit_name="", unit_path=upath,
            level=level, track=Track.GENERAL, forces=[], accept_due_at=at + timedelta(hours=2), rule_id="bench",
            explanation="", cause=cause, previous_assignment_id=None, task_force=False))
        return aid

    def accept(aid: uuid.UUID, at: datetime) -> None:
        out.append(_make(CaseAccepted, case_id=cid, at=at, assignment_id=aid, unit_id=unit, accepted_by="b",
                                                resolve_due_at=at + timedelta(days=3), accepted_on_time=True))

    aid = assign(at, AssignCause.ROUTED)
    at += timedelta(minutes=rng.randrange(5, 240))
    accept(aid, at)
    if rng.random() < 0.1:  # 提级
        nxt, npath, nlevel = org.parent[unit]
        out.append(_make(CaseEscalated, 
            case_id=cid, at=at, assignment_id=aid, from_unit_id=unit, from_level=level, to_unit_id=nxt,
            to_level=nlevel, reason=EscalationReason.REQUEST, note="", escalated_by="b"))
        unit, upath, level = nxt, npath, nlevel
        aid = assign(at, AssignCause.ESCALATED)
        at += timedelta(minutes=rng.randrange(5, 180))
        accept(aid, at)
    if at > END or rng.random() < 0.08:
        return out  # still open
    at += timedelta(hours=rng.randrange(1, 120))
    outcome = Outcome.RESOLVED if rng.random() < 0.85 else Outcome.FAILED_REFERRED
    out.append(_make(CaseResolved, case_id=cid, at=at, assignment_id=aid, unit_id=unit, level=level,
                                            outcome=outcome, resolved_by="b", resolved_on_time=True,
                                            mediation_agreement=False, judicial_confirmation=False))
    if rng.random() < 0.7:
        result = rng.choices(list(FeedbackResult), weights=[85, 10, 5])[0]
        at += timedelta(hours=rng.randrange(1, 48))
        out.append(_make(FeedbackReceived, case_id=cid, at=at, result=result, source="survey",
                                                    recorded_by="b"))
        if result == FeedbackResult.UNSATISFIED and rng.random() < 0.5:
            out.append(_make(CaseReopened, case_id=cid, at=at, previous_assignment_id=aid,
                                                    reason=ReopenReason.UNSATISFIED_FEEDBACK, reopen_count=1,
                                                    reopened_by="system"))
            aid = assign(at, AssignCause.REOPENED)
            return out
        out.append(_make(CaseClosed, case_id=cid, at=at, assignment_id=aid, unit_id=unit,
                                              reason=CloseReason.SATISFIED, closed_by="system"))
    return out


def _received_times(rng: random.Random, n: int) -> list[datetime]:
    start = END - timedelta(days=SPAN_DAYS)
    return sorted(start + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400)) for _ in range(n))


async def load(dsn: str, org: Org, n: int, rng: random.Random) -> tuple[int, float]:
    """Fold generated events with the projection's fold; COPY the fact rows. Returns (events, seconds)."""
    conn = await asyncpg.connect(dsn)
    t0, events = time.perf_counter(), 0
    try:
        await conn.execute("TRUNCATE analytics.case_facts, analytics.assignment_facts, analytics.units")
        await conn.copy_records_to_table(
            "units", schema_name="analytics", columns=["unit_id", "name", "level", "parent_id", "path", "active"],
            records=[(u.unit_id, u.name, u.level.value, u.parent_id, u.path, True) for u in org.units])
        times = _received_times(rng, n)
        chunk = 50_000
        for i in range(0, n, chunk):
            store = fold.Store()
            for received in times[i:i + chunk]:
                for e in case_events(rng, org, received):
                    fold.apply(store, e)
                    events += 1
            await conn.copy_records_to_table("case_facts", schema_name="analytics", columns=CASE_COLUMNS,
                                             records=[tuple(r[c] for c in CASE_COLUMNS) for r in store.cases.values()])
            await conn.copy_records_to_table(
                "assignment_facts", schema_name="analytics", columns=ASSIGNMENT_COLUMNS,
                records=[tuple(r[c] for c in ASSIGNMENT_COLUMNS) for r in store.assignments.values()])
            print(f"  loaded {min(i + chunk, n):>9,} cases ({events:,} events folded)", flush=True)
        await conn.execute("ANALYZE analytics.case_facts; ANALYZE analytics.assignment_facts")
    finally:
        await conn.close()
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    engine = db.make_engine(dsn, "analytics", 1)
    try:
        async with db.make_sessionmaker(engine)() as session, session.begin():
            await rollups.rebuild_all(session)
        async with engine.connect() as c:
            auto = await c.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE analytics.rollup_home, analytics.rollup_outcome, "
                                    "analytics.rollup_assign"))
    finally:
        await engine.dispose()
    print(f"  rollups built from the facts in {time.perf_counter() - t1:.0f} s")
    return events, seconds


class CpuMeter:
    """CPU seconds (user + system) of a set of process trees, reaped children included (PostgreSQL backends);
    ``tree=False``: the processes alone (this process, whose children are PostgreSQL, the broker and the server)."""

    def __init__(self, *pids: int | None, tree: bool = True) -> None:
        self.roots = [psutil.Process(p) for p in pids if p is not None]
        self.tree = tree

    def seconds(self) -> float:
        total = 0.0
        for root in self.roots:
            for proc in [root, *root.children(recursive=True)] if self.tree else [root]:
                try:
                    t = proc.cpu_times()
                except psutil.Error:
                    continue
                total += t.user + t.system + (t.children_user + t.children_system if self.tree else 0.0)
        return total


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(int(len(s) * p), len(s) - 1)] * 1000


async def measure_kpis(base: str, settings: AnalyticsSettings, requests: int, cpu: CpuMeter) -> dict[str, float]:
    """Sequential requests; CPU per request of the server process and PostgreSQL (``cpu``) over the timed ones."""
    token = mint_token(settings, sub="bench", roles=[Role.STREET_ADMIN], unit_id="BS03")
    params = {"unit_id": "BS03", "from": (END - timedelta(days=365)).date().isoformat(),
              "to": (END - timedelta(days=1)).date().isoformat()}
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        first = (await c.get("/api/v1/kpis", params=params)).json()
        print(f"  street BS03, one year: received={first['received']:,} "
              f"resolution_rate={first['resolution_rate']} satisfaction_rate={first['satisfaction_rate']}")
        for _ in range(10):
            await c.get("/api/v1/kpis", params=params)
        c0 = cpu.seconds()
        for _ in range(requests):
            t = time.perf_counter()
            r = await c.get("/api/v1/kpis", params=params)
            latencies.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        cpu_ms = 1000 * (cpu.seconds() - c0) / max(requests, 1)
    return {"n": len(latencies), "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95),
            "p99": pct(latencies, 0.99), "cpu_ms": cpu_ms}


def catchup_events(org: Org, n: int, rng: random.Random) -> list[Event]:
    out: list[Event] = []
    for received in _received_times(rng, max(n // 5, 1)):
        out.extend(case_events(rng, org, received))
        if len(out) >= n:
            break
    return out[:n]


async def measure_catchup_consumer(url: str, bootstrap: str, events: list[Event], pg: CpuMeter,
                                   broker: CpuMeter) -> dict[str, float]:
    """Publish the events, then time the real consumer (new group) until all are applied.

    ``seconds``: from the first event applied to the last (the catch-up rate); ``total``: from the consumer's start
    (joining the group included). CPU: this process (the consumer runs in it), PostgreSQL and the broker, over the
    catch-up."""
    await ensure_topics(bootstrap, [Topic.CASE, Topic.dlq(Topic.CASE)], 6)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    try:
        futures = []
        for e in events:
            source = SOURCE_INTAKE if isinstance(e, CaseReceived) else SOURCE_ROUTING
            env = envelope_for(e, source)
            futures.append(await producer.send(Topic.CASE, value=encode(e), key=e.key().encode(),
                                               headers=env.headers()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    settings = AnalyticsSettings(database_url=url, kafka_bootstrap_servers=bootstrap, emit_alerts=False)
    engine = db.make_engine(url, "analytics", 8)
    sessionmaker = db.make_sessionmaker(engine)
    deps = AnalyticsDeps(settings=settings, source=SOURCE_ANALYTICS, clock=Clock(),
                         facts=fact_batch(settings, SOURCE_ANALYTICS))
    group = f"bench-{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(name=group, topics=[Topic.CASE], handlers=bind(CONSUMERS, deps),
                             sessionmaker=sessionmaker, schema="analytics", bootstrap=bootstrap,
                             metrics=Metrics("bench"), before_commit=pending.flush,
                             settings=ConsumerSettings(partitions=6, max_records=settings.consumer_max_records,
                                                       concurrent_partitions=settings.consumer_concurrent_partitions))
    me = CpuMeter(os.getpid(), tree=False)
    t0 = time.perf_counter()
    await consumer.start()
    first: tuple[float, int, float, float, float] | None = None  # time, events done, CPU: this process, PG, broker
    try:
        while True:
            async with sessionmaker() as s:
                done = (await s.execute(text("SELECT count(*) FROM analytics.processed_events WHERE consumer = :c"),
                                        {"c": group})).scalar_one()
            now = time.perf_counter()
            if first is None and done > 0:
                first = (now, done, me.seconds(), pg.seconds(), broker.seconds())
            if done >= len(events) and first is not None:
                n = len(events) - first[1]
                return {"seconds": now - first[0], "events": n, "total": now - t0,
                        "cpu_py_ms": 1000 * (me.seconds() - first[2]) / max(n, 1),
                        "cpu_pg_ms": 1000 * (pg.seconds() - first[3]) / max(n, 1),
                        "cpu_broker_ms": 1000 * (broker.seconds() - first[4]) / max(n, 1)}
            if now - t0 > 600:
                raise RuntimeError(f"catch-up did not finish in 600 s ({done} of {len(events)})")
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()
        await engine.dispose()


async def measure_write_path(url: str, events: list[Event], pg: CpuMeter, batch: int = 1000) -> dict[str, float]:
    """The projection's transaction path alone: fold + upsert of 1000 events per transaction (``apply_batch``, what
    the consumer's flush before commit runs)."""
    settings = AnalyticsSettings(database_url=url, emit_alerts=False)
    engine = db.make_engine(url, "analytics", 2)
    sessionmaker = db.make_sessionmaker(engine)
    me = CpuMeter(os.getpid(), tree=False)
    c0, p0 = me.seconds(), pg.seconds()
    t0 = time.perf_counter()
    try:
        for i in range(0, len(events), batch):
            async with sessionmaker() as session, session.begin():
                session.info["schema"] = "analytics"
                await apply_batch(session, events[i:i + batch], settings, SOURCE_ANALYTICS)
        n = max(len(events), 1)
        return {"seconds": time.perf_counter() - t0, "cpu_py_ms": 1000 * (me.seconds() - c0) / n,
                "cpu_pg_ms": 1000 * (pg.seconds() - p0) / n}
    finally:
        await engine.dispose()


def serve(args: argparse.Namespace) -> int:
    """The analytics app without relay and consumer: the query side only (used by the bench as a subprocess)."""
    import uvicorn

    from analytics_svc.app import create_app

    app = create_app(AnalyticsSettings(), run_relay=False, run_consumer=False)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


def _start_server(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {**os.environ, "ANALYTICS_DATABASE_URL": url, "ANALYTICS_LOG_LEVEL": "WARNING", "FQ_ENV": "dev"}
    with open(tmp / "server.log", "ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "bench.analytics", "serve", "--port", str(port)], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, 60, server)
    return server, port


async def run(args: argparse.Namespace) -> int:
    rng = random.Random(20261123)
    org = Org()
    tmp = Path(tempfile.mkdtemp(prefix="fq-bench-analytics-"))
    pg: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    server: subprocess.Popen[bytes] | None = None
    try:
        if "DATABASE_URL" in os.environ:
            base_url = os.environ["DATABASE_URL"]
            url = base_url.rsplit("/", 1)[0] + "/fq_bench_analytics"
            conn = await asyncpg.connect(db.asyncpg_dsn(base_url))
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'fq_bench_analytics'"):
                await conn.execute("CREATE DATABASE fq_bench_analytics")
            await conn.close()
        else:
            pg = EmbeddedPostgres(tmp / "pgdata", free_port(), durable=False, log_file=tmp / "postgres.log")
            pg.start()
            pg.create_database("fq_bench_analytics")
            url = pg.url("fq_bench_analytics")
        await asyncio.to_thread(db.upgrade, SVC.migrations, url, SVC.schema)
        dsn = db.asyncpg_dsn(url)

        print(f"1. load {args.cases:,} cases (events folded by analytics_svc.domain.fold, fact rows COPYed)")
        events, seconds = await load(dsn, org, args.cases, rng)
        print(f"   {events:,} events folded and loaded in {seconds:.0f} s")

        print(f"2. GET /kpis for a street over a year, {args.requests} sequential requests")
        server, port = _start_server(url, tmp)
        pg_cpu = CpuMeter(pg.proc.pid if pg is not None and pg.proc is not None else None)  # none: DATABASE_URL
        kpis = await measure_kpis(f"http://127.0.0.1:{port}", AnalyticsSettings(), args.requests,
                                  CpuMeter(server.pid, *(r.pid for r in pg_cpu.roots)))

        print(f"3. catch-up: {args.catchup_events:,} events of new cases")
        extra = catchup_events(org, args.catchup_events, rng)
        half = len(extra) // 2
        write = await measure_write_path(url, extra[:half], pg_cpu)
        broker = EmbeddedBroker(free_port(), log_file=tmp / "broker.log")
        broker.start()
        broker_cpu = CpuMeter(broker.proc.pid if broker.proc is not None else None)
        cu = await measure_catchup_consumer(url, broker.bootstrap, extra[half:], pg_cpu, broker_cpu)
        pg_note = "" if pg is not None else " (PostgreSQL not measured: DATABASE_URL)"

        rows = [
            ("cases loaded", f"{args.cases:,}", ""),
            ("events folded for the load", f"{events:,}", f"{events / seconds:,.0f} events/s incl. COPY"),
            ("/kpis street × 1 year (+环比, 同比) p50", f"{kpis['p50']:.1f} ms", f"n={kpis['n']}"),
            ("/kpis street × 1 year (+环比, 同比) p95", f"{kpis['p95']:.1f} ms", "target ≤ 200 ms"),
            ("/kpis street × 1 year (+环比, 同比) p99", f"{kpis['p99']:.1f} ms", ""),
            ("/kpis CPU per request", f"{kpis['cpu_ms']:.1f} ms", f"server process + PostgreSQL{pg_note}"),
            ("catch-up, real consumer via broker", f"{cu['events'] / cu['seconds']:,.0f} events/s",
             f"{cu['events']:,} events from the first applied to the last; target ≥ 5,000/s"),
            ("catch-up incl. joining the group", f"{(len(extra) - half) / cu['total']:,.0f} events/s",
             f"{len(extra) - half:,} events in {cu['total']:.1f} s from the consumer's start"),
            ("catch-up CPU per event (consumer)", f"{cu['cpu_py_ms'] + cu['cpu_pg_ms']:.3f} ms",
             f"consumer process {cu['cpu_py_ms']:.3f} + PostgreSQL {cu['cpu_pg_ms']:.3f}{pg_note} "
             f"(+ broker {cu['cpu_broker_ms']:.3f})"),
            ("catch-up, projection write path only", f"{half / write['seconds']:,.0f} events/s",
             f"{half:,} events, 1000 per transaction (no inbox)"),
            ("write path CPU per event", f"{write['cpu_py_ms'] + write['cpu_pg_ms']:.3f} ms",
             f"process {write['cpu_py_ms']:.3f} + PostgreSQL {write['cpu_pg_ms']:.3f}{pg_note}"),
        ]
        width = max(len(r[0]) for r in rows)
        table = "\n".join(f"{a:<{width}}  {b:>16}  {c}" for a, b, c in rows)
        print("\n" + table)
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"analytics-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(table + "\n")
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        if broker is not None:
            broker.stop()
        if pg is not None:
            pg.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd")
    srv = sub.add_parser("serve", help=argparse.SUPPRESS)
    srv.add_argument("--port", type=int, required=True)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--catchup-events", type=int, default=100_000)
    args = parser.parse_args()
    if args.cmd == "serve":
        return serve(args)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())


