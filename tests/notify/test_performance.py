"""The 履行 follow-up of a 人民调解协议书: an agreement past its 履行 deadline reminds the resolving unit (the
reminder mechanism of 催办, fired by the delivery worker); 未履行 tells the unit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from tests.notify.conftest import worker
from tests.notify.flows import G01_WORKER, accept, new_case
from tests.support import Stack, auth, eventually

MEDIATOR = auth(Role.MEDIATOR, "S1", "med-perf")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


async def _items(s: Stack, case_id: str, kind: str) -> list[dict[str, Any]]:
    items = (await s.notify.get("/api/v1/inbox", headers=G01_WORKER, params={"limit": 200})).json()["items"]
    return [i for i in items if i["case_id"] == case_id and i["kind"] == kind]


async def test_an_agreement_past_its_deadline_reminds_the_unit_and_not_performed_tells_it(
        nstack: Stack, clock: FrozenClock) -> None:
    case, assignment, _ = await new_case(nstack)
    await accept(nstack, assignment)

    async def unit_reads_it() -> bool:  # intake applied the assignment: G01 records the 履行 below
        return (await nstack.intake.get(f"/api/v1/cases/{case['id']}", headers=G01_WORKER)).status_code == 200

    await eventually(unit_reads_it, timeout=60, what="the case in G01's scope in intake")
    due = (clock.now().astimezone(SHANGHAI) - timedelta(days=2)).date()  # a paper agreement filed late
    r = await nstack.intake.post(f"/api/v1/cases/{case['id']}/agreements", headers=MEDIATOR, json={
        "facts": "漏水纠纷", "terms": "赔偿三千元", "performance_way": "by_deadline",
        "performance_due": due.isoformat(), "mediators": ["med-perf"], "committee": "鹭鸣街道人民调解委员会"})
    assert r.status_code == 201, r.text
    url = f"/api/v1/cases/{case['id']}/agreements/{r.json()['id']}"
    r = await nstack.intake.post(f"{url}/signed-scan", headers=MEDIATOR, files={"file": ("s.png", PNG, "image/png")})
    assert r.status_code == 201, r.text

    async def reminded() -> list[dict[str, Any]] | None:
        await worker(nstack).tick()
        got = await _items(nstack, case["id"], "performance_reminder")
        return got if any("履行期限已到" in i["body"] for i in got) else None

    # both points (80 % and 100 %) are past: the one saying the deadline has come is there, with the case code
    items = await eventually(reminded, timeout=60, what="the 履行 reminder in the unit's inbox")
    assert all(case["code"] in i["body"] for i in items) and len(items) <= 2

    r = await nstack.intake.post(f"{url}/performance", headers={**G01_WORKER, "If-Match": r.headers["ETag"]},
                                 json={"result": "not_performed"})
    assert r.status_code == 200 and r.json()["performance"] == "not_performed", r.text

    async def told() -> list[dict[str, Any]] | None:
        return await _items(nstack, case["id"], "performance_recorded") or None

    failed = await eventually(told, timeout=60, what="the 未履行 notice")
    assert "未履行" in failed[0]["body"]
