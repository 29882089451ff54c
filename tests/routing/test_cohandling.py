"""Co-handling (协办) over the real stack (intake + routing on real PostgreSQL and broker): a fight case with the
police gets a task at the beat officer configured for the community, who sees it in my/work, accepts and reports;
the lead cannot resolve before every task ended; the co-handler reads that case only; others get 404."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from services.embedded import EmbeddedBroker, free_port
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from tests.support import Infra, Stack, auth, case_body, eventually, start_stack

OPERATOR = auth(Role.OPERATOR, "S1", "op-cohandling")
ADMIN = auth(Role.ADMIN, None)
C1 = auth(Role.COMMUNITY_ADMIN, "C1", "U-C1-1")
OFFICER = auth(Role.MEDIATOR, "P1", "U-P1-1")  # the beat officer, of the police station (not above C1)
C2 = auth(Role.COMMUNITY_ADMIN, "C2", "U-C2-1")
S1 = auth(Role.STREET_ADMIN, "S1", "U-S1-1")


@pytest.fixture(scope="module")
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))  # a Monday morning


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory, clock: FrozenClock) -> AsyncIterator[Stack]:
    broker = EmbeddedBroker(free_port(), log_file=tmp_path_factory.mktemp("cohandling") / "broker.log")
    broker.start()
    try:
        url = await asyncio.to_thread(infra.database, "fq_cohandling")
        s = await start_stack(url, broker.bootstrap, names=("intake", "routing"), routing={"clock": clock})
        try:
            r = await s.routing.post("/api/v1/org/import", headers=ADMIN, json={
                "units": [{"id": "P1", "name": "松涛派出所", "level": "community", "parent_id": "S1"}],
                "members": [{"id": "U-P1-1", "name": "社区民警", "role": "mediator", "unit_id": "P1",
                             "forces": ["police"]}]})
            assert r.status_code == 200, r.text
            yield s
        finally:
            await s.close()
    finally:
        broker.stop()


async def fight(stack: Stack) -> tuple[dict[str, Any], dict[str, Any]]:
    r = await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        title="邻里纠纷动手", description="两户邻居因停车位争吵后发生肢体冲突，一方动手打人。",
        risk_signals=["violence"]))
    assert r.status_code == 201, r.text
    case = r.json()

    async def tasks() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        got = await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=ADMIN)
        if got.status_code != 200:
            return None
        a = got.json()["current"]
        t = await stack.routing.get(f"/api/v1/assignments/{a['id']}/tasks", headers=C1)
        return (a, t.json()) if t.status_code == 200 and len(t.json()) == 2 else None

    a, _ = await eventually(tasks, timeout=60, what="the fight case's co-handling tasks")  # type: ignore[misc]
    return case, a


async def test_a_fight_case_is_co_handled_by_the_beat_officer(stack: Stack) -> None:
    # the community names its beat officer; people_mediation falls back to the street's (demo org) member
    bad = await stack.routing.post("/api/v1/org/units/C1/responsibles", headers=S1,
                                   json={"force": "cops", "member_id": "U-P1-1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("force"), bad.text
    r = await stack.routing.post("/api/v1/org/units/C1/responsibles", headers={**S1, "Idempotency-Key": "r1"},
                                 json={"force": "police", "member_id": "U-P1-1"})
    assert r.status_code == 201, r.text
    assert (await stack.routing.post("/api/v1/org/units/C1/responsibles", headers=C2,
                                     json={"force": "police", "member_id": "U-P1-1"})).status_code == 403
    eff = (await stack.routing.get("/api/v1/org/units/G01/responsibles", headers=S1,
                                   params={"effective": "true"})).json()
    assert {e["force"]: e["member_id"] for e in eff}["police"] == "U-P1-1"

    case, a = await fight(stack)
    assert a["unit_id"] == "C1" and "police" in a["forces"]
    tasks = (await stack.routing.get(f"/api/v1/assignments/{a['id']}/tasks", headers=C1)).json()
    by_force = {t["force"]: t for t in tasks}
    police, mediation = by_force["police"], by_force["people_mediation"]
    assert police["member_id"] == "U-P1-1" and police["status"] == "open"
    assert mediation["member_id"] == "U-S1-3"  # walked up to the street

    mine = (await stack.routing.get("/api/v1/my/work", headers=OFFICER)).json()
    item = next(i for i in mine["items"] if i.get("task_id") == police["id"])
    assert item["kind"] == "task" and item["due_at"] == police["due_at"] and mine["task_counts"]["open"] == 1

    # the lead accepts; resolve is refused while tasks are live
    acc = await stack.routing.post(f"/api/v1/assignments/{a['id']}/accept", headers={**C1, "If-Match": '"1"'})
    assert acc.status_code == 200, acc.text
    resolve_body = {"outcome": "resolved"}
    r = await stack.routing.post(f"/api/v1/assignments/{a['id']}/resolve", json=resolve_body,
                                 headers={**C1, "If-Match": f'"{acc.json()["version"]}"'})
    assert r.status_code == 409 and r.json()["code"] == "cohandling_open", r.text

    # another unit's member sees none of it; the lead cannot accept for the officer
    for path in (f"/api/v1/tasks/{police['id']}", f"/api/v1/assignments/{a['id']}/tasks"):
        assert (await stack.routing.get(path, headers=C2)).status_code == 404
    for action, body in (("accept", None), ("complete", {"report": "已处理"}), ("close", {"reason": "无需协办"})):
        got = await stack.routing.post(f"/api/v1/tasks/{police['id']}/{action}", headers={**C2, "If-Match": '"1"'},
                                       json=body)
        assert got.status_code == 404, got.text
    assert (await stack.routing.post(f"/api/v1/tasks/{police['id']}/accept", headers=C1,
                                     json=None)).status_code == 403

    # the officer accepts (If-Match required) and reports (no phone numbers in the report)
    assert (await stack.routing.post(f"/api/v1/tasks/{police['id']}/accept", headers=OFFICER)).status_code == 428
    r = await stack.routing.post(f"/api/v1/tasks/{police['id']}/accept",
                                 headers={**OFFICER, "If-Match": '"1"', "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.headers["ETag"] == '"2"', r.text
    r = await stack.routing.post(f"/api/v1/tasks/{police['id']}/complete", headers={**OFFICER, "If-Match": '"2"'},
                                 json={"report": "已出警，当事人电话13912345678"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("report"), r.text
    r = await stack.routing.post(f"/api/v1/tasks/{police['id']}/complete", headers={**OFFICER, "If-Match": '"2"'},
                                 json={"report": "已出警调查，双方情绪平稳，建议继续调解。"})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text

    # the co-handler reads this case (routing and intake), but no other case of the unit
    assert (await stack.routing.get(f"/api/v1/assignments/{a['id']}", headers=OFFICER)).status_code == 200
    assert (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=OFFICER)).status_code == 200
    # (a case without forces: another fight case would rightly give the officer a task, and a grant, there too)
    r = await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(title="楼上漏水"))
    assert r.status_code == 201, r.text
    other = r.json()
    async def c1_reads_it() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{other['id']}", headers=C1)).status_code == 200

    await eventually(c1_reads_it, timeout=60, what="the other case routed to C1")
    assert (await stack.intake.get(f"/api/v1/cases/{other['id']}", headers=OFFICER)).status_code == 404

    # still one live task: refused; the lead closes it with a reason, then resolves
    r = await stack.routing.post(f"/api/v1/assignments/{a['id']}/resolve", json=resolve_body,
                                 headers={**C1, "If-Match": f'"{acc.json()["version"]}"'})
    assert r.status_code == 409 and [t["force"] for t in r.json()["open_tasks"]] == ["people_mediation"]
    r = await stack.routing.post(f"/api/v1/tasks/{mediation['id']}/close", headers={**C1, "If-Match": '"1"'},
                                 json={"reason": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("reason"), r.text
    r = await stack.routing.post(f"/api/v1/tasks/{mediation['id']}/close", headers={**C1, "If-Match": '"1"'},
                                 json={"reason": "社区已调解，无需街道人民调解员介入"})
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    r = await stack.routing.post(f"/api/v1/assignments/{a['id']}/resolve", json=resolve_body,
                                 headers={**C1, "If-Match": f'"{acc.json()["version"]}"'})
    assert r.status_code == 200 and r.json()["status"] == "resolved", r.text
