"""调解 sessions (调解记录) over the real stack: scheduled with the case's parties (by their stable ids) and the
forces of the dictionary, minutes masked like notes, results (达成协议, 未达成, 改期 with the new time), on the
timeline, attachments filed with a session, the scope of the case; and the migration that gave every existing party
an id."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg

from services.registry import SERVICES
from shared import db
from shared.auth import Role
from tests.intake.test_records import PNG, WORKER, _file, _visible_to_worker
from tests.notify.conftest import read_events
from tests.shared.test_api_rules import assert_problem
from tests.support import Infra, Stack, auth, case_body, unique_phone

OPERATOR = auth(Role.OPERATOR, "S1", "op-sessions")
MEDIATOR = auth(Role.MEDIATOR, "S1", "med-sessions")
OTHER_GRID = auth(Role.GRID_WORKER, "G02", "U-G02-1")
PLACE = "松涛社区人民调解室（联系电话13912345678）"
SESSION_SCHEDULED = "fq.case.session_scheduled.v1"  # (a literal: the test must also run, and fail, without it)


async def _case(stack: Stack) -> dict[str, Any]:
    body = case_body(parties=[{"role": "applicant", "name": "王小明", "phone": unique_phone()},
                              {"role": "respondent", "name": "李大伟"}])
    r = await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _session(case: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"scheduled_at": "2026-12-08T09:30:00+08:00", "place": PLACE, "mediators": ["U-G01-1", "U-C1-1"],
            "parties_present": [p["id"] for p in case["parties"]], "forces_present": ["people_mediation", "police"],
            **overrides}


async def test_a_session_is_scheduled_recorded_and_rescheduled(stack: Stack) -> None:
    case = await _case(stack)
    url = f"/api/v1/cases/{case['id']}/sessions"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await stack.intake.post(url, headers={**MEDIATOR, **key}, json=_session(case, notify_parties=True))
    assert r.status_code == 201, r.text
    s = r.json()
    again = await stack.intake.post(url, headers={**MEDIATOR, **key}, json=_session(case, notify_parties=True))
    assert again.json() == s and again.headers["Idempotent-Replayed"] == "true"
    assert s["status"] == "scheduled" and s["result"] is None and s["forces_labels"] == ["人民调解", "公安"]
    assert s["place"] == "松涛社区人民调解室（联系电话139****5678）"  # masked like notes
    assert s["parties_present"] == [p["id"] for p in case["parties"]]
    assert r.headers["Location"] == f"{url}/{s['id']}" and r.headers["ETag"] == '"1"'

    patch = f"{url}/{s['id']}"
    minutes = {"minutes": "双方到场，申请人（电话13812345678）同意对方分期赔偿。", "result": "agreed"}
    assert_problem(await stack.intake.patch(patch, headers=MEDIATOR, json=minutes), 428, "precondition_required")
    assert_problem(await stack.intake.patch(patch, headers={**MEDIATOR, "If-Match": '"7"'}, json=minutes), 412,
                   "precondition_failed")
    bad = await stack.intake.patch(patch, headers={**MEDIATOR, "If-Match": '"1"'}, json={"result": "rescheduled"})
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "rescheduled_to"
    moved = await stack.intake.patch(patch, headers={**MEDIATOR, "If-Match": '"1"'},
                                     json={"result": "rescheduled", "rescheduled_to": "2026-12-10T14:00:00+08:00"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["scheduled_at"] == "2026-12-10T06:00:00Z" and moved.json()["status"] == "scheduled"
    assert moved.json()["previous_times"] == ["2026-12-08T01:30:00Z"] and moved.json()["result_label"] == "改期"
    done = await stack.intake.patch(patch, headers={**MEDIATOR, "If-Match": moved.headers["ETag"]}, json=minutes)
    assert done.status_code == 200, done.text
    assert done.json()["minutes"] == "双方到场，申请人（电话138****5678）同意对方分期赔偿。"
    assert (done.json()["status"], done.json()["result_label"], done.json()["version"]) == ("held", "达成协议", 3)

    up = await stack.intake.post(f"{patch}/attachments", headers=MEDIATOR, files=_file(PNG, name="签到表.png"))
    assert up.status_code == 201, up.text
    assert (up.json()["owner_kind"], up.json()["owner_id"]) == ("session", s["id"])
    assert_problem(await stack.intake.post(f"{url}/{uuid.uuid4()}/attachments", headers=MEDIATOR,
                                           files=_file(PNG)), 404, "session_not_found")

    listed = (await stack.intake.get(url, headers=MEDIATOR)).json()
    assert [x["id"] for x in listed] == [s["id"]]
    got = await stack.intake.get(patch, headers=MEDIATOR)
    assert got.json() == done.json() and got.headers["ETag"] == '"3"'
    timeline = (await stack.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=OPERATOR)).json()
    assert [(t["kind"], t["summary"]) for t in timeline if t["kind"].startswith("session_")] == [
        ("session_scheduled", "安排调解（2026-12-08 09:30）"), ("session_rescheduled", "调解改期至 2026-12-10 14:00"),
        ("session_recorded", "调解结果：达成协议")]
    assert "13812345678" not in json.dumps(timeline) and "调解室" not in json.dumps(timeline)

    events = await read_events(stack.bootstrap, "case-events", SESSION_SCHEDULED, {"session_id": s["id"]})
    assert [(e["rescheduled"], e["notify_parties"], e["scheduled_at"]) for e in events] == [
        (False, True, "2026-12-08T01:30:00Z"), (True, False, "2026-12-10T06:00:00Z")]
    assert events[0]["party_ids"] == [p["id"] for p in case["parties"]]
    assert "调解室" not in json.dumps(events, ensure_ascii=False) and "王" not in json.dumps(events, ensure_ascii=False)


async def test_a_bad_party_id_or_force_is_422_naming_the_field(stack: Stack) -> None:
    case = await _case(stack)
    url = f"/api/v1/cases/{case['id']}/sessions"
    other = await _case(stack)
    stranger = other["parties"][0]["id"]  # a party, but of another case
    body = _session(case, parties_present=[case["parties"][0]["id"], stranger])
    error = assert_problem(await stack.intake.post(url, headers=MEDIATOR, json=body), 422,
                           "validation_failed")["errors"][0]
    assert (error["field"], error["code"]) == ("parties_present.1", "unknown_party")
    error = assert_problem(await stack.intake.post(url, headers=MEDIATOR,
                                                   json=_session(case, parties_present=["not-a-uuid"])),
                           422, "validation_failed")["errors"][0]
    assert error["field"] == "parties_present.0"
    error = assert_problem(await stack.intake.post(url, headers=MEDIATOR,
                                                   json=_session(case, forces_present=["court", "army"])),
                           422, "validation_failed")["errors"][0]
    assert error["field"] == "forces_present.1" and "army" in error["reason"]
    error = assert_problem(await stack.intake.post(url, headers=MEDIATOR,
                                                   json=_session(case, scheduled_at="2026-12-08T09:30:00")),
                           422, "validation_failed")["errors"][0]
    assert error["field"] == "scheduled_at"
    assert (await stack.intake.get(url, headers=MEDIATOR)).json() == []


async def test_another_grids_worker_gets_404_on_the_session(stack: Stack) -> None:
    case = await _case(stack)
    await _visible_to_worker(stack, case["id"])
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/sessions", headers=WORKER, json=_session(case))
    assert r.status_code == 201, r.text
    url = f"/api/v1/cases/{case['id']}/sessions/{r.json()['id']}"
    assert (await stack.intake.get(url, headers=WORKER)).status_code == 200
    assert_problem(await stack.intake.get(url, headers=OTHER_GRID), 404, "case_not_found")
    assert_problem(await stack.intake.get(f"/api/v1/cases/{case['id']}/sessions", headers=OTHER_GRID), 404,
                   "case_not_found")
    assert_problem(await stack.intake.patch(url, headers={**OTHER_GRID, "If-Match": '"1"'},
                                            json={"result": "not_agreed"}), 404, "case_not_found")
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/sessions", headers=OTHER_GRID,
                                           json=_session(case)), 404, "case_not_found")
    assert_problem(await stack.intake.get(f"/api/v1/cases/{case['id']}/sessions/{uuid.uuid4()}", headers=WORKER),
                   404, "session_not_found")
    # the internal read is for services only
    notice = await stack.intake.post(f"/api/v1/internal/cases/{case['id']}/sessions/{r.json()['id']}/notice",
                                     headers=WORKER, json={"party_id": case["parties"][0]["id"], "purpose": "短信通知"})
    assert_problem(notice, 403, "forbidden_role")


async def test_the_migration_gives_every_existing_party_an_id(infra: Infra) -> None:
    intake = next(s for s in SERVICES if s.name == "intake")
    url = infra.database(f"fq_party_ids_{uuid.uuid4().hex[:8]}", migrate=False)
    await asyncio.to_thread(db.upgrade, intake.migrations, url, intake.schema, "0015_callback_trace")
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        old = [{"role": "applicant", "kind": "person", "name_sealed": "x"},
               {"role": "respondent", "kind": "person", "name_sealed": "y"}]
        case_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO intake.cases (id, code, channel, request_type, title, description, risk_level, risk_reasons,"
            " location, parties, channel_details, attachments, urgent, status, visible_units, applicant_index,"
            " duplicate_candidates, created_by, created_at, updated_at, version) VALUES ($1, 'FQ-MIG-1', 'walk_in',"
            " 'dispute', 't', 'd', 'blue', '{}', '{}', $2::jsonb, '{}', '[]', false, 'received', '{}', '{}', '[]',"
            " 'op', now(), now(), 1)", case_id, json.dumps(old))
        await asyncio.to_thread(db.upgrade, intake.migrations, url, intake.schema)
        parties = json.loads(await conn.fetchval("SELECT parties FROM intake.cases WHERE id = $1", case_id))
    finally:
        await conn.close()
    assert [(p["role"], p["name_sealed"]) for p in parties] == [("applicant", "x"), ("respondent", "y")]
    ids = [uuid.UUID(p["id"]) for p in parties]
    assert len(set(ids)) == 2
