"""The big screen in a real headless browser (Debian's chromium): rendered data and map, no console errors, no
English on screen, token refresh from the embedding page, screenshots.

The screenshots are written to tests/artifacts/analytics/ (git-ignored), or under ``$FQ_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Page, async_playwright

from analytics_svc.app import create_app
from services.embedded import free_port
from services.registry import ROOT, SERVICES
from shared.auth import Role, mint_token
from shared.clock import SHANGHAI, FrozenClock
from tests.analytics.conftest import Lab
from tests.analytics.scenario import Week, load, org, week
from tests.support import eventually, settings_for, token

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("FQ_SCREENSHOT_DIR") or ROOT / "tests" / "artifacts" / "analytics")
SCREENSHOT = SHOTS / "dashboard.png"
WALL = "http://wall.test"  # a wall screen's embedding page (served by the test through the browser's router)
# an ASCII word on screen is English unless it is an id or a code (shown in <code>)
ENGLISH = re.compile(r"[A-Za-z]{2,}")
VISIBLE_TEXTS = """() => {
    const texts = [document.title];
    const walk = (node) => {
        if (node.nodeType === Node.TEXT_NODE) { texts.push(node.textContent); return; }
        if (node.nodeType !== Node.ELEMENT_NODE || node.tagName === "CODE" || node.tagName === "SCRIPT") return;
        const style = getComputedStyle(node);
        if (node.hidden || style.display === "none" || style.visibility === "hidden") return;
        node.childNodes.forEach(walk);
    };
    walk(document.body);
    for (const el of document.querySelectorAll("[_echarts_instance_]")) {  // what the canvases draw
        const o = echarts.getInstanceByDom(el).getOption();
        if (!o) continue;  // nothing drawn yet
        for (const l of o.legend || []) texts.push(...(l.data || []).map((d) => d.name || d));
        for (const a of o.xAxis || []) texts.push(...(a.data || []).map(String));
        for (const v of o.visualMap || []) texts.push(...(v.text || []));
        for (const s of o.series || []) {
            if (s.name) texts.push(s.name);
            if (s.type !== "map") texts.push(...(s.data || []).map((d) => (d && d.name) || ""));
        }
    }
    return texts.filter((t) => t && t.trim());
}"""
EMBED_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>wall</title></head><body style="margin:0">
<iframe id="screen" src="%s" style="width:1900px;height:1060px;border:0"></iframe>
<script>
  window.requests = [];
  window.fresh = null;
  window.addEventListener("message", (e) => {
    if (e.origin === "%s" && e.data && e.data.type === "fq-dashboard-token-request") {
      window.requests.push(e.data.reason);
      if (window.fresh) window.answer();
    }
  });
  window.answer = () => document.getElementById("screen").contentWindow.postMessage(
    {type: "fq-dashboard-token", token: window.fresh}, "%s");
</script></body></html>"""


def shots_dir() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def english(texts: list[str]) -> list[str]:
    return [t for t in texts if ENGLISH.search(t)]


async def launch(p: Any) -> Any:
    # the fake embedding origins are answered by the test's router, not by a host: Chromium takes them for the
    # public internet and would refuse them a frame of the loopback server (local network access checks)
    return await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                   args=["--headless", "--no-sandbox", "--disable-gpu",
                                         "--disable-background-networking",
                                         "--disable-features=LocalNetworkAccessChecks"])


def expired_token(role: str, unit_id: str) -> str:
    svc = next(s for s in SERVICES if s.name == "analytics")
    return mint_token(settings_for(svc, "postgresql://unused", "unused:1"), sub="t-wall", roles=[role],
                      unit_id=unit_id, ttl_seconds=-120)


async def map_option(page: Page) -> dict[str, Any]:
    return await page.evaluate("""() => {
        const o = echarts.getInstanceByDom(document.getElementById('map')).getOption();
        return {data: o.series[0].data.map((d) => [d.props.name, d.value, d.props.red, d.props.yellow]),
                max: o.visualMap[0].max};
    }""")
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
    app = create_app(settings_for(svc, lab.url, lab.bootstrap, dashboard_refresh_seconds=10,  # type: ignore[arg-type]
                                  dashboard_embed_origins=[WALL]),
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
            for chart in ("trend", "categories", "units", "funnel", "map"):
                assert await page.locator(f"#{chart} canvas").count() == 1, chart

            # 网格地图: the street's three grids (G4 is the other street's), coloured by the week's cases
            drawn = await map_option(page)
            assert drawn == {"data": [["一网格", 3, 0, 1], ["二网格", 2, 0, 0], ["三网格", 2, 1, 1]], "max": 3}
            assert await page.locator("#map-empty").is_hidden()
            detail = page.locator("#grid-detail")
            assert await detail.get_attribute("data-grid") == w.org.id("G1")  # the busiest grid, before a click
            # click the middle of 三网格 (square 2 of the row) on the canvas: its numbers in the side panel
            x, y = await page.evaluate("""() => echarts.getInstanceByDom(document.getElementById('map'))
                .convertToPixel({seriesIndex: 0}, [120.35, 36.06])""")
            box = await page.locator("#map canvas").bounding_box()
            assert box is not None
            await page.mouse.click(box["x"] + x, box["y"] + y)
            await page.wait_for_function(f"document.getElementById('grid-detail').dataset.grid === '{w.org.id('G3')}'")
            assert await detail.locator("h3").inner_text() == "三网格"
            fields = {await d.get_attribute("data-field"): await d.inner_text()
                      for d in await detail.locator("dd").all()}
            assert fields == {"received": "2 件", "open": "0 件", "resolved": "1 件", "resolution_rate": "50.0%",
                              "satisfaction_rate": "100.0%", "overdue": "1 件", "red": "1 件", "yellow": "1 件",
                              "blue": "0 件"}
            tooltip = await page.locator("#map div").filter(has_text="红色风险").last.inner_text()
            assert "三网格" in tooltip and "红色风险：1" in tooltip and "黄色风险：1" in tooltip  # the hover's tooltip

            assert english(await page.evaluate(VISIBLE_TEXTS)) == []  # tiles, charts, map, tooltip, detail: Chinese

            shots_dir()
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
            await page.locator(".map-panel").screenshot(path=str(SHOTS / "dashboard-map.png"))
            assert external == []  # ECharts and everything else come from us: works with no internet
        finally:
            await browser.close()
    assert errors == []


async def test_without_a_token_the_page_says_how_to_open_it_in_chinese(server: str) -> None:
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await browser.new_page()
            await page.goto(f"{server}/dashboard")
            notice = page.locator("#notice")
            await notice.wait_for(state="visible")
            assert "#token=" in await notice.inner_text()
            assert english(await page.evaluate(VISIBLE_TEXTS)) == []  # the address is in <code>
        finally:
            await browser.close()


async def test_a_wall_screen_gets_a_fresh_token_from_its_embedding_page(server: str, scripted: Week) -> None:
    """An expired token: the screen says so in Chinese, asks the embedding page for a token, and runs on with it."""
    w = scripted
    stale = expired_token(Role.COMMUNITY_ADMIN, w.org.id("C1"))
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await browser.new_page(viewport={"width": 1920, "height": 1080})
            wall = EMBED_PAGE % (f"{server}/dashboard#token={stale}&days=7", server, server)
            await page.route(f"{WALL}/", lambda route: route.fulfill(body=wall, content_type="text/html"))
            await page.goto(f"{WALL}/")
            frame = page.frame_locator("#screen")
            notice = frame.locator("#notice")
            await notice.wait_for(state="visible")
            await page.wait_for_function("window.requests.length > 0")
            text = await notice.inner_text()
            assert text.startswith("访问令牌已过期，正在等待续期") and not ENGLISH.search(text), text
            assert "expired" in await page.evaluate("window.requests")

            fresh = token(Role.COMMUNITY_ADMIN, w.org.id("C1"))
            await page.evaluate(f"window.fresh = {fresh!r}; window.answer()")
            await frame.locator("body[data-loaded]").wait_for(state="attached", timeout=30000)
            assert await notice.is_hidden()
            assert await frame.locator("#scope").inner_text() == "范围：一社区"
            await page.screenshot(path=str(SHOTS / "dashboard-refreshed.png"))

            # a page of an origin not listed may not frame the screen at all (CSP frame-ancestors)
            other = EMBED_PAGE % (f"{server}/dashboard#token={fresh}&days=7", server, server)
            await page.route("http://other.test/", lambda route: route.fulfill(body=other, content_type="text/html"))
            await page.goto("http://other.test/")
            await page.wait_for_timeout(1500)
            assert await page.frame_locator("#screen").locator("body[data-loaded]").count() == 0
        finally:
            await browser.close()


async def test_a_token_from_an_untrusted_origin_is_ignored(server: str, scripted: Week) -> None:
    """A window of another origin (here one that opened the screen) cannot hand the screen a token."""
    fresh = token(Role.COMMUNITY_ADMIN, scripted.org.id("C1"))
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await browser.new_page()
            await page.route("http://other.test/", lambda route: route.fulfill(body="<html></html>",
                                                                                content_type="text/html"))
            await page.goto("http://other.test/")
            async with page.expect_popup() as popup_info:
                await page.evaluate(f"window.screenWindow = window.open('{server}/dashboard')")
            popup = await popup_info.value
            await popup.locator("#notice").wait_for(state="visible")
            await page.evaluate(f"window.screenWindow.postMessage({{type: 'fq-dashboard-token', token: {fresh!r}}}, "
                                f"'{server}')")
            await popup.wait_for_timeout(1500)
            assert await popup.locator("body[data-loaded]").count() == 0
            # the same message from the screen's own origin is taken
            await popup.evaluate(f"window.postMessage({{type: 'fq-dashboard-token', token: {fresh!r}}}, "
                                 "location.origin)")
            await popup.locator("body[data-loaded]").wait_for(state="attached", timeout=30000)
        finally:
            await browser.close()
