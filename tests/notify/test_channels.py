"""Email over a real SMTP server, signed webhook robots and SMS through a local vendor that fails first."""

from __future__ import annotations

import contextlib
import email
import email.policy
import uuid
from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from notify_svc.adapters.channels import robot_signature
from notify_svc.tables import Recipient
from services.embedded import free_port
from shared.clock import FrozenClock
from shared.events import CaseAssigned, CaseOverdue, RiskChanged
from shared.events.case import DeadlineClock, Level, RiskLevel, Track
from tests.notify.conftest import next_local, notify_deps, publish, read_events, sms_vendor, use_sms, worker
from tests.notify.flows import ADMIN, accept, new_case, put_target, resolve, wait_delivery
from tests.support import Stack, eventually


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


@contextlib.contextmanager
def smtp_server(s: Stack) -> Iterator[_Inbox]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = notify_deps(s).settings
    before = (settings.smtp_host, settings.smtp_port)
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    try:
        yield inbox
    finally:
        settings.smtp_host, settings.smtp_port = before
        controller.stop()


def _assigned(clock: FrozenClock, unit: str, path: list[str]) -> CaseAssigned:
    now = clock.now()
    return CaseAssigned(case_id=uuid.uuid4(), at=now, assignment_id=uuid.uuid4(),
                        case_code=f"FQ-T-{uuid.uuid4().int % 10**6:06d}", unit_id=unit, unit_path=path,
                        level=Level.GRID, track=Track.GENERAL, accept_due_at=now + timedelta(hours=4),
                        rule_id="default.grid", explanation="测试")


async def test_overdue_supervision_email_reaches_the_smtp_server_with_its_chinese_subject(
        nstack: Stack, clock: FrozenClock) -> None:
    r = await put_target(nstack, "C1", "email", {"address": "songtao-shequ@example.cn"})
    assert r.status_code == 200, r.text
    assigned = _assigned(clock, "G03", ["D1", "S1", "C1", "G03"])
    overdue = CaseOverdue(case_id=assigned.case_id, at=clock.now(), assignment_id=assigned.assignment_id,
                          unit_id="G03", unit_path=assigned.unit_path, level=Level.GRID, clock=DeadlineClock.RESOLVE,
                          due_at=clock.now(), escalated=False)
    await publish(nstack.bootstrap, assigned)
    await publish(nstack.bootstrap, overdue)
    d = await wait_delivery(nstack, str(assigned.case_id), channel="email")
    assert d.recipient_id == "unit:C1" and d.status == "pending"
    with smtp_server(nstack) as smtp:
        await worker(nstack).tick()
        # other tests of this stack may have left mail for C1 pending until its mailbox was configured: count ours
        msgs = await eventually(lambda: _async([m for m in smtp.messages if assigned.case_code in str(m["Subject"])]),
                                what="the email at the SMTP server")
    assert len(msgs) == 1
    msg = msgs[0]
    assert msg["To"] == "songtao-shequ@example.cn"
    assert str(msg["Subject"]) == f"督办：{assigned.case_code} 办结超期"
    assert "=?utf-8?" in msg.as_string().split("\n\n", 1)[0].lower()  # encoded on the wire (RFC 2047)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and "请督促办理" in body.get_content()
    d = await wait_delivery(nstack, str(assigned.case_id), channel="email")
    assert d.status == "delivered" and d.attempts == 1


async def _async(value: Any) -> Any:
    return value


async def test_webhook_robot_gets_signed_markdown(nstack: Stack, clock: FrozenClock) -> None:
    got: list[dict[str, Any]] = []
    secret = "SEC-robot-secret"

    async def robot(request: web.Request) -> web.Response:
        ts, sign = request.query.get("timestamp"), request.query.get("sign")
        ok = ts is not None and sign == robot_signature(secret, int(ts))
        got.append({"ok": ok, "body": await request.json()})
        return web.json_response({"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign not match"})

    app = web.Application()
    app.router.add_post("/robot/send", robot)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        r = await put_target(nstack, "G04", "webhook", {
            "address": f"http://127.0.0.1:{port}/robot/send?access_token=abc", "secret": secret})
        assert r.status_code == 200 and r.json()["signed"] is True
        assigned = _assigned(clock, "G04", ["D1", "S1", "C2", "G04"])
        await publish(nstack.bootstrap, assigned)
        await wait_delivery(nstack, str(assigned.case_id), channel="webhook")
        await worker(nstack).tick()
        assert len(got) == 1 and got[0]["ok"]
        md = got[0]["body"]["markdown"]
        assert got[0]["body"]["msgtype"] == "markdown"
        assert md["title"] == f"新案件待签收：{assigned.case_code}" and "签收" in md["text"]
        d = await wait_delivery(nstack, str(assigned.case_id), channel="webhook")
        assert d.status == "delivered"
    finally:
        await runner.cleanup()


async def test_sms_vendor_failing_three_times_then_ok_sends_exactly_one_sms(nstack: Stack, clock: FrozenClock) -> None:
    clock.set(next_local(clock, time(10, 0)))
    case, assignment, phone = await new_case(nstack)
    await accept(nstack, assignment)
    await resolve(nstack, assignment)
    d = await wait_delivery(nstack, case["id"], channel="sms")
    assert d.recipient_id == f"applicant:{case['id']}" and d.rule_id == "resolved.survey"
    async with sms_vendor({phone: [500, 500, 500]}) as vendor:
        with use_sms(nstack, vendor):
            for _ in range(6):
                await worker(nstack).tick()
                clock.advance(timedelta(minutes=10))  # past any backoff
    assert len(vendor.to(phone, accepted=False)) == 4
    sent = vendor.to(phone)
    assert len(sent) == 1
    assert case["code"] in sent[0]["text"] and "/s/" in sent[0]["text"]
    d = await wait_delivery(nstack, case["id"], channel="sms")
    assert d.status == "delivered" and d.attempts == 4
    # the phone was read from intake's internal API, and the read is in the case's access log
    log = (await nstack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=ADMIN)).json()
    assert [e["accessed_by"] for e in log] == ["svc-notify"] * 4  # each attempt reads it anew, and is logged
    assert all("短信" in e["purpose"] and e["fields"] == ["name", "phone"] for e in log)
    delivered = await read_events(nstack.bootstrap, "notification-events", "fq.notification.delivered.v1",
                                  {"notification_id": str(d.id)})
    assert len(delivered) == 1 and delivered[0]["attempts"] == 4
    assert phone not in str(delivered)


async def test_a_vendor_refusing_the_message_is_a_recorded_and_emitted_failure(
        nstack: Stack, clock: FrozenClock) -> None:
    clock.set(next_local(clock, time(10, 0)))
    case, assignment, phone = await new_case(nstack)
    await accept(nstack, assignment)
    await resolve(nstack, assignment)
    await wait_delivery(nstack, case["id"], channel="sms")
    async with sms_vendor({phone: [400]}) as vendor:
        with use_sms(nstack, vendor):
            await worker(nstack).tick()
    d = await wait_delivery(nstack, case["id"], channel="sms")
    assert d.status == "failed" and d.attempts == 1 and "HTTP 400" in (d.last_error or "")

    async def failed() -> list[dict[str, Any]]:
        return await read_events(nstack.bootstrap, "notification-events", "fq.notification.failed.v1",
                                 {"notification_id": str(d.id)}, timeout_ms=1000)

    events = await eventually(failed, timeout=60, what="the failure event")
    assert events[0]["error"] == "sms vendor: HTTP 400" and phone not in str(events)


async def _street_of_its_own(s: Stack, street: str, admins: dict[str, str]) -> list[str]:
    """A street with a community and a grid, and ``admins`` (id → phone) as its street admins, imported into
    routing like any org change; returns the grid's path once notify has learnt the members from the events.
    A rate-limit test needs recipients no other test's deliveries reach."""
    units = [{"id": street, "name": "测试街道", "level": "street", "parent_id": "D1"},
             {"id": f"{street}-C", "name": "测试社区", "level": "community", "parent_id": street},
             {"id": f"{street}-G", "name": "测试网格", "level": "grid", "parent_id": f"{street}-C"}]
    members = [{"id": m, "name": "测试管理员", "unit_id": street, "roles": ["street_admin"], "phone": phone}
               for m, phone in admins.items()]
    r = await s.clients["routing"].post("/api/v1/org/import", json={"units": units, "members": members},
                                        headers=ADMIN)
    assert r.status_code == 200, r.text

    async def known() -> bool:
        async with s.apps["notify"].state.runtime.session() as session:
            found = (await session.execute(select(func.count()).select_from(Recipient)
                                           .where(Recipient.member_id.in_(list(admins))))).scalar_one()
        return bool(found == len(admins))

    await eventually(known, timeout=60, what="notify learns the test street's admins")
    return ["D1", street, f"{street}-C", f"{street}-G"]


async def test_red_risk_reaches_the_street_admins_at_once_within_their_rate_limit(nstack: Stack,
                                                                                  clock: FrozenClock) -> None:
    clock.set(next_local(clock, time(10, 0)))
    settings = notify_deps(nstack).settings
    before = (settings.rate_limit_count, settings.rate_limit_window_seconds)
    admins = {"U-S77-1": "13900007701", "U-S77-2": "13900007702"}
    path = await _street_of_its_own(nstack, "S77", admins)
    settings.rate_limit_count, settings.rate_limit_window_seconds = 1, 3600
    try:
        cases = [_assigned(clock, path[-1], path) for _ in range(2)]
        for case in cases:
            await publish(nstack.bootstrap, case)
            await publish(nstack.bootstrap, RiskChanged(
                case_id=case.case_id, at=clock.now(), from_level=RiskLevel.YELLOW, to_level=RiskLevel.RED,
                reasons=["扬言报复"], changed_by="U-G07-1"))
        for case in cases:
            for member in admins:
                await wait_delivery(nstack, str(case.case_id), channel="sms", recipient_id=member)
        async with sms_vendor() as vendor:
            with use_sms(nstack, vendor):
                await worker(nstack).tick()
                first = {m: len(vendor.to(p)) for m, p in admins.items()}
                clock.advance(timedelta(minutes=30))
                await worker(nstack).tick()
                still = {m: len(vendor.to(p)) for m, p in admins.items()}
                clock.advance(timedelta(minutes=31))
                await worker(nstack).tick()
                later = {m: len(vendor.to(p)) for m, p in admins.items()}
        assert first == still == {"U-S77-1": 1, "U-S77-2": 1}  # one per hour each
        assert later == {"U-S77-1": 2, "U-S77-2": 2}
        assert all("红色" in sms["text"] for phone in admins.values() for sms in vendor.to(phone))
    finally:
        settings.rate_limit_count, settings.rate_limit_window_seconds = before
