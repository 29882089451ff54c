"""调解通知: a 调解 session scheduled with ``notify_parties`` sends its parties an SMS with the time and the place — the
event names only ids and the time; notify reads the phone and the place from intake when it sends (access-logged);
a session scheduled at night is announced at 08:00, once; a reschedule (改期) replaces a notice not sent yet."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from tests.notify.conftest import next_local, sms_vendor, use_sms, worker
from tests.notify.flows import deliveries, new_case, wait_delivery
from tests.support import Stack, auth, eventually, unique_phone

PLACE = "松涛社区人民调解室"
RULE = "session_scheduled.parties"
# the street's mediator: the case is in its scope from registration on (a G01 worker's only once intake has applied
# routing's assignment)
MEDIATOR = auth(Role.MEDIATOR, "S1", "med-session-sms")


async def _case_with_respondent(s: Stack) -> tuple[dict[str, Any], str, str]:
    """A case assigned to G01 whose applicant and respondent both have phones: (case, applicant's, respondent's)."""
    respondent_phone = unique_phone()
    case, _, phone = await new_case(s, parties=[{"role": "applicant", "name": "王小明", "phone": unique_phone()},
                                                {"role": "respondent", "name": "李大伟", "phone": respondent_phone}])
    return case, phone, respondent_phone


async def _schedule(s: Stack, case: dict[str, Any], at: datetime, party_ids: list[str]) -> dict[str, Any]:
    r = await s.intake.post(f"/api/v1/cases/{case['id']}/sessions", headers=MEDIATOR, json={
        "scheduled_at": at.isoformat(), "place": PLACE, "mediators": ["U-G01-1"], "parties_present": party_ids,
        "forces_present": ["people_mediation"], "notify_parties": True})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_a_session_scheduled_at_night_is_announced_to_the_applicant_at_eight_once(nstack: Stack,
                                                                                        clock: FrozenClock) -> None:
    night = next_local(clock, time(23, 0))
    clock.set(night)
    case, phone, respondent_phone = await _case_with_respondent(nstack)
    applicant = case["parties"][0]["id"]
    meeting = datetime.combine(night.date() + timedelta(days=2), time(9, 30), tzinfo=SHANGHAI)
    session = await _schedule(nstack, case, meeting, [applicant])  # the respondent is not expected: not told
    sms = await wait_delivery(nstack, case["id"], channel="sms", rule_id=RULE)
    morning = datetime.combine(night.date() + timedelta(days=1), time(8, 0), tzinfo=SHANGHAI)
    assert sms.next_attempt_at == morning and sms.recipient_id == f"party:{session['id']}:{applicant}"
    assert phone not in sms.body and PLACE not in sms.body  # the place is read at send time, the phone too
    async with sms_vendor() as vendor:
        with use_sms(nstack, vendor):
            clock.set(morning - timedelta(minutes=1))  # 07:59
            await worker(nstack).tick()
            assert vendor.to(phone, accepted=False) == []
            clock.set(morning)
            await worker(nstack).tick()
            clock.set(morning + timedelta(minutes=5))
            await worker(nstack).tick()
    [text] = [m["text"] for m in vendor.to(phone, accepted=False)]
    assert text == (f"【枫桥】调解通知：您的纠纷（{case['code']}）定于 {meeting:%Y-%m-%d} 09:30 在{PLACE}进行调解，"
                    "请准时参加。")
    assert vendor.to(respondent_phone, accepted=False) == []
    [sms] = await deliveries(nstack, case["id"], channel="sms", rule_id=RULE)
    assert sms.status == "delivered" and sms.delivered_at == morning
    entries = (await nstack.intake.get(f"/api/v1/cases/{case['id']}/access-log",
                                       headers=auth(Role.STREET_ADMIN, "S1"))).json()
    assert [(e["accessed_by"], e["fields"]) for e in entries if "调解通知" in e["purpose"]] == [
        ("svc-notify", ["place", "phone"])]


async def test_a_reschedule_replaces_the_notice_not_sent_yet(nstack: Stack, clock: FrozenClock) -> None:
    night = next_local(clock, time(22, 30))
    clock.set(night)
    case, phone, respondent_phone = await _case_with_respondent(nstack)
    ids = [p["id"] for p in case["parties"]]
    first = datetime.combine(night.date() + timedelta(days=2), time(9, 30), tzinfo=SHANGHAI)
    session = await _schedule(nstack, case, first, ids)
    await wait_delivery(nstack, case["id"], channel="sms", rule_id=RULE)
    later = first + timedelta(days=1, hours=5)  # 14:30 the day after
    r = await nstack.intake.patch(f"/api/v1/cases/{case['id']}/sessions/{session['id']}",
                                  headers={**MEDIATOR, "If-Match": '"1"'},
                                  json={"result": "rescheduled", "rescheduled_to": later.isoformat(),
                                        "notify_parties": True})
    assert r.status_code == 200, r.text

    async def replaced() -> list[Any] | None:
        rows = await deliveries(nstack, case["id"], channel="sms", rule_id=RULE)
        return rows if len(rows) == 4 and sum(d.status == "cancelled" for d in rows) == 2 else None

    await eventually(replaced, timeout=60, what="the first notices cancelled, the new ones queued")
    async with sms_vendor() as vendor:
        with use_sms(nstack, vendor):
            clock.set(datetime.combine(night.date() + timedelta(days=1), time(8, 0), tzinfo=SHANGHAI))
            await worker(nstack).tick()
    for who in (phone, respondent_phone):
        [text] = [m["text"] for m in vendor.to(who, accepted=False)]
        assert "调解时间已变更" in text and f"{later:%Y-%m-%d} 14:30" in text and PLACE in text
