"""``/docs/<service>/`` (Swagger UI) and ``/docs/<service>/redoc`` render in a real headless browser (Debian's
chromium) with every asset served by the service itself: no request leaves the machine (the offline networks
government sites run on)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from playwright.async_api import async_playwright

from services.embedded import free_port
from services.registry import SERVICES
from tests.support import eventually

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module", params=[svc.name for svc in SERVICES])
async def served(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, str, str]]:
    """One service's app on a loopback port; the docs pages need neither its database nor its broker."""
    svc = next(s for s in SERVICES if s.name == request.param)
    app = __import__(f"{svc.package}.app", fromlist=["create_app"]).create_app()
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(srv.serve())

    async def started() -> bool:
        return bool(srv.started)

    await eventually(started, timeout=30, what="the server listening")
    try:
        yield f"http://127.0.0.1:{port}", app.title, svc.name
    finally:
        srv.should_exit = True
        await task


async def test_docs_and_redoc_render_offline(served: tuple[str, str, str]) -> None:
    server, title, name = served
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            external: list[str] = []
            blocked: list[str] = []
            errors: list[str] = []

            def local(url: str) -> bool:
                return url.startswith((server, "blob:", "data:"))

            page.on("request", lambda r: external.append(r.url) if not local(r.url) else None)
            # what the pages' Content-Security-Policy stopped before it left (ReDoc's own logo on its CDN)
            page.on("requestfailed", lambda r: blocked.append(r.url)
                    if not local(r.url) and r.failure == "csp" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{server}/docs/{name}/")
            await page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
            assert title in await page.inner_text(".swagger-ui .info .title")
            # the bearer scheme gives the page its Authorize button; operations are listed by their readable ids
            await page.wait_for_selector("button.authorize", timeout=10_000)
            assert await page.locator(".opblock").count() > 3
            await page.goto(f"{server}/docs/{name}/redoc")
            await page.wait_for_selector("h1", timeout=30_000)
            assert title in await page.inner_text("h1")
            await page.wait_for_timeout(500)
            left = [u for u in external if u not in blocked]
            assert not left, f"requests leaving the machine: {left}"
            assert not errors, errors
        finally:
            await browser.close()
