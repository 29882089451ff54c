"""No English over live texts (issue 18): where test_no_english reads the templates and the code's literals, this
one runs a case through the real stack (register, route, 签收, 办结 on the real PostgreSQL and broker) and reads
what people are shown: the grid worker's notify inbox (titles and bodies) and the citizen's progress page. The
checker is the same ``english()``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from notify_svc.tables import Recipient, Unit
from services.registry import DEMO_ORG
from shared.auth import Role
from tests.contracts.test_no_english import english
from tests.support import Stack, act, auth, case_body, eventually

OPERATOR = auth(Role.OPERATOR, "S1", "op-1")
G01_WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")
ADMIN = auth(Role.ADMIN, None, "admin-1")
# the progress page's fields that hold codes and times, not text (status is the code its status_label spells out)
CODE_KEYS = {"code", "status", "at", "received_at", "updated_at"}


def _texts(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if key not in CODE_KEYS:
            yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v, key)


def test_the_checker_sees_english_in_a_live_shaped_text() -> None:
    """The check below can fail: an English title or timeline line is caught, a case code and a unit id are not."""
    assert english("New case assigned: FQ-20261103-000123") == ["New", "case", "assigned"]
    assert english("新案件待签收：FQ-20261103-000123（G01）") == []
    assert [t for _, t in _texts({"code": "FQ-20261103-000123", "status_label": "Resolved"})] == ["Resolved"]


async def _inbox(s: Stack, case_id: str) -> list[dict[str, Any]]:
    r = await s.notify.get("/api/v1/inbox", headers=G01_WORKER, params={"limit": 200})
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if i["case_id"] == case_id]


async def _notify_knows_the_org(s: Stack) -> bool:
    org = json.loads(DEMO_ORG.read_text())
    async with s.apps["notify"].state.runtime.session() as session:
        units = (await session.execute(select(func.count()).select_from(Unit))).scalar_one()
        members = (await session.execute(select(func.count()).select_from(Recipient))).scalar_one()
    return bool(units >= len(org["units"]) and members >= len(org["members"]))


async def test_what_the_grid_worker_and_the_citizen_read_is_chinese(stack: Stack) -> None:
    # the grid's members reach notify by routing's org events; a case assigned before that has nobody to tell
    await eventually(lambda: _notify_knows_the_org(stack), timeout=60, what="notify learns the demo org")
    body = case_body()
    r = await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    case = r.json()

    async def routed() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=ADMIN)
        return r.json()["current"] if r.status_code == 200 else None

    assignment = await eventually(routed, timeout=60, what="routing assigns the case")
    assert assignment["unit_id"] == "G01"
    await eventually(lambda: _inbox(stack, case["id"]), timeout=60, what="the new task in the grid worker's inbox")
    r = await act(stack.routing, assignment["id"], "accept", G01_WORKER)
    assert r.status_code == 200, r.text
    r = await act(stack.routing, assignment["id"], "resolve", G01_WORKER,
                  {"outcome": "resolved", "note": "已上门调解，双方达成一致"})
    assert r.status_code == 200, r.text

    phone_last4 = body["parties"][0]["phone"][-4:]

    async def progress_resolved() -> dict[str, Any] | None:
        r = await stack.intake.get(f"/api/v1/public/cases/{case['code']}", params={"phone_last4": phone_last4})
        assert r.status_code == 200, r.text
        page: dict[str, Any] = r.json()
        return page if page["status"] == "resolved" else None

    page = await eventually(progress_resolved, timeout=60, what="the progress page shows the case resolved")

    found: list[str] = []
    for item in await _inbox(stack, case["id"]):
        found += [f"inbox {item['kind']}.title: {item['title']}", f"inbox {item['kind']}.body: {item['body']}"]
    found += [f"progress {key}: {text}" for key, text in _texts(page)]
    assert sum(t.startswith("inbox") for t in found) >= 2, found  # at least the new task's title and body
    assert len(page["timeline"]) >= 3, page  # received, assigned, resolved at least
    english_texts = [(t, english(t.split(": ", 1)[1])) for t in found if english(t.split(": ", 1)[1])]
    assert not english_texts, english_texts
