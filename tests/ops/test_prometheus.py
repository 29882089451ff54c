"""The shipped alert rules and scrape config, checked by promtool and run by a real Prometheus against the stack.

Debian's ``prometheus`` package provides both binaries. The real-Prometheus test serves the in-process stack's apps
on loopback ports, runs Prometheus with ``deploy/prometheus/prometheus.yml`` — each DNS discovery block swapped for a
static target carrying the same ``__meta_dns_name``, so the shipped relabelling gives ``service`` — and the shipped
rule files, then reads its HTTP API: every target up with its service label, every rule evaluated with health ok.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from services.embedded import free_port
from tests.ops.promtool import binary
from tests.support import ROOT, Stack

PROM = ROOT / "deploy" / "prometheus"
RULES = PROM / "rules" / "fengqiao.rules.yml"
UNIT_TESTS = PROM / "tests" / "fengqiao.rules.test.yml"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _alerts() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]


def _run(*args: str) -> str:
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{' '.join(args)}:\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


def test_promtool_checks_the_config_and_rules_and_runs_one_unit_test_per_alert() -> None:
    promtool = binary("promtool")
    _run(promtool, "check", "config", str(PROM / "prometheus.yml"))
    _run(promtool, "check", "rules", str(RULES))
    assert "SUCCESS" in _run(promtool, "test", "rules", str(UNIT_TESTS))

    alerts = _alerts()
    names = [a["alert"] for a in alerts]
    tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    assert sorted(t["name"] for t in tests) == sorted(names), "one promtool test per alert, named after it"
    for test in tests:
        checks = test["alert_rule_test"]
        assert {c["alertname"] for c in checks} == {test["name"]}
        assert any(c["exp_alerts"] == [] for c in checks), f"{test['name']}: no case where it stays silent"
        assert any(c["exp_alerts"] for c in checks), f"{test['name']}: no case where it fires"
    for alert in alerts:
        ann = alert["annotations"]
        assert ann["runbook_url"] == f"docs/runbooks/{alert['alert']}.md", alert["alert"]
        for key in ("summary", "description"):
            zh, _, en = ann[key].partition(" / ")
            assert CJK.search(zh) and en and not CJK.search(en), f"{alert['alert']}.{key}: Chinese / English"
        assert alert["labels"]["severity"] in ("warning", "critical")


def _config_for(targets: dict[str, int], tmp: Path) -> Path:
    """The shipped config, discovery swapped for static targets with the labels DNS discovery would set."""
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROM / pattern) for pattern in config["rule_files"]]
    (job,) = config["scrape_configs"]
    static: list[dict[str, Any]] = []
    for dns in job.pop("dns_sd_configs"):
        (name,) = dns["names"]
        service = name.split("-pods.")[0]
        static.append({"targets": [f"127.0.0.1:{targets[service]}"], "labels": {"__meta_dns_name": name}})
    assert sorted(s["labels"]["__meta_dns_name"].split("-")[0] for s in static) == sorted(targets)
    job["static_configs"] = static
    job["scrape_timeout"] = "1s"
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start_prometheus(binary_path: str, config: Path, tsdb: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([binary_path, f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def _until(client: httpx.AsyncClient, path: str, check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = (await client.get(path)).json()["data"]
            if check(last):
                return last
        except (httpx.HTTPError, ValueError) as exc:  # not listening yet, or "Service Unavailable" while starting
            last = repr(exc)
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: {last!r}")


async def test_a_real_prometheus_scrapes_the_stack_with_the_shipped_config_and_evaluates_every_rule(
        stack: Stack, tmp_path: Path) -> None:
    prometheus = binary("prometheus")
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    ports: dict[str, int] = {}
    proc: subprocess.Popen[bytes] | None = None
    try:
        for name, app in stack.apps.items():
            ports[name] = free_port()
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=ports[name], lifespan="off",
                                                   log_level="warning", access_log=False))
            servers.append((server, asyncio.create_task(server.serve())))
        while not all(s.started for s, _ in servers):
            assert not any(t.done() for _, t in servers), "a server did not start"
            await asyncio.sleep(0.05)
        # traffic for the request metrics: a 404 (problem+json) and a probe per service
        async with httpx.AsyncClient(timeout=10) as c:
            for port in ports.values():
                assert (await c.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
                assert (await c.get(f"http://127.0.0.1:{port}/api/v1/no-such-path")).status_code == 404

        web = free_port()
        log = tmp_path / "prometheus.log"
        proc = _start_prometheus(prometheus, _config_for(ports, tmp_path), tmp_path / "tsdb", web, log)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web}", timeout=5) as api:
            targets = await _until(
                api, "/api/v1/targets",
                lambda d: len(d["activeTargets"]) == 4 and all(t["health"] == "up" for t in d["activeTargets"]),
                f"every target up (log {log})")
            assert sorted(t["labels"]["service"] for t in targets["activeTargets"]) == sorted(ports)

            def evaluated(d: dict[str, Any]) -> bool:
                rules = [r for g in d["groups"] for r in g["rules"]]
                return len(rules) == len(_alerts()) and all(
                    r["health"] == "ok" and not r["lastEvaluation"].startswith("0001") for r in rules)

            rules = await _until(api, "/api/v1/rules", evaluated, "every rule evaluated with health ok")
            assert {r["name"] for g in rules["groups"] for r in g["rules"]} == {a["alert"] for a in _alerts()}

            # the figures the rules read arrive with the labels they group by
            query = "max by (service) (fq_outbox_relay_leader)"
            leaders = await _until(api, f"/api/v1/query?query={query}", lambda d: len(d["result"]) == 4, query)
            assert {r["metric"]["service"]: r["value"][1] for r in leaders["result"]} == dict.fromkeys(ports, "1")
            query = 'sum by (service) (fq_http_requests_total{status="404"})'
            hits = await _until(api, f"/api/v1/query?query={query}", lambda d: len(d["result"]) == 4, query)
            assert all(float(r["value"][1]) >= 1 for r in hits["result"])
            query = "fq_calendar_missing_year"
            await _until(api, f"/api/v1/query?query={query}", lambda d: True, query)
            firing = (await api.get("/api/v1/alerts")).json()["data"]["alerts"]
            assert [a for a in firing if a["labels"]["alertname"] in ("FqRelayWithoutLeader", "FqTargetDown")] == []
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*(t for _, t in servers), return_exceptions=True)
