"""催办 from the 12345 platform (``fq.case.urged.v1``, as intake's hotline adapter emits it): the unit handling the
case hears of it in the inbox, once per urge even when the event comes twice."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from notify_svc.domain import templates
from notify_svc.domain.templates import TemplateInvalid
from notify_svc.tables import InboxItem
from shared.clock import FrozenClock
from shared.events import CaseUrged
from tests.notify.conftest import publish
from tests.notify.flows import G01_WORKER, deliveries, new_case
from tests.support import Stack, eventually


async def _urge_items(s: Stack, case_id: str) -> list[dict[str, Any]]:
    """The G01 worker's urge items of the case (read from the table: the shared test stack's frozen clock gives
    every item one time, so the newest-first page need not hold them)."""
    async with s.apps["notify"].state.runtime.session() as session:
        rows = (await session.execute(select(InboxItem).where(
            InboxItem.case_id == uuid.UUID(case_id), InboxItem.user_id == "U-G01-1", InboxItem.kind == "urged",
        ))).scalars()
        return [{"title": r.title, "body": r.body, "id": str(r.id)} for r in rows]


async def test_an_urge_reaches_the_assignee_unit_once_per_event(nstack: Stack, clock: FrozenClock) -> None:
    case, assignment, _ = await new_case(nstack)
    assert assignment["unit_id"] == "G01"
    await eventually(lambda: deliveries(nstack, case["id"], rule_id="assigned.handlers"), timeout=60,
                     what="notify learned the case from its assignment")

    def urge(count: int) -> CaseUrged:
        return CaseUrged(case_id=uuid.UUID(case["id"]), at=clock.now(), assignment_id=uuid.UUID(assignment["id"]),
                         unit_id="G01", urge_count=count, source="hotline", urged_by="hotline:sim-12345")

    first = await publish(nstack.bootstrap, urge(1), times=2, source="/fengqiao/intake")  # a redelivery too

    async def one() -> list[dict[str, Any]] | None:
        return await _urge_items(nstack, case["id"]) or None

    items = await eventually(one, timeout=60, what="the urge in the G01 worker's inbox")
    assert items[0]["title"] == f"12345催办：案件 {case['code']}"
    assert "12345热线平台第 1 次催办" in items[0]["body"] and "松涛社区第一网格" in items[0]["body"]
    r = await nstack.notify.post(f"/api/v1/inbox/{items[0]['id']}/read", headers=G01_WORKER)  # the worker's own
    assert r.status_code == 200 and r.json()["kind"] == "urged", r.text

    await publish(nstack.bootstrap, urge(2), source="/fengqiao/intake")  # a second urge is a new notification

    async def two() -> list[dict[str, Any]] | None:
        got = await _urge_items(nstack, case["id"])
        return got if len(got) >= 2 else None

    got = await eventually(two, timeout=60, what="the second urge")
    assert len(got) == 2, got  # the redelivered first urge did not notify twice
    assert sorted("第 2 次催办" in i["body"] for i in got) == [False, True]
    rows = await deliveries(nstack, case["id"], rule_id="urged.assignee", channel="inbox")
    assert [(d.recipient_id, d.status) for d in rows] == [("U-G01-1", "delivered")] * 2
    assert sum(d.trigger_ce_id == first for d in rows) == 1


def test_the_urge_template_offers_only_what_the_event_gives() -> None:
    spec = templates.SPECS["urged"]
    templates.check("urged", spec.subject, spec.body)
    try:
        templates.check("urged", "12345催办：{{ case_code }}", "{{ applicant_phone }}")
    except TemplateInvalid as exc:
        assert [e["code"] for e in exc.errors] == ["unknown_variable"]
    else:
        raise AssertionError("a template using a variable the urge does not provide was accepted")
