"""`python -m services up` as a user runs it: embedded infrastructure, four services, Ctrl-C leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from services.embedded import free_port
from tests.support import ROOT, case_body


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = path.read_text(errors="replace") if path.exists() else ""
        if text in out:
            return out
        assert proc.poll() is None, f"runner exited early:\n{out}"
        time.sleep(0.3)
    raise AssertionError(f"no '{text}' after {timeout}s:\n{path.read_text(errors='replace')}")


def test_up_prints_urls_and_tokens_restarts_what_dies_and_ctrl_c_stops_every_process(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("INTAKE", "ROUTING", "NOTIFY", "ANALYTICS")}
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env = {k: v for k, v in env.items() if not k.endswith("FORWARDED_ALLOW_IPS")}
    env.update({f"{name}_PORT": str(port) for name, port in ports.items()})
    env.update(FQ_STACK_VAR_DIR=str(tmp_path / "var"), FQ_STACK_PG_PORT=str(free_port()),
               FQ_STACK_BROKER_PORT=str(free_port()), FQ_STACK_INTAKE_EVENTS_PORT=str(free_port()))
    log = tmp_path / "up.log"
    seen: set[int] = set()  # every pid of the stack the test saw, to find none left behind at the end
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "services", "up"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        text = _wait_for(log, "ready. Ctrl-C stops everything.", proc)
        assert "demo org imported: {'units': 53, 'members': 22}" in text
        for port in ports.values():
            assert f"http://127.0.0.1:{port}" in text
        token = next(line.split()[-1] for line in text.splitlines() if "grid worker G01" in line)
        inbox = httpx.get(f"http://127.0.0.1:{ports['NOTIFY']}/api/v1/inbox",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert inbox.status_code == 200, inbox.text
        # a case leaves the front door (no relay there) through intake-events' relay, and is routed
        operator = next(line.split()[-1] for line in text.splitlines() if "operator S1" in line)
        admin = next(line.split()[-1] for line in text.splitlines() if line.strip().startswith("admin"))
        _case_is_routed(ports, operator, admin, timeout=60)

        # uvicorn alone believes X-Forwarded-For from 127.0.0.1: the runner trusts no proxy unless configured
        public = [httpx.get(f"http://127.0.0.1:{ports['INTAKE']}/api/v1/public/cases/FQ-20200101-999999",
                            params={"phone_last4": "0000"}, headers={"X-Forwarded-For": f"203.0.113.{i}"},
                            timeout=10).status_code for i in range(11)]
        assert public == [404] * 10 + [429]

        children = _status_is_true(tmp_path, env, seen)
        # the broker killed hard: the runner starts it again (a new pid, the port answers) and `status` knows it
        os.kill(children["broker"], signal.SIGKILL)
        broker = _restarted(tmp_path, "broker", children, log, proc)
        with socket.create_connection(("127.0.0.1", int(env["FQ_STACK_BROKER_PORT"])), timeout=5):
            pass
        children = _status_is_true(tmp_path, env, seen)
        assert children["broker"] == broker
        # PostgreSQL and a service killed hard at once: both come back, and cases flow again
        os.kill(children["postgres"], signal.SIGKILL)
        os.kill(children["routing"], signal.SIGKILL)
        for name in ("postgres", "routing"):
            _restarted(tmp_path, name, children, log, proc)
        _case_is_routed(ports, operator, admin, timeout=120, log=log)
        children = _status_is_true(tmp_path, env, seen)
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        proc.wait(90)
    assert proc.returncode == 0
    time.sleep(0.5)
    alive = [p for p in seen if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"processes left behind: {alive}"
    text = log.read_text()
    stopping = text[text.index("stopping ..."):]
    for name, pid in children.items():  # Ctrl-C stops the processes that run now, and knows them
        assert f"stopped {name} (pid {pid})" in stopping, stopping
    assert "had exited" not in stopping, stopping
    assert not (tmp_path / "var" / "stack.json").exists()


def _case_is_routed(ports: dict[str, int], operator: str, admin: str, timeout: float, log: Path | None = None) -> None:
    r = httpx.post(f"http://127.0.0.1:{ports['INTAKE']}/api/v1/cases", json=case_body(),
                   headers={"Authorization": f"Bearer {operator}"}, timeout=10)
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + timeout
    while True:
        try:
            routed = httpx.get(f"http://127.0.0.1:{ports['ROUTING']}/api/v1/cases/{r.json()['id']}/routing",
                               headers={"Authorization": f"Bearer {admin}"}, timeout=10)
            if routed.status_code == 200:
                break
        except httpx.HTTPError:  # routing still starting
            pass
        assert time.monotonic() < deadline, f"case not routed after {timeout}s\n" + (
            log.read_text(errors="replace") if log else "")
        time.sleep(0.5)
    assert routed.json()["current"]["unit_id"] == "G01", routed.text


def _status_is_true(tmp_path: Path, env: dict[str, str], seen: set[int]) -> dict[str, int]:
    """`python -m services status` answers 0 and shows the seven processes alive with the pids the runner
    recorded; those pids (added to ``seen``)."""
    status = subprocess.run([sys.executable, "-m", "services", "status"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("alive") == 7, status.stdout  # four services, intake-events, PostgreSQL, broker
    assert "DEAD" not in status.stdout, status.stdout
    state = json.loads((tmp_path / "var" / "stack.json").read_text())
    children = {name: int(pid) for name, pid in state["pids"].items() if pid}
    assert len(children) == 7 and all(psutil.pid_exists(p) for p in children.values())
    for name, pid in children.items():
        assert f"pid={pid} " in status.stdout, (name, status.stdout)
    seen.update(children.values())
    return children


def _restarted(tmp_path: Path, name: str, before: dict[str, int], log: Path, proc: subprocess.Popen[bytes],
               timeout: float = 90) -> int:
    """Wait until the runner has started ``name`` again: a new pid, alive, in the state file; that pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"runner exited:\n{log.read_text(errors='replace')}"
        pid = json.loads((tmp_path / "var" / "stack.json").read_text())["pids"].get(name)
        if pid and pid != before[name] and psutil.pid_exists(pid) \
                and f"restarted {name} (pid {pid})" in log.read_text():
            return int(pid)
        time.sleep(0.3)
    raise AssertionError(f"{name} not restarted after {timeout}s:\n{log.read_text(errors='replace')}")


def test_the_supervisor_backs_off_while_a_process_keeps_dying_and_records_each_restart(tmp_path: Path) -> None:
    from services.__main__ import StackSettings, Supervisor

    stack = StackSettings(var_dir=tmp_path, restart_backoff_seconds=0.1, restart_backoff_max_seconds=0.4,
                          restart_reset_seconds=0.8)
    supervisor = Supervisor(stack, on_restart=lambda: recorded.append(len(starts)))
    assert [supervisor.delay(n) for n in range(5)] == [0.1, 0.2, 0.4, 0.4, 0.4]
    starts: list[float] = []
    recorded: list[int] = []
    state = {"up": False, "fail": True}

    def restart() -> None:
        starts.append(time.monotonic())
        if state["fail"]:  # the first try fails (e.g. its port still taken): it counts and is tried again
            state["fail"] = False
            raise OSError("address in use")

    supervisor.watch("broker", lambda: state["up"], restart, lambda: 1, log=tmp_path / "broker.log")
    died = time.monotonic()
    while len(starts) < 4:  # a process that dies again as soon as it is started
        supervisor.check()
        time.sleep(0.01)
    gaps = [b - a for a, b in zip([died, *starts], starts, strict=False)]
    assert all(want <= gap < want + 0.1 for want, gap in zip([0.1, 0.2, 0.4, 0.4], gaps, strict=True)), gaps
    assert recorded == [2, 3, 4]  # the state written after each restart that worked, not after the failed one
    state["up"] = True  # it stays up long enough: the next death waits the first delay again
    supervisor.check()
    time.sleep(0.9)
    supervisor.check()
    state["up"], died = False, time.monotonic()
    while len(starts) < 5:
        supervisor.check()
        time.sleep(0.01)
    assert 0.1 <= starts[-1] - died < 0.2  # not the 0.4 s a fifth restart in a row would wait


def test_nothing_is_built_at_import_time() -> None:
    """Importing every module with production settings and no secrets must not fail or connect anywhere."""
    code = ("import intake_svc.app, routing_svc.app, notify_svc.app, analytics_svc.app, services.__main__, "
            "bench.__main__; print('ok')")
    env = {**os.environ, "FQ_ENV": "prod", "DATABASE_URL": "postgresql://nobody@192.0.2.1:1/none",
           "KAFKA_BOOTSTRAP_SERVERS": "192.0.2.1:1"}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_no_service_imports_another_or_declares_tables_outside_its_schema() -> None:
    import importlib

    from sqlmodel import SQLModel

    services = ("intake_svc", "routing_svc", "notify_svc", "analytics_svc")
    for svc in services:
        for path in (ROOT / svc).rglob("*.py"):
            source = path.read_text()
            for other in set(services) - {svc}:
                assert f"from {other}" not in source and f"import {other}" not in source, f"{path} imports {other}"
        tables = importlib.import_module(f"{svc}.tables")
        models = [m for m in vars(tables).values()
                  if isinstance(m, type) and issubclass(m, SQLModel) and hasattr(m, "__table__")
                  and m.__module__ == tables.__name__]
        assert models, svc
        for model in models:
            assert model.__table__.schema == svc.removesuffix("_svc"), f"{model.__name__} outside {svc}'s schema"
