"""Rules and calendar over HTTP on two routing replicas sharing one real database (no consumer, no relay:
these tests change rules and the calendar, which must not leak into the shared stack's tests)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager

from routing_svc.app import create_app
from routing_svc.domain.rules import DEFAULT_RULES_FILE
from services.registry import DEMO_ORG, SERVICES
from shared import db
from shared.auth import Role
from shared.clock import SHANGHAI, FrozenClock
from tests.support import Infra, auth, eventually, settings_for, with_etag

ADMIN = auth(Role.ADMIN, None, "admin-rules")
STREET = auth(Role.STREET_ADMIN, "S1", "street-admin")
GRID = auth(Role.GRID_WORKER, "G01")
ROUTING = next(s for s in SERVICES if s.name == "routing")


@dataclass
class Replicas:
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    clock: FrozenClock
    url: str
    bootstrap: str


@pytest.fixture(scope="module")
async def replicas(infra: Infra) -> AsyncIterator[Replicas]:
    url = await asyncio.to_thread(infra.database, f"fq_rules_{uuid.uuid4().hex[:8]}")
    clock = FrozenClock(datetime(2026, 11, 23, 10, tzinfo=SHANGHAI))
    async with AsyncExitStack() as stack:
        clients = []
        for name in ("a", "b"):
            app = create_app(settings_for(ROUTING, url, infra.broker.bootstrap, rules_check_seconds=0.2),
                             clock=clock, run_relay=False, run_consumer=False)
            await stack.enter_async_context(LifespanManager(app, startup_timeout=60))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://routing-{name}")
            clients.append(await stack.enter_async_context(client))
        r = await clients[0].post("/api/v1/org/import", json=json.loads(DEMO_ORG.read_text()), headers=ADMIN)
        assert r.status_code == 200, r.text
        yield Replicas(clients[0], clients[1], clock, url, infra.broker.bootstrap)


def shipped() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    return doc


async def _calendar_events(url: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT payload FROM routing.outbox WHERE ce_type = 'fq.org.calendar_changed.v1' "
                                "ORDER BY id")
    finally:
        await conn.close()
    return [json.loads(r["payload"]) for r in rows]


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    return body


async def test_rules_lifecycle_across_replicas(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    # before anything is saved: the shipped default, version 0
    r = await a.get("/api/v1/rules", headers=GRID)
    assert r.status_code == 200 and r.json()["version"] == 0 and r.headers["etag"] == '"0"'
    assert [x["id"] for x in r.json()["document"]["rules"]][-1] == "default.grid"
    yaml_text = (await a.get("/api/v1/rules", headers={**GRID, "Accept": "application/yaml"})).text
    assert "default.grid" in yaml_text and yaml_text == DEFAULT_RULES_FILE.read_text(encoding="utf-8")

    # only admins change rules
    problem(await a.put("/api/v1/rules", content=yaml_text, headers={**STREET, "Content-Type": "application/yaml"}),
            403, "forbidden_role")

    # an invalid document points at the rule and field
    bad = shipped()
    bad["rules"][2]["when"]["people_involved"] = {"min": 9, "max": 2}
    # an update needs the version read
    problem(await a.put("/api/v1/rules", json=bad, headers=ADMIN), 428, "precondition_required")
    at0 = {**ADMIN, "If-Match": '"0"'}
    body = problem(await a.put("/api/v1/rules", json=bad, headers=at0), 422, "invalid_rules")
    assert body["errors"][0]["field"] == "rules[2].when.people_involved"
    body = problem(await a.put("/api/v1/rules", content="rules: [", headers={**at0, "Content-Type":
                                                                             "application/yaml"}), 422, "invalid_rules")
    assert body["errors"][0]["field"] == "document" and "line" in body["errors"][0]["reason"]
    problem(await a.put("/api/v1/rules", content="x", headers={**at0, "Content-Type": "application/xml"}),
            415, "unsupported_media_type")

    # save a new version as YAML: wage disputes of 3+ go to the street
    doc = shipped()
    doc["rules"].insert(0, {"id": "labor3.street", "description": "三人以上欠薪",
                            "when": {"category": "labor.*", "people_involved": {"min": 3}},
                            "then": {"level": "street", "track": "specialist", "forces": ["labor"]}})
    r = await a.put("/api/v1/rules", params={"comment": "wages from three workers"},
                    content=yaml.safe_dump(doc, allow_unicode=True),
                    headers={**ADMIN, "Content-Type": "application/yaml", "If-Match": '"0"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["changes"] == ["added rule labor3.street"]
    # a stale If-Match is refused
    stale = problem(await a.put("/api/v1/rules", json=doc, headers=at0), 412, "precondition_failed")
    assert stale["current_version"] == 1

    wage = {"category": "labor.wage_arrears", "people_involved": 3, "location": {"grid_id": "G01"}}
    # the saving replica applies it at once; the other one within its check interval, without a restart
    r = await a.post("/api/v1/rules/evaluate", json=wage, headers=GRID)
    assert r.json()["decision"]["rule_id"] == "labor3.street" and r.json()["version"] == 1

    async def b_sees_it() -> bool:
        r = await b.post("/api/v1/rules/evaluate", json=wage, headers=GRID)
        return r.json()["version"] == 1 and r.json()["decision"]["rule_id"] == "labor3.street"

    await eventually(b_sees_it, timeout=30, what="replica b applying rules version 1")

    # the JSON form of a change is accepted too, and the history tells who, when and what changed
    doc["rules"][0]["then"]["forces"] = ["labor", "legal_aid"]
    r = await b.put("/api/v1/rules", json=doc, headers={**ADMIN, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["changes"] == ["changed rule labor3.street (then)"]
    versions = (await a.get("/api/v1/rules/versions", headers=GRID)).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["comment"] == "wages from three workers" and versions[1]["created_by"] == "admin-rules"
    assert (await a.get("/api/v1/rules/versions/1", headers=GRID)).json()["document"]["rules"][0]["then"]["forces"] \
        == ["labor"]
    problem(await a.get("/api/v1/rules/versions/99", headers=GRID), 404, "rules_version_not_found")

    # restore the shipped rules for the other tests of this module
    r = await a.put("/api/v1/rules", json=shipped(), headers={**ADMIN, "If-Match": '"2"'},
                    params={"comment": "back to the default"})
    assert r.status_code == 200 and r.json()["version"] == 3


async def test_evaluate_explains_where_a_case_goes_and_when_it_is_due(replicas: Replicas) -> None:
    a = replicas.a
    replicas.clock.set(datetime(2026, 9, 30, 16, tzinfo=SHANGHAI))  # the eve of National Day
    r = await a.post("/api/v1/rules/evaluate", headers=GRID, json={
        "risk_level": "red", "risk_signals": ["violence"], "location": {"address": "松涛路36号听松苑5栋"}})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["located"]["unit_id"] == "G02" and out["located"]["method"] == "address_keyword"
    d = out["decision"]
    assert (d["rule_id"], d["level"], d["target_unit_id"], d["track"]) == ("violence.community", "community", "C1",
                                                                          "specialist")
    assert "police" in d["forces"] and d["trace"][-1] == {"rule_id": "violence.community", "matched": True,
                                                          "why": d["trace"][-1]["why"]}
    assert all(not s["matched"] for s in d["trace"][:-1]) and d["deadlines"]["accept"] == "4h"
    # 4 working hours from Sep 30 16:00: 1.5h that day, the rest after the holiday on Oct 8
    assert datetime.fromisoformat(out["accept_due_at"]) == datetime(2026, 10, 8, 11, tzinfo=SHANGHAI)

    # a point inside grid G01's polygon, an extreme threat → street, special, with a district task force
    r = await a.post("/api/v1/rules/evaluate", headers=GRID, json={
        "risk_signals": ["extreme"], "risk_level": "red", "location": {"lat": 36.08, "lng": 120.305}})
    out = r.json()
    assert out["located"]["method"] == "polygon" and out["located"]["unit_id"] == "G01"
    assert out["decision"]["target_unit_id"] == "S1" and out["decision"]["task_force"]["plan"] == "4h"

    # a draft document is tried without saving it; its errors are prefixed with document.
    draft = shipped()
    draft["rules"][-1]["then"] = {"level": "community"}
    r = await a.post("/api/v1/rules/evaluate", headers=GRID, json={"unit_id": "G03", "document": draft})
    assert r.json()["version"] is None and r.json()["decision"]["target_unit_id"] == "C1"
    draft["rules"][-1]["when"] = {"urgent": True}
    body = problem(await a.post("/api/v1/rules/evaluate", headers=GRID, json={"unit_id": "G03", "document": draft}),
                   422, "invalid_rules")
    assert body["errors"][0]["field"] == f"document.rules[{len(draft['rules']) - 1}].when"
    problem(await a.post("/api/v1/rules/evaluate", headers=GRID, json={"unit_id": "NOPE"}), 422, "validation_failed")
    problem(await a.post("/api/v1/rules/evaluate", headers=GRID, json={"at": "2026-11-23T10:00:00"}), 422,
            "validation_failed")
    # nowhere to locate → the street centre's triage queue, with the reason
    r = await a.post("/api/v1/rules/evaluate", headers=GRID, json={"location": {"address": "火星路1号"}})
    assert r.json()["located"]["method"] == "triage" and "no address keyword" in r.json()["located"]["explanation"]


async def test_calendar_overrides_a_loaded_year_and_the_visible_gap(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    replicas.clock.set(datetime(2026, 12, 10, 10, tzinfo=SHANGHAI))  # 2027 is within the lookahead: in use
    ready = (await b.get("/readyz")).json()
    assert "2027" in ready["details"]["calendar"] and ready["status"] == "ready"
    metrics = (await b.get("/metrics")).text
    assert 'fq_calendar_missing_year{year="2027"} 1.0' in metrics

    days = (await a.get("/api/v1/calendar/days", params={"from": "2026-10-08", "to": "2026-10-11"},
                        headers=GRID)).json()
    assert [(d["is_workday"], d["source"]) for d in days] == [(True, "official"), (True, "official"),
                                                              (True, "official"), (False, "official")]
    problem(await a.put("/api/v1/calendar/days", json={"days": []}, headers=STREET), 403, "forbidden_role")
    # an admin gives the make-up Saturday off (a local decision), on replica a; b applies it
    r = await a.put("/api/v1/calendar/days", headers=await with_etag(a, "/api/v1/calendar/years", ADMIN),
                    json={"days": [{"day": "2026-10-10", "is_workday": False, "note": "本地调整"}]})
    assert r.status_code == 200 and r.json()[0]["source"] == "override"

    async def b_sees_override() -> bool:
        r = await b.get("/api/v1/calendar/days", params={"from": "2026-10-10", "to": "2026-10-10"}, headers=GRID)
        return r.json()[0] == {"day": "2026-10-10", "is_workday": False, "source": "override", "note": "本地调整"}

    await eventually(b_sees_override, timeout=30, what="replica b applying the calendar override")
    r = await a.put("/api/v1/calendar/days", headers=await with_etag(a, "/api/v1/calendar/days", ADMIN),
                    json={"remove": ["2026-10-10"]})
    assert r.status_code == 200, r.text

    # load 2027's holiday notice as data: bad dates are pointed at
    calendar = await with_etag(a, "/api/v1/calendar/years", ADMIN)
    body = problem(await a.put("/api/v1/calendar/years/2027", headers=calendar, json={
        "holidays": ["2027-01-01", "2026-12-31", "2027-02-30"]}), 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["holidays[1]", "holidays[2]"]
    notice = {"note": "2027年部分节假日安排（示例数据）",
              "holidays": ["2027-01-01/2027-01-03", "2027-10-01/2027-10-07"], "workdays": ["2027-10-09"]}
    r = await a.put("/api/v1/calendar/years/2027", headers=calendar, json=notice)
    assert r.status_code == 200 and r.json()["source"] == "loaded"

    async def gap_closed() -> bool:
        ready = (await b.get("/readyz")).json()
        return ready["details"]["calendar"] == "ok"

    await eventually(gap_closed, timeout=30, what="the 2027 gap to close on replica b")
    assert 'fq_calendar_missing_year{year="2027"} 0.0' in (await b.get("/metrics")).text
    days = (await b.get("/api/v1/calendar/days", params={"from": "2027-10-07", "to": "2027-10-09"},
                        headers=GRID)).json()
    assert [(d["day"], d["is_workday"], d["source"]) for d in days] == [
        ("2027-10-07", False, "override"), ("2027-10-08", True, "loaded"), ("2027-10-09", True, "override")]
    # every change went out whole as fq.org.calendar_changed.v1 (the relay is off here: still in the outbox)
    published = await _calendar_events(replicas.url)
    assert [e["revision"] for e in published] == [1, 2, 3]
    assert published[-1]["loaded_years"] == [2027] and {"day": "2027-10-09", "is_workday": True} in \
        published[-1]["overrides"] and "2026-10-10" not in {o["day"] for o in published[-1]["overrides"]}
    # a replica starting publishes it again, for a notify that missed it
    app = create_app(settings_for(ROUTING, replicas.url, replicas.bootstrap, rules_check_seconds=0.2),
                     clock=replicas.clock, run_relay=False, run_consumer=False)
    async with LifespanManager(app, startup_timeout=60):
        pass
    again = await _calendar_events(replicas.url)
    assert len(again) == 4 and again[-1] == published[-1]
    years = {y["year"]: y["source"] for y in (await b.get("/api/v1/calendar/years", headers=GRID)).json()}
    assert years[2026] == "official" and years[2027] == "loaded" and years[2028] == "missing"
    # evaluate uses the loaded year: Friday Oct 8 2027 16:00 + 4h → the make-up Saturday Oct 9
    r = await a.post("/api/v1/rules/evaluate", headers=GRID, json={
        "unit_id": "G01", "at": datetime(2027, 10, 8, 16, tzinfo=SHANGHAI).isoformat()})
    assert datetime.fromisoformat(r.json()["accept_due_at"]).astimezone(UTC) == \
        datetime(2027, 10, 9, 11, tzinfo=SHANGHAI).astimezone(UTC)
