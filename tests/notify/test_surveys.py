"""The satisfaction survey (回访): SMS with a signed, expiring link after resolution; the answer is a feedback
event; no answer in time is recorded as unreached; no SMS to citizens at night."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from notify_svc.tables import Delivery
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from shared.events import FeedbackReceived
from tests.notify.conftest import next_local, notify_deps, read_events, sms_vendor, use_sms, worker
from tests.notify.flows import G01_WORKER, accept, new_case, resolve, wait_delivery
from tests.support import Stack, auth, eventually

TOKEN = re.compile(r"/s/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


async def resolved_case(s: Stack) -> tuple[dict[str, Any], dict[str, Any], str, Delivery]:
    case, assignment, phone = await new_case(s)
    await accept(s, assignment)
    await resolve(s, assignment)
    sms = await wait_delivery(s, case["id"], channel="sms", rule_id="resolved.survey")
    return case, assignment, phone, sms


async def feedback(s: Stack, case_id: str) -> list[dict[str, Any]]:
    return await read_events(s.bootstrap, "case-events", FeedbackReceived.ce_type, {"case_id": case_id},
                             timeout_ms=1000)


async def test_the_applicant_answers_the_survey_and_a_feedback_event_follows(nstack: Stack,
                                                                             clock: FrozenClock) -> None:
    clock.set(next_local(clock, time(10, 0)))
    case, _, phone, _ = await resolved_case(nstack)
    async with sms_vendor() as vendor:
        with use_sms(nstack, vendor):
            await worker(nstack).tick()
    [text] = [m["text"] for m in vendor.to(phone)]
    assert text.startswith("【枫桥】") and case["code"] in text
    match = TOKEN.search(text)
    assert match, text
    token = match.group(1)
    page = await nstack.notify.get(f"/s/{token}")
    assert page.status_code == 200 and "您对本次办理结果满意吗" in page.text
    r = await nstack.notify.get(f"/api/v1/surveys/{token}")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = await nstack.notify.post(f"/api/v1/surveys/{token}", json={"result": "maybe"})
    assert r.status_code == 422 and "result" in r.text
    r = await nstack.notify.post(f"/api/v1/surveys/{token}", json={"result": "unsatisfied", "comment": "没解决"})
    assert r.status_code == 200, r.text
    assert r.json()["result"] == "unsatisfied"
    again = await nstack.notify.post(f"/api/v1/surveys/{token}", json={"result": "satisfied"})
    assert again.status_code == 409 and again.json()["code"] == "survey_already_answered"
    got = await eventually(lambda: feedback(nstack, case["id"]), timeout=60, what="the feedback event")
    assert len(got) == 1
    assert (got[0]["result"], got[0]["source"]) == ("unsatisfied", "survey")
    assert "没解决" not in str(got)  # the comment stays in notify


async def test_forged_and_malformed_tokens_are_not_found(nstack: Stack) -> None:
    for token in ("nope", "AAAA.BBBB", "x" * 40):
        r = await nstack.notify.post(f"/api/v1/surveys/{token}", json={"result": "satisfied"})
        assert r.status_code == 404 and r.json()["code"] == "survey_not_found", token


async def test_no_answer_in_time_is_recorded_as_unreached(nstack: Stack, clock: FrozenClock) -> None:
    clock.set(next_local(clock, time(10, 0)))
    case, _, _, sms = await resolved_case(nstack)
    token = TOKEN.search(sms.body).group(1)  # type: ignore[union-attr]
    clock.advance(timedelta(days=notify_deps(nstack).settings.survey_days, minutes=1))
    await worker(nstack).tick()
    got = await eventually(lambda: feedback(nstack, case["id"]), timeout=60, what="the unreached feedback")
    assert [(e["result"], e["recorded_by"]) for e in got] == [("unreached", "notify")]
    r = await nstack.notify.post(f"/api/v1/surveys/{token}", json={"result": "satisfied"})
    assert r.status_code == 410 and r.json()["code"] == "survey_expired"


async def test_quiet_hours_defer_a_citizen_sms_to_eight_in_the_morning(nstack: Stack, clock: FrozenClock) -> None:
    night = next_local(clock, time(22, 0))
    clock.set(night)
    case, _, phone, sms = await resolved_case(nstack)
    morning = datetime.combine(night.date() + timedelta(days=1), time(8, 0), tzinfo=SHANGHAI)
    assert sms.next_attempt_at == morning
    async with sms_vendor() as vendor:
        with use_sms(nstack, vendor):
            clock.set(night + timedelta(hours=9, minutes=59))  # 07:59
            await worker(nstack).tick()
            assert vendor.to(phone, accepted=False) == []
            clock.set(morning)
            await worker(nstack).tick()
    assert len(vendor.to(phone)) == 1
    sms = await wait_delivery(nstack, case["id"], channel="sms", rule_id="resolved.survey")
    assert sms.status == "delivered" and sms.delivered_at == morning


async def test_an_unsatisfied_answer_reopens_the_case_end_to_end(nstack: Stack, clock: FrozenClock) -> None:
    clock.set(next_local(clock, time(10, 0)))
    case, assignment, _, sms = await resolved_case(nstack)
    token = TOKEN.search(sms.body).group(1)  # type: ignore[union-attr]
    r = await nstack.notify.post(f"/api/v1/surveys/{token}", json={"result": "unsatisfied", "comment": "没解决"})
    assert r.status_code == 200, r.text
    admin = auth(Role.ADMIN, None)

    async def reopened() -> dict[str, Any] | None:
        r = await nstack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=admin)
        current = r.json()["current"]
        return current if current and current["id"] != assignment["id"] else None

    current = await eventually(reopened, timeout=60, what="routing reopens the case with a new assignment")
    assert current["status"] == "assigned"

    async def inbox_reopened() -> list[dict[str, Any]]:
        items = (await nstack.notify.get("/api/v1/inbox", headers=G01_WORKER, params={"limit": 200})).json()["items"]
        return [i for i in items if i["case_id"] == case["id"] and "重办" in i["body"]]

    await eventually(inbox_reopened, timeout=60, what="the handlers learn of the reopened case (重办)")
