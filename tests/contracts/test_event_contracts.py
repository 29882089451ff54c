"""Every event published during a scripted run validates against its committed JSON schema."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema
import structlog
from aiokafka import AIOKafkaConsumer

from shared.auth import Role
from shared.events import CATALOG, TOPICS
from tests.support import ROOT, Stack, act, auth, case_body, eventually

SCHEMAS = ROOT / "docs" / "events"
PARTY = {"role": "applicant", "kind": "person", "name": "欧阳春花", "phone": "13955554444",
         "id_number": "11010519491231002X"}
ADDRESS = "松涛花园7号楼1203室"
RESPONDENT = {"role": "respondent", "name": "司马青云", "phone": "13766667777"}
SECRETS = (PARTY["name"], PARTY["phone"], PARTY["id_number"], ADDRESS, "松涛花园7号楼", RESPONDENT["name"],
           RESPONDENT["phone"])


def test_committed_event_docs_are_up_to_date() -> None:
    r = subprocess.run([sys.executable, "-m", "shared.events.export", "--check"], cwd=ROOT, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr


async def _scripted_run(stack: Stack) -> str:
    operator, worker = auth(Role.OPERATOR, "S1"), auth(Role.GRID_WORKER, "G01", "U-G01-1")
    body = case_body(parties=[PARTY], location={"grid_id": "G01", "address": ADDRESS})
    case = (await stack.intake.post("/api/v1/cases", json=body, headers=operator)).json()

    async def assignment() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=worker)
        return r.json()["current"] if r.status_code == 200 else None

    a = await eventually(assignment, what="assignment")
    assert (await act(stack.routing, a["id"], "accept", worker)).status_code == 200

    async def accepted() -> Any:  # the case's version moves with routing's events: read it once they are applied
        read = await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=operator)
        return read if read.json()["status"] == "in_progress" else None

    read = await eventually(accepted, what="the acceptance applied in intake")
    r = await stack.intake.put(f"/api/v1/cases/{case['id']}/category",
                               headers={**operator, "If-Match": read.headers["ETag"]},
                               json={"category": "neighbor.space", "request_type": "complaint"})
    assert r.status_code == 200, r.text
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/risk", headers=operator,
                                json={"level": "yellow", "reasons": ["tension"]})
    assert r.status_code == 200
    # the case file's records: a public note naming the applicant's phone and ID number, a party added, a file
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/notes", headers=worker, json={
        "kind": "phone_call", "visibility": "public",
        "text": f"联系{PARTY['name']}，电话{PARTY['phone']}，身份证{PARTY['id_number']}"})
    assert r.status_code == 201, r.text
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/parties", headers=operator,
                                json={"party": RESPONDENT, "reason": "调解中得知被申请人"})
    assert r.status_code == 201, r.text
    # a 调解 session at the applicant's home, its parties told by SMS, minutes naming the applicant, then 改期
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/sessions", headers=worker, json={
        "scheduled_at": "2026-12-08T19:30:00+08:00", "place": f"申请人家中（{ADDRESS}，电话{PARTY['phone']}）",
        "mediators": ["U-G01-1"], "parties_present": [p["id"] for p in case["parties"]],
        "forces_present": ["people_mediation"], "notify_parties": True})
    assert r.status_code == 201, r.text
    r = await stack.intake.patch(f"/api/v1/cases/{case['id']}/sessions/{r.json()['id']}",
                                 headers={**worker, "If-Match": r.headers["ETag"]},
                                 json={"minutes": f"{PARTY['name']}（{PARTY['id_number']}）要求改期",
                                       "result": "rescheduled", "rescheduled_to": "2026-12-09T09:00:00+08:00",
                                       "notify_parties": True})
    assert r.status_code == 200, r.text
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/attachments", headers=worker,
                                files={"file": (f"{PARTY['name']}身份证.png", b"\x89PNG\r\n\x1a\n" + bytes(64),
                                                "image/png")})
    assert r.status_code == 201, r.text
    r = await stack.intake.get(f"/api/v1/cases/{case['id']}/attachments/{r.json()['id']}/content", headers=worker)
    assert r.status_code == 200
    for reveal in ("texts", "parties"):
        r = await stack.intake.post(f"/api/v1/cases/{case['id']}/{reveal}/reveal", headers=operator,
                                    json={"purpose": "合同核对"})
        assert r.status_code == 200 and PARTY["phone"] in r.text
    # a 人民调解协议书 whose facts and terms name the applicant, its PDF (full personal data, access-logged), the
    # signed scan filed, a 司法确认 confirmed and the 履行 recorded
    mediator = auth(Role.MEDIATOR, "S1", "med-contract")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/agreements", headers=mediator, json={
        "facts": f"{PARTY['name']}（电话{PARTY['phone']}）与邻居因漏水发生纠纷",
        "terms": f"被申请人赔偿{PARTY['name']}三千元",
        "performance_way": "by_deadline", "performance_due": "2026-12-31", "mediators": ["med-contract"],
        "committee": "鹭鸣街道人民调解委员会"})
    assert r.status_code == 201, r.text
    agreement = f"/api/v1/cases/{case['id']}/agreements/{r.json()['id']}"
    assert (await stack.intake.get(f"{agreement}/pdf", headers=mediator)).status_code == 200
    r = await stack.intake.post(f"{agreement}/signed-scan", headers=mediator,
                                files={"file": ("协议书签字.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")})
    assert r.status_code == 201, r.text
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/judicial-confirmations", headers=mediator,
                                json={"applied_on": "2026-12-01", "court": "青澜区人民法院",
                                      "agreement_id": agreement.rsplit("/", 1)[1]})
    assert r.status_code == 201, r.text
    r = await stack.intake.patch(f"/api/v1/cases/{case['id']}/judicial-confirmations/{r.json()['id']}",
                                 headers={**mediator, "If-Match": r.headers["ETag"]},
                                 json={"accepted": True, "confirmed": True, "decided_on": "2026-12-02",
                                       "ruling_number": "(2026)青0102民特123号"})
    assert r.status_code == 200, r.text
    read = await stack.intake.get(agreement, headers=mediator)
    r = await stack.intake.post(f"{agreement}/performance", headers={**mediator, "If-Match": read.headers["ETag"]},
                                json={"result": "not_performed"})
    assert r.status_code == 200, r.text
    assert (await stack.intake.get(f"/api/v1/cases/{case['id']}/registration-form.pdf",
                                   headers=operator)).status_code == 200
    r = await act(stack.routing, a["id"], "resolve", worker, {"outcome": "resolved"})
    assert r.status_code == 200

    async def resolved() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=worker)).json()["status"] == "resolved"

    await eventually(resolved, what="resolved in intake")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/feedback", headers=operator,
                                json={"result": "unsatisfied", "comment": f"{PARTY['name']}不满意"})
    assert r.status_code == 201, r.text
    return str(case["id"])


async def _all_messages(bootstrap: str, case_id: str) -> list[Any]:
    consumer = AIOKafkaConsumer(*TOPICS, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    got: list[Any] = []
    try:
        async def resolved_seen() -> bool:
            for msgs in (await consumer.getmany(timeout_ms=300)).values():
                got.extend(msgs)
            return any(case_id.encode() == m.key and dict(m.headers)["ce_type"] == b"fq.case.feedback_received.v1"
                       for m in got)

        await eventually(resolved_seen, what="the feedback event on the topic", interval=0)
    finally:
        await consumer.stop()
    return got


@contextmanager
def _captured_logs() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event of the services, whatever the level, while the block runs."""
    capture = structlog.testing.LogCapture()
    before = structlog.get_config()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, capture],
                        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield capture.entries
    finally:
        structlog.configure(**before)


async def test_every_published_event_matches_its_schema_and_carries_no_personal_data(stack: Stack) -> None:
    with _captured_logs() as logs:
        case_id = await _scripted_run(stack)
    logged = json.dumps(logs, ensure_ascii=False, default=str)
    assert {"pii_revealed", "pii_written", "attachment_downloaded"} <= {e["event"] for e in logs}
    for secret in SECRETS:
        assert secret not in logged, "a log line carries personal data"
    messages = await _all_messages(stack.bootstrap, case_id)
    schemas = {t: json.loads((SCHEMAS / f"{t}.json").read_text()) for t in CATALOG if (SCHEMAS / f"{t}.json").exists()}
    seen: set[str] = set()
    for m in messages:
        headers = {k: v.decode() for k, v in m.headers}
        assert headers["ce_specversion"] == "1.0" and headers["content-type"] == "application/json"
        assert headers["ce_source"].startswith("/fengqiao/") and headers["ce_id"] and headers["ce_time"]
        assert headers["ce_partitionkey"] == m.key.decode()
        ce_type = headers["ce_type"]
        assert ce_type in schemas, f"{ce_type} has no committed schema"
        assert CATALOG[ce_type].topic == m.topic
        jsonschema.validate(json.loads(m.value), schemas[ce_type])
        seen.add(ce_type)
        text = m.value.decode() + json.dumps(headers, ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in text, f"{ce_type} leaks personal data"
    assert {"fq.case.received.v1", "fq.case.assigned.v1", "fq.case.accepted.v1", "fq.case.resolved.v1",
            "fq.case.risk_changed.v1", "fq.case.feedback_received.v1", "fq.case.reclassified.v1",
            "fq.case.session_scheduled.v1", "fq.case.agreement_signed.v1",
            "fq.case.judicial_confirmation_recorded.v1", "fq.case.performance_recorded.v1",
            "fq.org.unit_upserted.v1", "fq.org.member_upserted.v1"} <= seen
