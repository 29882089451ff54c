"""Spikes become fq.alert.hotspot.v1 on the alert topic; a replay into a fresh schema gives identical numbers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from analytics_svc.app import MIGRATIONS
from shared import db
from shared.auth import Role
from shared.events import Topic
from shared.events.case import Level
from tests.analytics.conftest import Lab
from tests.analytics.scenario import WEEK, Week, load, org, week
from tests.analytics.script import Org, Script, t
from tests.support import ADMIN, auth, eventually, start_stack


async def alerts_for(bootstrap: str, unit_id: str) -> list[dict[str, Any]]:
    """Every fq.alert.hotspot.v1 for the unit on the alert topic (a fresh reader from the earliest offset)."""
    consumer = AIOKafkaConsumer(Topic.ALERT, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        found = []
        batch = await consumer.getmany(timeout_ms=2000)
        for messages in batch.values():
            for m in messages:
                headers = {k: v.decode() for k, v in m.headers}
                body = json.loads(m.value or b"{}")
                if headers.get("ce_type") == "fq.alert.hotspot.v1" and body.get("unit_id") == unit_id:
                    found.append(body)
        return found
    finally:
        await consumer.stop()


async def test_a_grid_well_above_its_baseline_raises_one_hotspot_alert(lab: Lab) -> None:
    o = Org()
    o.add("D", Level.DISTRICT, None, "区")
    o.add("S", Level.STREET, "D", "街道")
    o.add("C", Level.COMMUNITY, "S", "社区")
    o.add("G", Level.GRID, "C", "热点网格")
    await lab.applied(await lab.emit(lab.routing, o.events()))
    # a quiet baseline: one wage case a week for four weeks before the day
    quiet = [Script(o).received(t(day, "09:00"), grid="G", category="labor.wage_arrears").assign(t(day, "09:05"), "G")
             for day in ("2025-05-06", "2025-05-13", "2025-05-20", "2025-05-27")]

    def burst(n: int, start: int = 0) -> list[Script]:
        return [Script(o).received(t("2025-06-03", f"{9 + i:02d}:00"), grid="G", category="labor.wage_arrears")
                .assign(t("2025-06-03", f"{9 + i:02d}:05"), "G") for i in range(start, start + n)]

    async def send(scripts: list[Script]) -> None:
        ids = await lab.emit(lab.intake, [e for s in scripts for e in s.intake])
        await lab.published(lab.intake)
        await lab.applied(ids + await lab.emit(lab.routing, [e for s in scripts for e in s.routing]))

    await send(quiet)
    await send(burst(4))  # 4 in a day: above the baseline (4/28 a day) but below the minimum of 5
    admin = auth(**ADMIN)  # type: ignore[arg-type]
    window = {"from": "2025-06-03", "to": "2025-06-03", "unit_id": o.id("S")}
    assert (await lab.stack.analytics.get("/api/v1/hotspots", params=window, headers=admin)).json()["spikes"] == []

    await send(burst(2, start=4))  # the 5th and 6th
    spikes = (await lab.stack.analytics.get("/api/v1/hotspots", params=window, headers=admin)).json()["spikes"]
    assert [(s["unit_id"], s["label"], s["category"], s["day"], s["baseline"]) for s in spikes] == [
        (o.id("G"), "热点网格", "labor", "2025-06-03", round(4 / 28, 3))]
    assert spikes[0]["count"] in (5, 6)  # the alert fires once, when the 5th case lands (maybe with the 6th)

    async def published() -> list[dict[str, Any]] | None:
        return await alerts_for(lab.bootstrap, o.id("G")) or None

    alerts = await eventually(published, timeout=60, what="hotspot alert on the alert topic")
    assert len(alerts) == 1
    a = alerts[0]
    assert (a["category"], a["unit_path"], a["count"]) == ("labor", o.paths[o.id("G")], spikes[0]["count"])
    assert a["window_start"].startswith("2025-06-02T16:00:00")  # 2025-06-03 00:00 in Asia/Shanghai
    assert "name" not in json.dumps(a) and "address" not in json.dumps(a)


async def snapshot(lab: Lab, w: Week) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role, unit in ((Role.STREET_ADMIN, "S"), (Role.DISTRICT_VIEWER, "D"), (Role.COMMUNITY_ADMIN, "C1")):
        h = auth(role, w.org.id(unit))
        for path, extra in (("/api/v1/kpis", {}), ("/api/v1/breakdown", {"dimension": "unit"}),
                            ("/api/v1/breakdown", {"dimension": "category"}), ("/api/v1/funnel", {}),
                            ("/api/v1/trend", {"metric": "on_time_completion_rate", "interval": "day"}),
                            ("/api/v1/hotspots", {}), ("/api/v1/kpis/hotline", {})):
            r = await lab.stack.analytics.get(path, params={**WEEK, **extra}, headers=h)
            assert r.status_code == 200, r.text
            out[f"{unit} {path} {extra}"] = r.json()
    r = await lab.stack.analytics.get("/api/v1/kpis", params={"from": "2020-01-01", "to": "2030-01-01"},
                                      headers=auth(**ADMIN))  # type: ignore[arg-type]
    out["global"] = r.json()
    return out


async def test_replaying_into_a_fresh_schema_gives_identical_kpis(lab: Lab) -> None:
    w = week(org())
    await load(lab, w)
    before = await snapshot(lab, w)
    assert before["S /api/v1/kpis {}"]["received"] == 7
    applied = (await lab.analytics_sql("SELECT count(*) FROM processed_events"))[0][0]
    old_group = lab.stack.apps["analytics"].state.runtime.consumer.name

    await lab.stack.close()
    async with lab.intake.session() as s, s.begin():
        await s.execute(text("DROP SCHEMA analytics CASCADE"))
    await asyncio.to_thread(db.upgrade, MIGRATIONS, lab.url, "analytics")
    lab.stack = await start_stack(lab.url, lab.bootstrap, names=("analytics",), import_org=False)
    new_group = lab.stack.apps["analytics"].state.runtime.consumer.name
    assert new_group != old_group and new_group.startswith("analytics-svc-")

    async def caught_up() -> int | None:
        n = (await lab.analytics_sql("SELECT count(*) FROM processed_events"))[0][0]
        return n if n >= applied else None

    await eventually(caught_up, timeout=120, what="the replay to catch up")
    after = await snapshot(lab, w)
    assert after == before
