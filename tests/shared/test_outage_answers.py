"""What an API answers and logs when its database is unreachable, or when a handler has a bug."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from services.embedded import free_port
from shared import problems
from shared.observability import LogLimiter
from shared.problems import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/x"

    @app.get("/cases/{case_id}")
    async def read(case_id: str) -> dict[str, str]:
        await asyncpg.connect(nowhere)  # a real refused connection
        return {}

    @app.get("/bug")
    async def bug() -> dict[str, str]:
        raise RuntimeError("a bug")

    return app


@pytest.fixture
def client() -> httpx.AsyncClient:
    # raise_app_exceptions (the default): an exception that escapes the app, as one re-raised for the server to
    # log a second time, fails the request here
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t")


async def test_an_unreachable_database_answers_503_with_retry_after(client: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        r = await client.get("/cases/FQ-1")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["Retry-After"] == str(problems.RETRY_AFTER_SECONDS)
    assert r.json()["code"] == "database_unavailable" and r.json()["instance"] == "/cases/FQ-1"
    [line] = [e for e in logs if e["log_level"] == "error"]
    assert line["event"] == "database_unavailable" and line["error"] == "ConnectionRefusedError"
    assert line["route"] == "/cases/{case_id}" and isinstance(line["exc_info"], ConnectionRefusedError)


async def test_a_bug_answers_500_is_logged_once_and_repeats_are_counted_not_logged(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(problems, "_error_log", LogLimiter(window=0.5))
    with capture_logs() as logs:
        for _ in range(5):
            r = await client.get("/bug")
            assert r.status_code == 500 and r.json()["code"] == "internal_error"
        await asyncio.sleep(0.6)
        assert (await client.get("/bug")).status_code == 500
    lines = [e for e in logs if e["event"] == "unhandled_error"]
    assert [e["suppressed"] for e in lines] == [0, 4], "one line, then one saying how many were held back"
    assert all(isinstance(e["exc_info"], RuntimeError) for e in lines)
