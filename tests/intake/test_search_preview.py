"""Staff search (code, external reference, phone through the blind index, access-logged, scoped) and the
registration pre-check (登记预检: classifier, risk and duplicates, nothing saved, no case code taken)."""

from __future__ import annotations

import asyncpg

from shared import db
from shared.auth import Role
from tests.support import Stack, auth, case_body, unique_phone

OPERATOR = auth(Role.OPERATOR, "S1", "op-search")
OTHER_STREET = auth(Role.OPERATOR, "S2", "op-elsewhere")


async def _count(stack: Stack, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(db.asyncpg_dsn(stack.database_url))
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_search_by_code_ref_and_phone(stack: Stack) -> None:
    phone = unique_phone()
    body = case_body(external_ref="QL-TEST-REF-7781",
                     parties=[{"role": "applicant", "kind": "person", "name": "李四", "phone": phone}])
    r = await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    case = r.json()
    for query in ({"code": case["code"]}, {"code": case["code"].lower()}, {"ref": "QL-TEST-REF-7781"},
                  {"phone": phone}, {"phone": f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"}):
        found = await stack.intake.get("/api/v1/cases/search", params=query, headers=OPERATOR)
        assert found.status_code == 200, found.text
        assert [c["id"] for c in found.json()] == [case["id"]], query
    # outside the caller's scope: nothing
    assert (await stack.intake.get("/api/v1/cases/search", params={"phone": phone},
                                   headers=OTHER_STREET)).json() == []
    # the phone searches that matched are in the case's access log, code searches are not
    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log",
                                  headers=auth(Role.STREET_ADMIN, "S1"))).json()
    assert [e["fields"] for e in log] == [["phone"], ["phone"]]
    assert {e["accessed_by"] for e in log} == {"op-search"}


async def test_search_rejects_bad_queries(stack: Stack) -> None:
    for params in ({}, {"phone": "12345678901"}, {"code": "not-a-code"}):
        r = await stack.intake.get("/api/v1/cases/search", params=params, headers=OPERATOR)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "validation_failed"
    r = await stack.intake.get("/api/v1/cases/search", params={"code": "FQ-20260101-000001"},
                               headers=auth(Role.DISTRICT_VIEWER, "D1"))
    assert r.status_code == 403


async def test_preview_suggests_and_finds_the_duplicate_without_saving(stack: Stack) -> None:
    phone = unique_phone()
    party = [{"role": "applicant", "kind": "person", "name": "周五", "phone": phone}]
    address = "松涛花园77号楼1201室"
    text = "楼上住户每天深夜装修电钻噪音很大，多次沟通无果，影响休息，请求调解。"
    first = await stack.intake.post("/api/v1/cases", headers=OPERATOR, json=case_body(
        title="楼上噪音", description=text, parties=party, location={"grid_id": "G01", "address": address}))
    assert first.status_code == 201, first.text
    cases_before = await _count(stack, "SELECT count(*) FROM intake.cases")
    seq_before = await _count(stack, "SELECT last_value FROM intake.case_code_seq")

    r = await stack.intake.post("/api/v1/cases/preview", headers=OPERATOR, json={
        "title": "楼上噪音", "description": text, "parties": party,
        "location": {"grid_id": "G01", "address": address}, "people_involved": 60})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["category"]["code"].startswith("neighbor") and p["category"]["label"].startswith("邻里纠纷")
    assert p["risk_level"] in ("yellow", "red") and p["risk_reasons"]
    assert p["duplicate_of"]["case_id"] == first.json()["id"]
    assert await _count(stack, "SELECT count(*) FROM intake.cases") == cases_before
    assert await _count(stack, "SELECT last_value FROM intake.case_code_seq") == seq_before

    bad = await stack.intake.post("/api/v1/cases/preview", headers=OPERATOR,
                                  json={"title": "x", "description": "y", "category": "nope.nothing"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"
