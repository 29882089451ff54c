"""The TypeScript client (clients/typescript/), proven: installed with ``npm ci``, generated from the committed
documents (openapi-typescript), type-checked (``tsc --noEmit``), and its smoke script (openapi-fetch) run against
the stack served over HTTP: register a case, see it routed, accept it with If-Match from the ETag, read the inbox.
The AsyncAPI document is validated by the reference parser (@asyncapi/parser) from the same install.

Skipped only where node is missing outside CI; in CI a missing node fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from services.embedded import free_port
from services.registry import ROOT
from shared.auth import Role
from tests.support import Stack, eventually, token

CLIENT = ROOT / "clients" / "typescript"
NODE, NPM, NPX = shutil.which("node"), shutil.which("npm"), shutil.which("npx")
if not (NODE and NPM and NPX) and not os.environ.get("CI"):
    pytest.skip("node and npm are not installed", allow_module_level=True)


async def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*args, cwd=CLIENT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, env={**os.environ, **(env or {})})
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode()


@pytest.fixture(scope="module")
async def installed() -> None:
    code, out = await _run("npm", "ci", "--no-audit", "--no-fund")
    assert code == 0, out
    code, out = await _run("npm", "run", "generate")
    assert code == 0, out


async def test_the_generated_client_type_checks(installed: None) -> None:
    code, out = await _run("npx", "tsc", "--noEmit")
    assert code == 0, out


async def test_the_type_check_catches_a_wrong_call(installed: None, tmp_path: Path) -> None:
    bad = CLIENT / "src" / "wrong_call.ts"  # a body field that CaseCreate does not have
    bad.write_text('import { clients } from "./index.js";\n'
                   'const c = clients({ baseUrl: "http://x", token: () => "t" });\n'
                   'await c.intake.POST("/api/v1/cases", { body: { chanel: "walk_in" } });\n')
    try:
        code, out = await _run("npx", "tsc", "--noEmit")
    finally:
        bad.unlink()
    assert code != 0 and "wrong_call.ts" in out, out


async def test_asyncapi_is_valid_for_the_reference_parser(installed: None, tmp_path: Path) -> None:
    code, out = await _run("node", "validate-asyncapi.mjs", str(ROOT / "docs" / "events" / "asyncapi.json"))
    assert code == 0, out
    assert "receive operations" in out and " 0 receive" not in out, out
    # a receive operation naming a channel that does not exist is refused
    events = tmp_path / "events"
    shutil.copytree(ROOT / "docs" / "events", events)
    doc = json.loads((events / "asyncapi.json").read_text())
    receive = next(op for op in doc["operations"].values() if op["action"] == "receive")
    receive["channel"] = {"$ref": "#/channels/no_such_topic"}
    (events / "asyncapi.json").write_text(json.dumps(doc))
    code, out = await _run("node", "validate-asyncapi.mjs", str(events / "asyncapi.json"))
    assert code == 1, out


@pytest.fixture
async def served(stack: Stack) -> AsyncIterator[dict[str, str]]:
    """The stack's running apps, each on a loopback port (their lifespans already run in the stack)."""
    servers, tasks, urls = [], [], {}
    for name in ("intake", "routing", "notify"):
        port = free_port()
        srv = uvicorn.Server(uvicorn.Config(stack.apps[name], host="127.0.0.1", port=port, log_level="warning",
                                            lifespan="off"))
        servers.append(srv)
        tasks.append(asyncio.create_task(srv.serve()))
        urls[name] = f"http://127.0.0.1:{port}"

    async def listening() -> bool:
        return all(s.started for s in servers)

    await eventually(listening, timeout=30, what="the three servers listening")
    try:
        yield urls
    finally:
        for s in servers:
            s.should_exit = True
        await asyncio.gather(*tasks)


async def test_the_smoke_script_registers_routes_accepts_and_reads_the_inbox(installed: None,
                                                                           served: dict[str, str]) -> None:
    code, out = await _run("npx", "tsc", "-p", "tsconfig.json")
    assert code == 0, out
    code, out = await _run("node", "dist/smoke.js", env={
        "FQ_INTAKE_URL": served["intake"], "FQ_ROUTING_URL": served["routing"], "FQ_NOTIFY_URL": served["notify"],
        "FQ_OPERATOR_TOKEN": token(Role.OPERATOR, "S1", "ts-operator"),
        "FQ_WORKER_TOKEN": token(Role.GRID_WORKER, "G01", "U-G01-1"),  # the demo org's G01 grid worker
    }, timeout=120)
    assert code == 0, out
    assert "accepted with If-Match" in out and "smoke: ok" in out, out
