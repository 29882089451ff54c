"""The big screen in a real headless browser (Debian's chromium): rendered data, no console errors, a screenshot.

The screenshot is written to tests/artifacts/analytics/dashboard.png (git-ignored).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import async_playwright

from analytics_svc.app import create_app
from services.embedded import free_port
from services.registry import ROOT, SERVICES
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from tests.analytics.conftest import Lab
from tests.analytics.scenario import Week, load, org, week
from tests.support import eventually, settings_for, token

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = ROOT / "tests" / "artifacts" / "analytics" / "dashboard.png"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
async def scripted(lab: Lab) -> Week:
    w = week(org())
    await load(lab, w)
    return w


@pytest.fixture(scope="module")
async def server(lab: Lab, scripted: Week) -> AsyncIterator[str]:
    """A second, read-only analytics process on a real port whose clock says the scripted week just ended."""
    svc = next(s for s in SERVICES if s.name == "analytics")
    app = create_app(settings_for(svc, lab.url, lab.bootstrap, dashboard_refresh_seconds=10),  # type: ignore[arg-type]
                     run_relay=False, run_consumer=False,
                     clock=FrozenClock(datetime(2025, 3, 10, 0, 0, tzinfo=SHANGHAI)))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(srv.serve())

    async def started() -> bool:
        return bool(srv.started)

    await eventually(started, timeout=30, what="the dashboard server listening")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await task


async def test_the_big_screen_renders_the_street_numbers_without_console_errors(server: str, scripted: Week) -> None:
    w = scripted
    jwt = token(Role.STREET_ADMIN, w.org.id("S"))
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = await browser.new_page(viewport={"width": 1920, "height": 1080})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            external: list[str] = []
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server) else None)
            await page.goto(f"{server}/dashboard#token={jwt}&days=7")
            await page.wait_for_selector("body[data-loaded]", timeout=30000)

            assert "#token" not in page.url  # the token left the address bar
            assert await page.title() == "矛盾纠纷多元化解 · 数据大屏"
            tiles = {await t.get_attribute("data-kpi"): await t.locator(".value").inner_text()
                     for t in await page.locator("#tiles .tile").all()}
            assert tiles == {"received": "7", "completion_rate": "71.4%", "resolution_rate": "80.0%",
                             "accepted_on_time_rate": "72.7%", "on_time_completion_rate": "80.0%",
                             "local_resolution_rate": "75.0%", "satisfaction_rate": "60.0%",
                             "escalation_rate": "14.3%"}
            received_cmp = await page.locator('#tiles .tile[data-kpi="received"] .cmp').inner_text()
            assert "▲6" in received_cmp  # 7 against 1 the week before, and 1 a year earlier
            hotline = await page.locator("#hotline .tile .value").all_inner_texts()
            assert hotline == ["100.0%", "100.0%", "100.0%"]
            grids = await page.locator("#hot-grids li").all_inner_texts()
            assert grids[0].replace("\n", "") == "一网格3 件"
            buildings = await page.locator("#hot-buildings li").all_inner_texts()
            assert [b.replace("\n", "") for b in buildings] == ["一号楼2 件"]  # routing placed two cases there
            assert await page.inner_text("#scope") == "范围：测试街道"
            assert await page.inner_text("#window") == "统计期：2025/03/03 至 2025/03/09"

            option: dict[str, Any] = await page.evaluate("""() => {
                const get = (id) => echarts.getInstanceByDom(document.getElementById(id)).getOption();
                return {trend: get('trend').series[0].data, funnel: get('funnel').series[0].data,
                        units: get('units').xAxis[0].data, cats: get('categories').series[0].data.length};
            }""")
            assert option["trend"] == [2, 1, 2, 0, 1, 0, 1]  # 03-03 … 03-09
            assert [d["value"] for d in option["funnel"]] == [7, 2, 1, 1]
            assert option["units"] == ["一社区", "二社区"]
            assert option["cats"] == 3
            for chart in ("trend", "categories", "units", "funnel"):
                assert await page.locator(f"#{chart} canvas").count() == 1, chart

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert external == []  # ECharts and everything else come from us: works with no internet
        finally:
            await browser.close()
    assert errors == []


async def test_without_a_token_the_page_says_how_to_open_it(server: str) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                          args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page()
            await page.goto(f"{server}/dashboard")
            notice = page.locator("#notice")
            await notice.wait_for(state="visible")
            assert "#token=" in await notice.inner_text()
        finally:
            await browser.close()
