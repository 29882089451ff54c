"""schemathesis over the four services' OpenAPI documents: no generated request is answered with a server error.

The four real apps run in-process on a broker and a database of their own (the generated data must not reach the
other tests' stack), and are called with an admin and a scoped bearer token. schemathesis generates positive and
negative cases, NUL bytes included (``allow_x00``), at most ``FQ_FUZZ_EXAMPLES`` per operation and mode. Every
default check must pass on every case (issue 18): no server error (issue 15), documented status codes and content
types, responses matching their schemas, negative data rejected. The failures are printed per check and service.

    FQ_FUZZ_EXAMPLES=50 .venv/bin/pytest tests/contracts/test_openapi_fuzz.py -s   # a longer run, with the table
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from shared.auth import Role
from tests.support import Infra, Stack, auth, own_broker, start_stack

EXAMPLES = int(os.environ.get("FQ_FUZZ_EXAMPLES", "8"))
SERVICES = ("intake", "routing", "notify", "analytics")
# operations that never end (a server-sent event stream), are no API (HTML), or answer 503 by design (/readyz)
SKIPPED = {("GET", "/api/v1/inbox/stream"), ("GET", "/dashboard"), ("GET", "/readyz")}
TOKENS = {"admin": auth(Role.ADMIN, None, "fuzz-admin"),
          "street admin S1": auth(Role.STREET_ADMIN, "S1", "fuzz-street"),
          "operator S1": auth(Role.OPERATOR, "S1", "fuzz-operator")}
FULL_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
               negative_data_rejection]
_HTTPX_KEYS = {"method", "url", "params", "headers", "json", "files"}  # no API reads cookies


@pytest.fixture(scope="module")
async def fuzz_stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    with own_broker(tmp_path_factory.mktemp("fuzz")) as broker:
        url = await asyncio.to_thread(infra.database, "fq_fuzz")
        stack = await start_stack(url, broker.bootstrap, names=SERVICES)
        try:
            yield stack
        finally:
            await stack.close()


def _request_kwargs(case: schemathesis.Case, headers: dict[str, str]) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://app", headers=headers)
    out = {k: v for k, v in kwargs.items() if k in _HTTPX_KEYS and v is not None}
    if "data" in kwargs and kwargs["data"] is not None:
        data = kwargs["data"]
        out["content" if isinstance(data, bytes | str) else "data"] = data
    if out.get("files"):
        out["files"] = _files(out["files"])
    return out


async def _send(client: httpx.AsyncClient, kwargs: dict[str, Any]) -> httpx.Response:
    request = client.build_request(**kwargs)
    request.read()  # a multipart body is a stream: read it, so the checks can look at what was sent
    return await client.send(request)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _files(files: Any) -> list[tuple[str, Any]]:
    """Generated multipart parts as httpx takes them: a part's content may come out of the generator as a number or
    a string; httpx wants bytes or a file (the server still sees exactly the generated value)."""
    items = files.items() if isinstance(files, dict) else files
    out: list[tuple[str, Any]] = []
    for name, part in items:
        if isinstance(part, tuple):
            out.append((name, (part[0], _bytes(part[1]), *part[2:])))
        else:
            out.append((name, ("file", _bytes(part))))
    return out


def _fuzz_service(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient, doc: dict[str, Any],
                  failures: Counter[tuple[str, str]], server_errors: list[str], counts: Counter[str],
                  examples: list[str]) -> None:
    """Runs in a worker thread: hypothesis drives generation, each request goes to the app on the test's loop."""
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.generation.update(allow_x00=True, max_examples=EXAMPLES)
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIPPED:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode), who=st.sampled_from(sorted(TOKENS)))
            def run(case: schemathesis.Case, who: str) -> None:
                kwargs = _request_kwargs(case, TOKENS[who])
                response = asyncio.run_coroutine_threadsafe(_send(client, kwargs), loop).result(60)
                counts[doc["info"]["title"]] += 1
                try:
                    case.validate_response(response, checks=FULL_CHECKS)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        failures[(doc["info"]["title"], type(failure).__name__)] += 1
                        examples.append(f"{type(failure).__name__}: {kwargs['method']} {case.operation.path} "
                                        f"({who}) → {response.status_code}: {response.text[:200]}")
                        if response.status_code >= 500:
                            server_errors.append(f"{kwargs['method']} {case.operation.path} ({who}) → "
                                                 f"{response.status_code}: {response.text[:300]}")

            try:
                run()
            except Unsatisfiable:  # nothing to make negative (an operation without parameters)
                pass


async def test_every_default_check_passes_on_every_generated_case(fuzz_stack: Stack, tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    failures: Counter[tuple[str, str]] = Counter()
    counts: Counter[str] = Counter()
    server_errors: list[str] = []
    examples: list[str] = []
    started = time.monotonic()
    for name in SERVICES:
        doc = fuzz_stack.apps[name].openapi()
        await asyncio.to_thread(_fuzz_service, loop, fuzz_stack.clients[name], doc, failures, server_errors, counts,
                                examples)
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {sum(counts.values())} generated cases in {elapsed:.0f} s "
          f"(≤ {EXAMPLES} per operation and mode): {dict(counts)}")
    for (service, check), n in sorted(failures.items()):
        print(f"  {service:40} {check:40} {n}")
    assert sum(counts.values()) > 0
    assert not server_errors, "server errors:\n" + "\n".join(sorted(set(server_errors))[:40])
    assert not failures, "failed checks:\n" + "\n".join(sorted(set(examples))[:40])
