"""延期申请未获批准 (``fq.case.extension_rejected.v1``, as routing emits it): the unit that asked hears that its
deadline stays, once per event."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from notify_svc.tables import InboxItem
from shared.clock import FrozenClock
from shared.events import CaseExtensionRejected
from shared.events.case import DeadlineClock
from tests.notify.conftest import publish
from tests.notify.flows import deliveries, new_case
from tests.support import Stack, eventually


async def test_a_rejected_extension_tells_the_unit_that_asked(nstack: Stack, clock: FrozenClock) -> None:
    case, assignment, _ = await new_case(nstack)
    await eventually(lambda: deliveries(nstack, case["id"], rule_id="assigned.handlers"), timeout=60,
                     what="notify learned the case from its assignment")
    due = clock.now() + timedelta(days=3)
    event = CaseExtensionRejected(
        case_id=uuid.UUID(case["id"]), at=clock.now(), assignment_id=uuid.UUID(assignment["id"]), unit_id="G01",
        clock=DeadlineClock.RESOLVE, reason="需等待鉴定结论", rejection_reason="事实清楚，可在期限内办结",
        rejected_by="U-C1-1", requested_due_at=due + timedelta(days=5), due_at=due)
    ce_id = await publish(nstack.bootstrap, event, times=2, source="/fengqiao/routing")  # a redelivery too

    async def items() -> list[Any] | None:
        async with nstack.apps["notify"].state.runtime.session() as session:
            rows = list((await session.execute(select(InboxItem).where(
                InboxItem.case_id == uuid.UUID(case["id"]), InboxItem.kind == "extension_rejected"))).scalars())
        return rows or None

    got = await eventually(items, timeout=60, what="the rejection in the G01 worker's inbox")
    assert [i.user_id for i in got] == ["U-G01-1"]
    assert got[0].title == f"延期未获批准：{case['code']}"
    assert "事实清楚，可在期限内办结" in got[0].body and "办结期限仍为" in got[0].body
    rows = await deliveries(nstack, case["id"], rule_id="extension_rejected.assignee", channel="inbox")
    assert [(d.recipient_id, d.status, d.trigger_ce_id) for d in rows] == [("U-G01-1", "delivered", ce_id)]
