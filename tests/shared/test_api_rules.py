"""Common API rules every service follows: auth, scope, problem responses."""

from __future__ import annotations

from typing import Any

from intake_svc.handlers.registration import request_hash
from intake_svc.schemas import CaseCreate
from intake_svc.store.registration import REGISTRATION_POOL
from shared.auth import Role
from tests.support import Stack, auth, case_body, eventually

OPERATOR = auth(Role.OPERATOR, "S1", "op-rules")


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["code"] == code and body["detail"] and body["title"]
    return body


async def test_no_token_is_401_on_every_service(stack: Stack) -> None:
    for client, path in ((stack.intake, "/api/v1/cases/00000000-0000-0000-0000-000000000000"),
                         (stack.routing, "/api/v1/assignments"), (stack.notify, "/api/v1/inbox"),
                         (stack.analytics, "/api/v1/kpis")):
        r = await client.get(path)
        assert_problem(r, 401, "missing_token")
        assert r.headers["www-authenticate"].startswith("Bearer")


async def test_a_forged_or_expired_token_is_401(stack: Stack) -> None:
    forged = auth(Role.ADMIN, None)["Authorization"][:-4] + "abcd"
    assert_problem(await stack.intake.get("/api/v1/cases/00000000-0000-0000-0000-000000000000",
                                          headers={"Authorization": forged}), 401, "invalid_token")


async def test_a_token_scoped_to_another_grid_gets_404(stack: Stack) -> None:
    case = (await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()
    g01, g02 = auth(Role.GRID_WORKER, "G01"), auth(Role.GRID_WORKER, "G02")

    async def assigned() -> bool:
        r = await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=g01)
        return r.status_code == 200 and r.json()["status"] == "assigned"

    await eventually(assigned, what="assignment to G01")
    assert_problem(await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=g02), 404, "case_not_found")
    assert_problem(await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=g02), 404,
                   "case_not_found")
    assignment = (await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=g01)).json()["current"]
    assert_problem(await stack.routing.post(f"/api/v1/assignments/{assignment['id']}/accept",
                                            headers={**g02, "If-Match": '"1"'}),
                   404, "assignment_not_found")
    # the community above G01 and the street see it
    for unit, role in (("C1", Role.COMMUNITY_ADMIN), ("S1", Role.STREET_ADMIN)):
        assert (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=auth(role, unit))).status_code == 200
    # analytics: G02 cannot ask for G01's numbers
    assert_problem(await stack.analytics.get("/api/v1/kpis", params={"unit_id": "G01"}, headers=g02), 404,
                   "unit_not_found")


async def test_a_role_that_may_not_act_gets_403(stack: Stack) -> None:
    viewer = auth(Role.DISTRICT_VIEWER, "D1")
    assert_problem(await stack.intake.post("/api/v1/cases", json=case_body(), headers=viewer), 403,
                   "forbidden_role")
    assert_problem(await stack.routing.post("/api/v1/org/import", json={"units": []},
                                            headers=auth(Role.GRID_WORKER, "G01")), 403, "forbidden_role")


async def test_invalid_input_is_422_naming_each_field(stack: Stack) -> None:
    body = case_body(channel="fax", title="")
    body["parties"][0]["phone"] = "12345"
    body["parties"][0]["id_number"] = "110105194912310021"  # wrong check digit
    body["location"]["lat"] = 123
    r = await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    problem = assert_problem(r, 422, "validation_failed")
    fields = {e["field"]: e for e in problem["errors"]}
    assert set(fields) == {"channel", "title", "parties.0.phone", "parties.0.id_number", "location.lat"}
    assert "check digit" in fields["parties.0.id_number"]["reason"]
    assert "mobile" in fields["parties.0.phone"]["reason"]
    assert all(e["code"] and e["reason"] for e in problem["errors"])


async def test_malformed_json_and_unknown_fields_are_422(stack: Stack) -> None:
    r = await stack.intake.post("/api/v1/cases", content=b"{not json", headers={**OPERATOR,
                                "content-type": "application/json"})
    assert_problem(r, 422, "validation_failed")
    r = await stack.intake.post("/api/v1/cases", json=case_body(colour="red"), headers=OPERATOR)
    problem = assert_problem(r, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "colour"


async def test_bad_ids_and_queries_are_4xx_not_500(stack: Stack) -> None:
    admin = auth(Role.ADMIN, None)
    problem = assert_problem(await stack.intake.get("/api/v1/cases/not-a-uuid", headers=admin), 422,
                             "validation_failed")
    assert problem["errors"][0]["field"] == "path.case_id"
    assert_problem(await stack.routing.get("/api/v1/assignments", params={"cursor": "%%%"}, headers=admin), 422,
                   "invalid_cursor")
    assert_problem(await stack.analytics.get("/api/v1/kpis", params={"from": "2026-02-01", "to": "2026-01-01"},
                                             headers=admin), 422, "validation_failed")
    assert_problem(await stack.routing.get("/api/v1/nowhere", headers=admin), 404, "not_found")


async def test_idempotency_key_replays_the_same_answer_and_rejects_another_body(stack: Stack) -> None:
    headers = {**OPERATOR, "Idempotency-Key": "idem-test-1"}
    body = case_body()
    first = await stack.intake.post("/api/v1/cases", json=body, headers=headers)
    again = await stack.intake.post("/api/v1/cases", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await stack.intake.post("/api/v1/cases", json={**body, "title": "另一件事"}, headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")


async def test_health_readiness_and_metrics(stack: Stack) -> None:
    for client in stack.clients.values():
        assert (await client.get("/healthz")).json()["status"] == "ok"
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == "ok" and ready.json()["checks"]["broker"] == "ok"
        metrics = (await client.get("/metrics")).text
        assert "fq_http_requests_total" in metrics and "fq_outbox_backlog" in metrics
        assert "fq_outbox_oldest_unpublished_seconds" in metrics
    intake_metrics = (await stack.intake.get("/metrics")).text
    assert 'route="/api/v1/cases/{case_id}"' in intake_metrics  # labelled by route template, not by id


async def test_assignment_pages_neither_skip_nor_repeat_while_cases_arrive(stack: Stack) -> None:
    admin, c2 = auth(Role.ADMIN, None), auth(Role.COMMUNITY_ADMIN, "C2")
    ids = [(await stack.intake.post("/api/v1/cases", json=case_body(location={"grid_id": "G04"}),
                                    headers=OPERATOR)).json()["id"] for _ in range(5)]

    async def all_routed() -> bool:
        got = [await stack.routing.get(f"/api/v1/cases/{i}/routing", headers=admin) for i in ids]
        return all(r.status_code == 200 for r in got)

    await eventually(all_routed, what="five assignments under C2")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, "unit_id": "G04", **({"cursor": cursor} if cursor else {})}
        page = (await stack.routing.get("/api/v1/assignments", params=params, headers=c2)).json()
        seen += [a["id"] for a in page["items"]]
        assert all(a["unit_id"] == "G04" for a in page["items"])
        if len(seen) == 2:  # a newer case arrives between pages: it must not shift what follows
            await stack.intake.post("/api/v1/cases", json=case_body(location={"grid_id": "G04"}), headers=OPERATOR)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and len(seen) >= 5
    assert_problem(await stack.routing.get("/api/v1/assignments", params={"unit_id": "C1"}, headers=c2), 404,
                   "unit_not_found")


async def test_a_concurrent_request_with_the_same_key_is_409_and_a_failed_one_frees_the_key(stack: Stack) -> None:
    import asyncio

    headers = {**OPERATOR, "Idempotency-Key": "idem-race-1"}
    body = case_body()
    answers = await asyncio.gather(*(stack.intake.post("/api/v1/cases", json=body, headers=headers) for _ in range(4)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}, codes
    created = {r.json()["id"] for r in answers if r.status_code == 201}
    assert len(created) == 1, "one case, whatever the others were told"
    for r in answers:
        if r.status_code == 409:
            assert_problem(r, 409, "idempotency_in_progress")
    # a request that fails validation inside the handler does not keep the key
    bad = {**case_body(), "category": "neighbor.dragons"}
    failed = await stack.intake.post("/api/v1/cases", json=bad, headers={**OPERATOR, "Idempotency-Key": "idem-2"})
    assert_problem(failed, 422, "validation_failed")
    fixed = await stack.intake.post("/api/v1/cases", json={**bad, "category": "neighbor.water"},
                                    headers={**OPERATOR, "Idempotency-Key": "idem-2"})
    assert fixed.status_code == 201, fixed.text


async def test_a_claim_abandoned_for_a_minute_or_a_key_older_than_a_day_can_be_used_again(stack: Stack) -> None:
    pool = stack.apps["intake"].state.runtime.state[REGISTRATION_POOL]
    body = case_body()
    first = await stack.intake.post("/api/v1/cases", json=body, headers={**OPERATOR, "Idempotency-Key": "idem-old"})
    assert first.status_code == 201
    row = await pool.fetchrow("SELECT principal FROM intake.idempotency_keys WHERE key = 'idem-old'")  # OPERATOR's sub
    # the same key, 25 hours later, for another case: a new case
    await pool.execute("UPDATE intake.idempotency_keys SET created_at = now() - interval '25 hours' "
                       "WHERE key = 'idem-old'")
    later = await stack.intake.post("/api/v1/cases", json=case_body(),
                                    headers={**OPERATOR, "Idempotency-Key": "idem-old"})
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"], later.text
    # a claim whose request died two minutes ago (status 0): taken over; a fresh one in progress: 409
    await pool.execute("INSERT INTO intake.idempotency_keys (key, principal, request_hash, status_code, response, "
                       "created_at) VALUES ('idem-dead', $1, 'x', 0, '{}', now() - interval '2 minutes'), "
                       "('idem-busy', $1, $2, 0, '{}', now())", row["principal"],
                       request_hash(CaseCreate.model_validate(body)))
    taken = await stack.intake.post("/api/v1/cases", json=body, headers={**OPERATOR, "Idempotency-Key": "idem-dead"})
    assert taken.status_code == 201, taken.text
    busy = await stack.intake.post("/api/v1/cases", json=body, headers={**OPERATOR, "Idempotency-Key": "idem-busy"})
    assert_problem(busy, 409, "idempotency_in_progress")
