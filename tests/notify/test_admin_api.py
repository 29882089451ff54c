"""Templates and rules as admin-edited, versioned data; the delivery log and the internal contact APIs' guards."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

from shared.auth import Role
from shared.clock import FrozenClock
from tests.notify.conftest import next_local
from tests.notify.flows import ADMIN, new_case, wait_delivery
from tests.support import Stack, auth

WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")


async def test_template_versions_preview_and_unknown_variables(nstack: Stack) -> None:
    r = await nstack.notify.get("/api/v1/templates/hotspot", headers=WORKER)
    assert r.status_code == 200
    original = r.json()
    assert original["version"] == 0 and "count" in original["variables"]

    assert r.headers["ETag"] == '"0"'
    bad = {"subject": "热点：{{ unit_name }}", "body": "{{ count }} 件，{{ applicant_name }}，{{ secret_thing }}"}
    # an update needs the version read (If-Match)
    r = await nstack.notify.put("/api/v1/templates/hotspot", headers=ADMIN, json=bad)
    assert r.status_code == 428 and r.json()["code"] == "precondition_required"
    at0 = {**ADMIN, "If-Match": '"0"'}
    r = await nstack.notify.put("/api/v1/templates/hotspot", headers=at0, json=bad)
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "invalid_template"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("body", "unknown_variable")] * 2
    assert "'applicant_name'" in problem["errors"][0]["reason"] and "'secret_thing'" in problem["errors"][1]["reason"]

    r = await nstack.notify.put("/api/v1/templates/hotspot", headers=at0, json={"subject": "{% if %}", "body": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "template_syntax"
    r = await nstack.notify.put("/api/v1/templates/hotspot", headers=WORKER, json=bad)
    assert r.status_code == 403
    r = await nstack.notify.put("/api/v1/templates/nope", headers=at0, json={"subject": "a", "body": "b"})
    assert r.status_code == 404 and r.json()["code"] == "template_not_found"

    good = {"subject": "【预警】{{ unit_name }}",
            "body": "{{ unit_name }}近期{{ category }}案件{{ count }}件，请研判。"}
    r = await nstack.notify.put("/api/v1/templates/hotspot", headers={**ADMIN, "If-Match": '"0"'}, json=good)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert (saved["version"], saved["updated_by"]) == (1, "admin-1") and r.headers["ETag"] == '"1"'
    r = await nstack.notify.put("/api/v1/templates/hotspot", headers={**ADMIN, "If-Match": '"0"'}, json=good)
    assert r.status_code == 412 and r.json()["code"] == "precondition_failed" and r.json()["current_version"] == 1

    r = await nstack.notify.post("/api/v1/templates/hotspot/preview", headers=ADMIN, json={})
    assert r.json() == {"key": "hotspot", "subject": "【预警】松涛社区",
                        "body": "松涛社区近期邻里纠纷案件12件，请研判。"}
    r = await nstack.notify.post("/api/v1/templates/hotspot/preview", headers=ADMIN,
                                 json={"body": "{{ count }}件", "variables": {"count": 99}})
    assert r.json()["body"] == "99件"
    r = await nstack.notify.post("/api/v1/templates/hotspot/preview", headers=ADMIN,
                                 json={"body": "{{ phone }}"})
    assert r.status_code == 422 and "'phone'" in r.json()["errors"][0]["reason"]
    # back to the shipped wording, as a third version
    r = await nstack.notify.put("/api/v1/templates/hotspot", headers={**ADMIN, "If-Match": '"1"'},
                                json={"subject": original["subject"], "body": original["body"]})
    assert r.json()["version"] == 2


async def test_rules_are_validated_versioned_and_applied(nstack: Stack, clock: FrozenClock) -> None:
    r = await nstack.notify.get("/api/v1/notification-rules", headers=ADMIN)
    current = r.json()
    now = {**ADMIN, "If-Match": r.headers["ETag"]}
    ids = [rule["id"] for rule in current["doc"]["rules"]]
    assert {"assigned.handlers", "reminder.assignee", "overdue.supervise", "escalated.both", "received.red_risk",
            "resolved.survey", "hotspot.street"} <= set(ids)
    broken: dict[str, Any] = {"rules": [
        {"id": "x", "on": "fq.case.nope.v1", "to": [{"unit": "moon"}], "channels": ["pigeon"], "template": "t"},
        {"id": "y", "on": "fq.case.resolved.v1", "to": [{"applicant": True}], "channels": ["inbox"],
         "template": "survey"},
    ]}
    r = await nstack.notify.put("/api/v1/notification-rules", headers=now, json=broken)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"rules[0].on", "rules[0].to[0].unit", "rules[0].channels[0]", "rules[0].template",
            "rules[1].channels"} <= fields
    r = await nstack.notify.put("/api/v1/notification-rules", headers=WORKER, json=current["doc"])
    assert r.status_code == 403

    # a rule added by an admin applies to the next event: the community admin hears of every assignment too
    doc = {"rules": [*current["doc"]["rules"], {"id": "assigned.community", "on": "fq.case.assigned.v1",
                                                "to": [{"unit": "parent", "roles": ["community_admin"]}],
                                                "channels": ["inbox"], "template": "case_assigned"}]}
    r = await nstack.notify.put("/api/v1/notification-rules", headers={**ADMIN, "If-Match": str(current["version"])},
                                json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == current["version"] + 1 and r.json()["updated_by"] == "admin-1"
    try:
        clock.set(next_local(clock, time(10, 0)))
        case, _, _ = await new_case(nstack)
        d = await wait_delivery(nstack, case["id"], rule_id="assigned.community")
        assert (d.recipient_id, d.channel, d.status) == ("U-C1-1", "inbox", "delivered")
    finally:
        r = await nstack.notify.put("/api/v1/notification-rules", json=current["doc"],
                                    headers={**ADMIN, "If-Match": f'"{current["version"] + 1}"'})
        assert r.status_code == 200


async def test_saved_rules_show_the_shipped_rules_they_lack(nstack: Stack) -> None:
    read = await nstack.notify.get("/api/v1/notification-rules", headers=ADMIN)
    current = read.json()
    # saved before this release shipped extension_rejected.assignee: the admin is shown it, ready to add
    older = {"rules": [r for r in current["doc"]["rules"] if r["id"] != "extension_rejected.assignee"]}
    r = await nstack.notify.put("/api/v1/notification-rules", headers={**ADMIN, "If-Match": read.headers["ETag"]},
                                json=older)
    assert r.status_code == 200, r.text
    try:
        assert [m["id"] for m in r.json()["shipped_missing"]] == ["extension_rejected.assignee"]
        got = (await nstack.notify.get("/api/v1/notification-rules", headers=ADMIN)).json()
        assert got["shipped_missing"] == r.json()["shipped_missing"]
        assert got["shipped_missing"][0]["on"] == "fq.case.extension_rejected.v1"
    finally:
        r = await nstack.notify.put("/api/v1/notification-rules", headers={**ADMIN, "If-Match": r.headers["ETag"]},
                                    json={"rules": [*older["rules"], *r.json()["shipped_missing"]]})
        assert r.status_code == 200 and r.json()["shipped_missing"] == []


async def test_the_delivery_log_is_for_admins_of_the_cases_units(nstack: Stack, clock: FrozenClock) -> None:
    clock.set(next_local(clock, time(10, 0)))
    case, _, _ = await new_case(nstack)
    await wait_delivery(nstack, case["id"], channel="inbox")
    url = "/api/v1/notifications"
    r = await nstack.notify.get(url, params={"case_id": case["id"]}, headers=auth(Role.COMMUNITY_ADMIN, "C1"))
    assert r.status_code == 200
    items = r.json()["items"]
    assert items and all(i["case_id"] == case["id"] for i in items)
    assert {"rule_id", "channel", "recipient_id", "status", "attempts"} <= set(items[0])
    assert r.json()["items"][0]["recipient_id"] == "U-G01-1"
    assert (await nstack.notify.get(url, params={"case_id": case["id"]},
                                    headers=auth(Role.STREET_ADMIN, "S1"))).status_code == 200
    r = await nstack.notify.get(url, params={"case_id": case["id"]}, headers=auth(Role.COMMUNITY_ADMIN, "C2"))
    assert r.status_code == 404  # another community: not in scope
    r = await nstack.notify.get(url, params={"case_id": case["id"]}, headers=WORKER)
    assert r.status_code == 403
    r = await nstack.notify.get(url, params={"case_id": "not-a-uuid"}, headers=ADMIN)
    assert r.status_code == 422 and "case_id" in r.text


async def test_internal_contact_apis_answer_services_only(nstack: Stack) -> None:
    member = "/api/v1/internal/members/U-G01-1/contact"
    r = await nstack.routing.get(member, headers=auth(Role.SERVICE, None, "svc-notify"))
    assert r.status_code == 200 and r.json()["phone"] == "13900001101"
    for headers in (ADMIN, auth(Role.STREET_ADMIN, "S1")):
        assert (await nstack.routing.get(member, headers=headers)).status_code == 403
    assert (await nstack.routing.get(member)).status_code == 401
    r = await nstack.routing.get("/api/v1/internal/members/nobody/contact", headers=auth(Role.SERVICE, None))
    assert r.status_code == 404
    case_url = f"/api/v1/internal/cases/{uuid.uuid4()}/applicant-contact"
    r = await nstack.intake.post(case_url, headers=ADMIN, json={"purpose": "想看看电话号码"})
    assert r.status_code == 403
    r = await nstack.intake.post(case_url, headers=auth(Role.SERVICE, None), json={"purpose": "回访短信"})
    assert r.status_code == 404
    r = await nstack.intake.post(case_url, headers=auth(Role.SERVICE, None), json={})
    assert r.status_code == 422 and "purpose" in r.text
