"""The stack runner.

    python -m services up        start embedded PostgreSQL + broker (unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
                                 are set), migrate, start the four services, import the demo org, print URLs
                                 and dev tokens; Ctrl-C stops everything it started
    python -m services status    what is running and whether it is ready
    python -m services token --role ROLE --unit UNIT_ID [--sub ID]
    python -m services migrate [--downgrade REV]
    python -m services republish --service NAME [--since ISO]   re-publish retained outbox rows
    python -m services dlq list --topic TOPIC                   what the topic's dead-letter queue holds
    python -m services dlq redrive --topic TOPIC [--ce-id ID]   send dead letters back to the topic
    python -m services replay analytics   drop and re-create the analytics read models (service stopped); on its
                                          next start it joins a new consumer group and replays from the earliest offset
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.embedded import die_with_parent
from services.registry import DEMO_ORG, ROOT, SERVICES, ServiceInfo
from shared import db
from shared.auth import Role, mint_token
from shared.settings import ServiceSettings

warnings.filterwarnings("ignore", module="platformdirs")


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FQ_STACK_", extra="ignore")

    var_dir: Path = ROOT / "var"
    pg_port: int = 15432
    broker_port: int = 19092
    database: str = "fengqiao"
    # uvicorn worker processes for intake, the front door (each also runs a relay standby and a consumer member)
    intake_workers: int = 1
    # CPU priority (nice) of the services that only consume events and serve staff (routing, notify, analytics):
    # their processes, their sessions' autogroups (see lower_priority) and their PostgreSQL backends: on a small
    # machine a burst of registrations then queues in Kafka and the outbox instead of slowing the front door, and
    # the consumers catch up when it is over. 0: everything shares the CPU equally
    consumer_nice: int = 19
    # intake's outbox relay and event consumer in a process of their own, "intake-events" (on this port, niced like
    # the consumers), so the front door's event loop serves only requests: its process runs with
    # INTAKE_RUN_RELAY=false and INTAKE_RUN_CONSUMER=false. false: one intake process does everything
    # the consumers' PostgreSQL backends reniced too (see BackendNicer); false: only their processes
    nice_backends: bool = True
    intake_split: bool = True
    intake_events_port: int = 8111
    # a process of the stack that exits (PostgreSQL, the broker, a service) is started again after this many
    # seconds, doubling with each restart that follows (up to the max) until it has run for restart_reset_seconds
    restart_backoff_seconds: float = 1.0
    restart_backoff_max_seconds: float = 30.0
    restart_reset_seconds: float = 60.0
    # processes per service (intake: per front door and per intake-events): replica k (from 2) is named
    # "<name>-k" and listens on the first one's port + (k - 1) * replica_port_step, with the same settings; the
    # relays elect a leader, the consumers share the partitions, any replica answers requests
    replicas: int = 1
    replica_port_step: int = 1000


INTAKE_EVENTS = "intake-events"


def _state_file(stack: StackSettings) -> Path:
    return stack.var_dir / "stack.json"


def _say(msg: str) -> None:
    try:
        print(msg, flush=True)
    except OSError:  # the terminal or pipe is gone (e.g. `make run | tee` interrupted): keep shutting down
        pass


def migrate_all(database_url: str, downgrade_to: str | None = None) -> None:
    """Each service's migrations, with its own ``<PREFIX>DATABASE_URL`` (its own role) when one is set."""
    for svc in SERVICES:
        prefix = str(svc.settings_cls.model_config.get("env_prefix", ""))
        url = os.environ.get(f"{prefix}DATABASE_URL", database_url)
        if downgrade_to:
            db.downgrade(svc.migrations, url, svc.schema, downgrade_to)
        else:
            db.upgrade(svc.migrations, url, svc.schema)
        _say(f"  migrated {svc.name:<10} ({'downgrade ' + downgrade_to if downgrade_to else 'head'})")


def lower_priority(pid: int, nice: int) -> None:
    """Give a running service (all its threads) and its session's autogroup the nice value ``nice``.

    With the kernel's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``, on by default on many
    desktop and VM kernels), CPU time is shared first between sessions, equally, and a process's own nice value
    only counts inside its session: a niced service in a session of its own (as each service is) would still get
    as much CPU as intake. The session's weight is set by writing a nice value to ``/proc/PID/autogroup``.
    Applied once the service is ready: a service niced from its start may not even start within the readiness
    timeout on a machine that is busy with other work."""
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            os.setpriority(os.PRIO_PROCESS, int(tid), nice)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(str(nice))
    except OSError:  # no autogroup scheduling (file absent or disabled): the process nice is what counts
        pass


def proxy_args(settings: ServiceSettings) -> list[str]:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise (and reads FORWARDED_ALLOW_IPS):
    only the proxies of the service's own ``forwarded_allow_ips`` setting, the one its rate limits read too."""
    trusted = settings.forwarded_allow_ips.strip()
    return ["--forwarded-allow-ips", trusted] if trusted else ["--no-proxy-headers"]


def _replica_name(name: str, replica: int) -> str:
    return name if replica == 1 else f"{name}-{replica}"


def _service_proc(svc: ServiceInfo, env: dict[str, str], log_dir: Path,
                  stack: StackSettings | None = None, *, events: bool = False,
                  replica: int = 1) -> subprocess.Popen[bytes]:
    """A service's uvicorn process. With ``stack.intake_split``, intake is two: the front door (no relay, no
    consumer) and, with ``events``, the process that runs them (serving the same API on its own port). Replica
    ``k`` > 1 listens ``(k - 1) * replica_port_step`` ports higher."""
    stack = stack or StackSettings()
    if svc.name == "intake" and stack.intake_split:
        env = {**env, "INTAKE_RUN_RELAY": str(events).lower(), "INTAKE_RUN_CONSUMER": str(events).lower()}
    settings = svc.settings_cls()
    port = (stack.intake_events_port if events else settings.port) + (replica - 1) * stack.replica_port_step
    prefix = str(svc.settings_cls.model_config.get("env_prefix", ""))
    if events or replica > 1:
        env = {**env, f"{prefix}PORT": str(port)}
    log = open(log_dir / f"{_replica_name(INTAKE_EVENTS if events else svc.name, replica)}.log", "ab")
    workers = stack.intake_workers if svc.name == "intake" and not events else 1
    pdeath = die_with_parent()

    def preexec() -> None:
        if pdeath is not None:
            pdeath()

    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", svc.factory, "--host", settings.host,
         "--port", str(port), "--no-access-log", "--log-level", "warning", *proxy_args(settings),
         *(["--workers", str(workers)] if workers > 1 else [])],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=preexec,
    )
    log.close()
    return proc


class BackendNicer:
    """Gives the consumer services' PostgreSQL backends the services' own nice value.

    A niced service whose queries run at full priority in PostgreSQL still takes much of the CPU it needs during a
    burst (its SQL is a large part of a consumer's cost). A backend belongs to a consumer service when its
    ``application_name`` is the service's schema (the engine sets it) or its client socket is one of the service's
    (the relay's and LISTEN connections set no name). Pooled connections live long, so a look once a second finds
    new ones soon enough. Only for a PostgreSQL on this machine (the embedded one)."""

    def __init__(self, database_url: str, names: list[str], nice: int) -> None:
        self.dsn = db.asyncpg_dsn(database_url)
        self.names = names
        self.nice = nice
        self.seen: set[int] = set()
        self._loop = asyncio.new_event_loop()
        self._conn: Any = None  # one connection kept open: a new backend per look would cost more than the look

    async def _backends(self) -> list[tuple[int, str, int | None]]:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "stack-runner"})
        rows = await self._conn.fetch("SELECT pid, application_name, client_port FROM pg_stat_activity "
                                      "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
        return [(r["pid"], r["application_name"], r["client_port"]) for r in rows]

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._conn.close(timeout=2))
        self._loop.close()

    def run_once(self, service_pids: set[int]) -> int:
        """Renice the consumers' backends not seen before; the number reniced."""
        import asyncpg
        import psutil

        try:
            found = self._loop.run_until_complete(self._backends())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):  # the database restarting: next time
            self._conn = None
            return 0
        new = [b for b in found if b[0] not in self.seen]
        self.seen = {b[0] for b in found}  # forget ended backends (pids are reused)
        if not new:
            return 0
        owner: dict[int, int] = {}
        if any(not name for _, name, _ in new):
            try:
                owner = {c.laddr.port: c.pid for c in psutil.net_connections("tcp") if c.pid and c.laddr}
            except psutil.Error:
                pass
        count = 0
        for pid, name, port in new:
            if name in self.names or (not name and port is not None and owner.get(port) in service_pids):
                try:
                    os.setpriority(os.PRIO_PROCESS, pid, self.nice)
                    count += 1
                except (ProcessLookupError, PermissionError):
                    pass
        return count


class Supervisor:
    """Keeps the stack's processes running: one that exited is started again after a back-off that doubles with
    each restart (``restart_backoff_seconds`` up to ``restart_backoff_max_seconds``) and starts over once the
    process has run ``restart_reset_seconds``; the state file gets the new pid at once."""

    @dataclass
    class _Child:
        running: Callable[[], bool]
        restart: Callable[[], object]
        pid: Callable[[], int | None]
        log: Path
        restarts: int = 0  # in a row, without a long enough run in between
        started: float = field(default_factory=time.monotonic)
        down_since: float | None = None

    def __init__(self, stack: StackSettings, on_restart: Callable[[], None]) -> None:
        self.stack = stack
        self.on_restart = on_restart
        self.children: dict[str, Supervisor._Child] = {}

    def watch(self, name: str, running: Callable[[], bool], restart: Callable[[], object],
              pid: Callable[[], int | None], log: Path) -> None:
        self.children[name] = self._Child(running, restart, pid, log)

    def delay(self, restarts: int) -> float:
        return float(min(self.stack.restart_backoff_max_seconds, self.stack.restart_backoff_seconds * 2 ** restarts))

    def check(self) -> None:
        for name, child in self.children.items():
            now = time.monotonic()
            if child.running():
                if child.restarts and now - child.started >= self.stack.restart_reset_seconds:
                    child.restarts = 0
                continue
            if child.down_since is None:
                child.down_since = now
                _say(f"warning: {name} (pid {child.pid()}) exited; restarting in {self.delay(child.restarts):.0f}s "
                     f"(see {child.log})")
            if now - child.down_since < self.delay(child.restarts):
                continue
            child.restarts += 1
            try:
                child.restart()
            except Exception as exc:  # e.g. the port still taken, or not ready in time: the next try, later
                child.down_since = time.monotonic()
                _say(f"warning: restarting {name} failed ({type(exc).__name__}: {exc}); "
                     f"next try in {self.delay(child.restarts):.0f}s")
                continue
            child.started, child.down_since = time.monotonic(), None
            self.on_restart()
            _say(f"  restarted {name} (pid {child.pid()})")


def _wait_ready(urls: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    pending.pop(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    if pending:
        raise RuntimeError(f"not ready after {timeout}s: {sorted(pending)} (see var/logs/)")


def _url(svc: ServiceInfo) -> str:
    s = svc.settings_cls()
    return f"http://{s.host}:{s.port}"


# development only (FQ_ENV=dev, INTAKE_HOTLINE_CLIENTS unset): the demo 12345 client the simulator uses
DEV_HOTLINE = {"client_id": "qinglan-12345", "secret": "dev-hotline-secret-qinglan",
               "callback_secret": "dev-hotline-callback-secret-qinglan"}


def cmd_up(args: argparse.Namespace) -> int:
    from services.embedded import EmbeddedBroker, EmbeddedPostgres

    stack = StackSettings()
    stack.var_dir.mkdir(parents=True, exist_ok=True)
    log_dir = stack.var_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    env = dict(os.environ)
    pg: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    procs: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    nicer: BackendNicer | None = None

    def shutdown(*_: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abandon half the processes
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _say("\nstopping ...")
        running = {name for name, p in procs.items() if p.poll() is None}
        for name in running:
            procs[name].send_signal(signal.SIGTERM)
        for name, p in procs.items():
            if name not in running:
                _say(f"  {name} (pid {p.pid}) had exited")
                continue
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
            _say(f"  stopped {name} (pid {p.pid})")
        for name, server in (("broker", broker), ("postgres", pg)):
            if server is None:
                continue
            pid, was_running = server.pid, server.running
            server.stop()
            _say(f"  stopped {name} (pid {pid})" if was_running else f"  {name} (pid {pid}) had exited")
        _state_file(stack).unlink(missing_ok=True)

    def write_state() -> None:
        """The current pids, for `status`: written at start and after every restart (replaced, never half-read)."""
        state = {
            "pids": {n: p.pid for n, p in procs.items()} | {
                "postgres": pg.pid if pg else None, "broker": broker.pid if broker else None},
            "urls": urls, "database_url": env["DATABASE_URL"], "bootstrap": env["KAFKA_BOOTSTRAP_SERVERS"],
        }
        tmp = _state_file(stack).with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(_state_file(stack))

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and `kill` both stop the stack, even when started from a shell that ignores SIGINT
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        if "DATABASE_URL" not in env:
            pg = EmbeddedPostgres(stack.var_dir / "pgdata", stack.pg_port, log_file=log_dir / "postgres.log")
            pg.start()
            pg.create_database(stack.database)
            env["DATABASE_URL"] = pg.url(stack.database)
            _say(f"embedded PostgreSQL  {env['DATABASE_URL']}  (data in {stack.var_dir / 'pgdata'})")
        else:
            _say("external PostgreSQL  (DATABASE_URL)")
        if "KAFKA_BOOTSTRAP_SERVERS" not in env:
            broker = EmbeddedBroker(stack.broker_port, log_file=log_dir / "broker.log")
            broker.start()
            env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap
            _say(f"embedded broker      {broker.bootstrap}  (Tansu, memory storage)")
        else:
            _say(f"external Kafka       {env['KAFKA_BOOTSTRAP_SERVERS']}")
        os.environ.update({"DATABASE_URL": env["DATABASE_URL"],
                           "KAFKA_BOOTSTRAP_SERVERS": env["KAFKA_BOOTSTRAP_SERVERS"]})
        if env.get("FQ_ENV", "dev") == "dev" and "INTAKE_HOTLINE_CLIENTS" not in env:
            # a demo 12345 platform client, so `python -m services.hotline_sim` works against `make run` at once
            env["INTAKE_HOTLINE_CLIENTS"] = json.dumps({DEV_HOTLINE["client_id"]: {
                "secret": DEV_HOTLINE["secret"], "callback_secret": DEV_HOTLINE["callback_secret"],
                "callback_url": "http://127.0.0.1:8201/callbacks", "mapping": "qinglan", "unit_id": "S1"}})
        _say("migrations:")
        migrate_all(env["DATABASE_URL"])
        intake = next(s for s in SERVICES if s.name == "intake")

        def start(name: str) -> subprocess.Popen[bytes]:
            base, _, k = name.rpartition("-") if name.rpartition("-")[2].isdigit() else (name, "", "1")
            if base == INTAKE_EVENTS:
                return _service_proc(intake, env, log_dir, stack, events=True, replica=int(k))
            return _service_proc(next(s for s in SERVICES if s.name == base), env, log_dir, stack,
                                 replica=int(k))

        for svc in SERVICES:
            procs[svc.name] = start(svc.name)
        urls.update({svc.name: _url(svc) for svc in SERVICES})
        background = {}
        if stack.intake_split:
            procs[INTAKE_EVENTS] = start(INTAKE_EVENTS)
            background[INTAKE_EVENTS] = f"http://{intake.settings_cls().host}:{stack.intake_events_port}"
        for k in range(2, stack.replicas + 1):  # the same settings, ports shifted
            step = (k - 1) * stack.replica_port_step
            for name in [s.name for s in SERVICES] + ([INTAKE_EVENTS] if stack.intake_split else []):
                procs[_replica_name(name, k)] = start(_replica_name(name, k))
                host, port = (intake.settings_cls().host, stack.intake_events_port) if name == INTAKE_EVENTS \
                    else (lambda s: (s.host, s.port))(next(x for x in SERVICES if x.name == name).settings_cls())
                background[_replica_name(name, k)] = f"http://{host}:{port + step}"
        urls.update(background)
        write_state()
        _wait_ready(urls)
        settings = ServiceSettings()
        service_token = mint_token(settings, sub="stack-runner", roles=[Role.SERVICE], unit_id=None)
        if not args.no_demo:
            doc = json.loads(DEMO_ORG.read_text())
            r = httpx.post(f"{urls['routing']}/api/v1/org/import", json=doc, timeout=30,
                           headers={"Authorization": f"Bearer {service_token}"})
            r.raise_for_status()
            _say(f"demo org imported: {r.json()}")
        _say("\nservices:")
        for name, url in urls.items():
            if name in background:
                continue
            _say(f"  {name:<10} {url}   docs: {url}/docs/{name}/")
        _say("\ndev tokens (12 h; mint more with `python -m services token --role ROLE --unit UNIT`):")
        for label, sub, role, unit in (("admin", "dev-admin", Role.ADMIN, None),
                                       ("operator S1", "dev-operator", Role.OPERATOR, "S1"),
                                       ("grid worker G01", "U-G01-1", Role.GRID_WORKER, "G01")):
            _say(f"  {label:<16} {mint_token(settings, sub=sub, roles=[role], unit_id=unit)}")
        if env.get("INTAKE_HOTLINE_CLIENTS") and DEV_HOTLINE["client_id"] in env["INTAKE_HOTLINE_CLIENTS"]:
            _say(f"\n12345 demo platform: python -m services.hotline_sim --client-id {DEV_HOTLINE['client_id']} "
                 f"--secret {DEV_HOTLINE['secret']} --callback-secret {DEV_HOTLINE['callback_secret']}")
        front_doors = {_replica_name("intake", k) for k in range(1, stack.replicas + 1)}
        consumers = [name for name in procs if name not in front_doors]
        if stack.consumer_nice:
            for name in consumers:
                lower_priority(procs[name].pid, stack.consumer_nice)
        nicer = BackendNicer(env["DATABASE_URL"], [s.schema for s in SERVICES if s.name != "intake"],
                             stack.consumer_nice) \
            if pg is not None and stack.consumer_nice and stack.nice_backends else None
        _say("\nready. Ctrl-C stops everything.")

        def restart_service(name: str) -> None:
            procs[name] = start(name)
            if name in consumers and stack.consumer_nice:
                lower_priority(procs[name].pid, stack.consumer_nice)

        def service(name: str) -> tuple[Callable[[], bool], Callable[[], None], Callable[[], int | None]]:
            return (lambda: procs[name].poll() is None), functools.partial(restart_service, name), \
                (lambda: procs[name].pid)

        def server(s: EmbeddedPostgres | EmbeddedBroker) -> tuple[Callable[[], bool], Callable[[], None],
                                                                   Callable[[], int | None]]:
            return (lambda: s.running), s.restart, (lambda: s.pid)

        supervisor = Supervisor(stack, write_state)
        for name, infra in (("postgres", pg), ("broker", broker)):  # first: the services need them
            if infra is not None:
                supervisor.watch(name, *server(infra), log=log_dir / f"{name}.log")
        for name in procs:
            supervisor.watch(name, *service(name), log=log_dir / f"{name}.log")
        while True:
            if nicer is not None:
                nicer.run_once({p.pid for n, p in procs.items() if n not in front_doors})
            supervisor.check()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        if nicer is not None:
            nicer.close()
        shutdown()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    stack = StackSettings()
    state_path = _state_file(stack)
    if not state_path.exists():
        _say("not running (no var/stack.json)")
        return 1
    state = json.loads(state_path.read_text())
    ok = True
    for name, pid in state["pids"].items():
        alive = pid is not None and _alive(pid)
        ready = ""
        if name in state["urls"]:
            try:
                r = httpx.get(f"{state['urls'][name]}/readyz", timeout=5)
                ready = f"{r.status_code} {r.json().get('checks')}"
            except httpx.HTTPError as exc:
                ready = f"unreachable ({type(exc).__name__})"
        ok &= alive or pid is None
        _say(f"{name:<10} pid={pid!s:<8} {'alive' if alive else 'external' if pid is None else 'DEAD':<8} "
             f"{state['urls'].get(name, '')}  {ready}")
    return 0 if ok else 1


def _alive(pid: int) -> bool:
    """Runs: a process that exited but was not reaped yet (a zombie) does not."""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def cmd_token(args: argparse.Namespace) -> int:
    token = mint_token(ServiceSettings(), sub=args.sub or f"dev-{args.role}-{args.unit or 'all'}",
                       roles=[args.role], unit_id=args.unit, name=args.name or "", ttl_seconds=args.ttl)
    print(token)
    return 0


def _database_url() -> tuple[str, object | None]:
    if "DATABASE_URL" in os.environ:
        return os.environ["DATABASE_URL"], None
    from services.embedded import EmbeddedPostgres

    stack = StackSettings()
    pg = EmbeddedPostgres(stack.var_dir / "pgdata", stack.pg_port, log_file=stack.var_dir / "logs" / "postgres.log")
    running = _state_file(stack).exists()
    if not running:
        pg.start()
        pg.create_database(stack.database)
    return pg.url(stack.database), (None if running else pg)


def cmd_migrate(args: argparse.Namespace) -> int:
    url, started = _database_url()
    try:
        migrate_all(url, args.downgrade)
    finally:
        if started is not None:
            started.stop()  # type: ignore[attr-defined]
    return 0


def cmd_republish(args: argparse.Namespace) -> int:
    from shared.bus.outbox import republish

    url, started = _database_url()
    try:
        since = datetime.fromisoformat(args.since) if args.since else None
        count = asyncio.run(republish(db.asyncpg_dsn(url), args.service, since))
        _say(f"{count} retained {args.service} outbox rows marked for re-publishing")
    finally:
        if started is not None:
            started.stop()  # type: ignore[attr-defined]
    return 0


def _bootstrap() -> str:
    if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    state = _state_file(StackSettings())
    if state.exists():
        return str(json.loads(state.read_text())["bootstrap"])
    return ServiceSettings().kafka_bootstrap_servers


def cmd_dlq(args: argparse.Namespace) -> int:
    from shared.bus.dlq import read_dead_letters, redrive

    letters = asyncio.run(read_dead_letters(_bootstrap(), args.topic))
    if args.ce_id:
        letters = [d for d in letters if d.ce_id in args.ce_id]
    if args.action == "list":
        for d in letters:
            _say(f"{d.failed_at}  {d.ce_type}  ce_id={d.ce_id}  key={d.key}  consumer={d.consumer}  "
                 f"attempts={d.attempts}  from={d.original}\n    {d.error_type}: {d.error[:300]}")
        _say(f"{len(letters)} dead letters in {args.topic}.dlq")
        return 0
    count = asyncio.run(redrive(_bootstrap(), args.topic, letters))
    _say(f"re-drove {count} dead letters to {args.topic} (consumers skip what they already applied)")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Only analytics is a pure projection of the topics: drop its schema, migrate (a new projection epoch)."""
    svc = next(s for s in SERVICES if s.name == args.service)
    try:
        if httpx.get(f"{_url(svc)}/healthz", timeout=2).status_code == 200:
            _say(f"{svc.name} answers at {_url(svc)}: stop it first (its consumer would write into the dropped schema)")
            return 1
    except httpx.HTTPError:
        pass
    url, started = _database_url()
    try:
        import asyncpg

        async def drop() -> None:
            conn = await asyncpg.connect(db.asyncpg_dsn(url))
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{svc.schema}" CASCADE')
            finally:
                await conn.close()

        asyncio.run(drop())
        db.upgrade(svc.migrations, url, svc.schema)
        _say(f"schema {svc.schema} dropped and migrated: on its next start {svc.name} joins a new consumer group "
             "and rebuilds its read models from the earliest offset of its topics")
    finally:
        if started is not None:
            started.stop()  # type: ignore[attr-defined]
    return 0


def cmd_rekey(args: argparse.Namespace) -> int:
    """Re-seal intake's personal data under INTAKE_PII_CURRENT_KEY (intake_svc/rekey.py)."""
    from intake_svc.rekey import rekey
    from intake_svc.settings import IntakeSettings
    from shared.crypto import Sealer

    settings = IntakeSettings()
    sealer = Sealer(settings.pii_keyring(), settings.pii_current_key)
    if any(v in os.environ for v in ("INTAKE_DATABASE_URL", "FQ_DATABASE_URL", "DATABASE_URL")):
        url, started = settings.database_url, None
    else:
        url, started = _database_url()
    try:
        result = asyncio.run(rekey(db.asyncpg_dsn(url), sealer, args.batch_size))
        _say(f"re-sealed {result.values} values under key {sealer.current}: "
             + ", ".join(f"{table} {n} rows" for table, n in result.rows.items()))
    finally:
        if started is not None:
            started.stop()  # type: ignore[attr-defined]
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the whole stack")
    up.add_argument("--no-demo", action="store_true", help="do not import the demo org")
    up.set_defaults(func=cmd_up)
    sub.add_parser("status", help="show what runs").set_defaults(func=cmd_status)
    tok = sub.add_parser("token", help="mint a dev JWT")
    tok.add_argument("--role", required=True, choices=[r.value for r in Role])
    tok.add_argument("--unit", default=None)
    tok.add_argument("--sub", default=None)
    tok.add_argument("--name", default=None)
    tok.add_argument("--ttl", type=int, default=12 * 3600)
    tok.set_defaults(func=cmd_token)
    mig = sub.add_parser("migrate", help="run every service's migrations")
    mig.add_argument("--downgrade", default=None, metavar="REV")
    mig.set_defaults(func=cmd_migrate)
    rep = sub.add_parser("republish", help="re-publish retained outbox rows of a service")
    rep.add_argument("--service", required=True, choices=[s.name for s in SERVICES])
    rep.add_argument("--since", default=None)
    rep.set_defaults(func=cmd_republish)
    dlq = sub.add_parser("dlq", help="list or re-drive a topic's dead letters")
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("--topic", required=True)
    dlq.add_argument("--ce-id", action="append", default=None, help="only these events (repeatable)")
    dlq.set_defaults(func=cmd_dlq)
    rpl = sub.add_parser("replay", help="rebuild a projection (analytics) from the topics")
    rpl.add_argument("service", choices=["analytics"])
    rpl.set_defaults(func=cmd_replay)
    rk = sub.add_parser("rekey", help="re-seal a service's personal data under its current key (intake)")
    rk.add_argument("service", choices=["intake"])
    rk.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
    rk.set_defaults(func=cmd_rekey)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
