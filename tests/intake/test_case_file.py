"""The case file over the real stack: timeline, follow-up (回访) and risk changes."""

from __future__ import annotations

from typing import Any

from shared.auth import Role
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, act, auth, case_body, eventually

OPERATOR = auth(Role.OPERATOR, "S1", "op-file")
WORKER = auth(Role.GRID_WORKER, "G03", "U-G03-1")


async def _resolved_case(stack: Stack) -> dict[str, Any]:
    case = (await stack.intake.post("/api/v1/cases", json=case_body(location={"grid_id": "G03"}),
                                    headers=OPERATOR)).json()

    async def assignment() -> dict[str, Any] | None:
        r = await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=WORKER)
        return r.json()["current"] if r.status_code == 200 else None

    a = await eventually(assignment, what="assignment")
    assert (await act(stack.routing, a["id"], "accept", WORKER)).status_code == 200
    r = await act(stack.routing, a["id"], "resolve", WORKER, {"outcome": "resolved"})
    assert r.status_code == 200

    async def resolved() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=WORKER)).json()["status"] == "resolved"

    await eventually(resolved, what="resolved in intake")
    return case


async def test_timeline_follow_up_and_its_event(stack: Stack) -> None:
    case = await _resolved_case(stack)
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/feedback", headers=OPERATOR,
                                json={"result": "satisfied", "comment": "王先生表示满意"})
    assert r.status_code == 201, r.text
    assert r.json()["result"] == "satisfied"
    timeline = (await stack.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=WORKER)).json()
    assert [t["kind"] for t in timeline] == ["received", "assigned", "accepted", "resolved", "feedback"]
    assert timeline[0]["summary"] == f"已受理（来访），案件编号 {case['code']}"
    assert timeline[1]["summary"] == "已派发至松涛社区第三网格办理"
    assert timeline[3]["summary"] == "调解成功，已办结"
    assert timeline[4]["summary"] == "回访结果：满意"
    assert all("王" not in t["summary"] for t in timeline)


async def test_follow_up_before_resolution_is_409(stack: Stack) -> None:
    case = (await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/feedback", headers=OPERATOR, json={"result": "satisfied"})
    assert_problem(r, 409, "case_not_resolved")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/feedback", headers=OPERATOR, json={"result": "happy"})
    assert assert_problem(r, 422, "validation_failed")["errors"][0]["field"] == "result"


async def test_handlers_raise_risk_only_street_admins_lower_it(stack: Stack) -> None:
    case = (await stack.intake.post("/api/v1/cases", json=case_body(location={"grid_id": "G03"}),
                                    headers=OPERATOR)).json()
    assert case["risk_level"] == "blue"

    async def visible() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=WORKER)).status_code == 200

    await eventually(visible, what="case visible to the G03 worker")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/risk", headers=WORKER,
                                json={"level": "red", "reasons": ["threats_of_violence"]})
    assert r.status_code == 200, r.text
    assert r.json()["risk_level"] == "red" and "threats_of_violence" in r.json()["risk_reasons"]
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/risk", headers=WORKER,
                                           json={"level": "red", "reasons": ["again"]}), 409, "risk_unchanged")
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/risk", headers=WORKER,
                                           json={"level": "blue", "reasons": ["calmed down"]}), 403, "forbidden_role")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/risk", headers=auth(Role.STREET_ADMIN, "S1"),
                                json={"level": "yellow", "reasons": ["calmed down"]})
    assert r.status_code == 200 and r.json()["risk_level"] == "yellow"
    timeline = (await stack.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=WORKER)).json()
    assert [t["kind"] for t in timeline if t["kind"] == "risk_changed"] == ["risk_changed", "risk_changed"]
    other = auth(Role.GRID_WORKER, "G01")
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/risk", headers=other,
                                           json={"level": "red", "reasons": ["x"]}), 404, "case_not_found")


async def test_list_filters_scope_and_stable_pages(stack: Stack) -> None:
    import uuid as _uuid
    from datetime import UTC, datetime

    tag = _uuid.uuid4().hex[:8]
    since = datetime.now(UTC).isoformat()
    bodies = [
        case_body(title=f"{tag} 噪音", category="neighbor.noise", location={"grid_id": "G05"}),
        case_body(title=f"{tag} 漏水", category="neighbor.water", channel="phone", location={"grid_id": "G05"}),
        case_body(title=f"{tag} 欠薪", category="labor.wage_arrears", request_type="help",
                  location={"grid_id": "G05"}, people_involved=6),
    ]
    ids = [(await stack.intake.post("/api/v1/cases", json=b, headers=OPERATOR)).json()["id"] for b in bodies]
    street = auth(Role.STREET_ADMIN, "S1")

    async def listed(**params: Any) -> list[str]:
        r = await stack.intake.get("/api/v1/cases", params={"q": tag, "from": since, **params}, headers=street)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await listed() == ids[::-1]  # newest first
    assert await listed(category="neighbor") == ids[1::-1]
    assert await listed(category="labor.wage_arrears") == [ids[2]]
    assert await listed(channel="phone") == [ids[1]]
    assert await listed(request_type="help", risk_level="red") == [ids[2]]  # six workers: a group dispute

    async def all_assigned() -> bool:  # the wage dispute of six goes to the street by the routing rules
        return (await listed(status="assigned", unit_id="G05") == ids[1::-1]
                and await listed(status="assigned", unit_id="S1") == ids[::-1])

    await eventually(all_assigned, what="two cases assigned to G05, the group wage dispute to S1")
    assert await listed(unit_id="G01") == []
    # a grid elsewhere sees none of them; pages neither skip nor repeat while a case arrives
    assert (await stack.intake.get("/api/v1/cases", params={"q": tag}, headers=auth(Role.GRID_WORKER, "G01"))
            ).json()["items"] == []
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": tag, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await stack.intake.get("/api/v1/cases", params=params, headers=street)).json()
        seen += [c["id"] for c in page["items"]]
        if len(seen) == 1:
            await stack.intake.post("/api/v1/cases", json=case_body(title=f"{tag} 新来的"), headers=OPERATOR)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    r = await stack.intake.get("/api/v1/cases", params={"from": "2026-01-01T00:00:00"}, headers=street)
    assert assert_problem(r, 422, "validation_failed")["errors"][0]["field"] == "query.from"
    r = await stack.intake.get("/api/v1/cases", params={"status": "lost"}, headers=street)
    assert_problem(r, 422, "validation_failed")


async def test_full_personal_data_only_with_a_purpose_and_every_read_is_logged(stack: Stack) -> None:
    # an ID number no other test uses: the same applicant with the same story would be linked as a duplicate
    party = {"role": "applicant", "name": "王小明", "phone": "13812345678", "id_number": "110102198001011239"}
    body = case_body(parties=[party], location={"grid_id": "G01", "address": "松涛花园3号楼201室"})
    case = (await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)).json()
    assert case["parties"][0]["phone"] == "138****5678" and case["parties"][0]["name"] == "王**"
    assert case["parties"][0]["id_number"] == "110102********1239"
    mediator = auth(Role.MEDIATOR, "S1", "med-7")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/parties/reveal", headers=mediator,
                                json={"purpose": "电话联系申请人安排调解"})
    assert r.status_code == 200, r.text
    party = r.json()["parties"][0]
    assert (party["name"], party["phone"], party["id_number"]) == ("王小明", "13812345678", "110102198001011239")
    assert r.json()["address"] == "松涛花园3号楼201室"
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/parties/reveal", headers=mediator,
                                           json={}), 422, "validation_failed")
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/parties/reveal",
                                           headers=auth(Role.DISTRICT_VIEWER, "D1"), json={"purpose": "看看而已"}),
                   403, "forbidden_role")
    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=auth(Role.STREET_ADMIN, "S1")))
    assert log.status_code == 200, log.text
    entries = log.json()
    assert len(entries) == 1
    assert entries[0]["accessed_by"] == "med-7" and entries[0]["purpose"] == "电话联系申请人安排调解"
    assert entries[0]["fields"] == ["address", "id_number", "name", "phone"]


async def test_citizen_progress_needs_code_and_phone_and_shows_no_personal_data(stack: Stack) -> None:
    limiter = stack.apps["intake"].state.deps.public_limiter
    limiter._hits.clear()
    case = await _resolved_case(stack)
    last4 = case["parties"][0]["phone"][-4:]
    ok = await stack.intake.get(f"/api/v1/public/cases/{case['code']}", params={"phone_last4": last4})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["status"] == "resolved" and body["status_label"] == "已办结"
    assert [t["summary"] for t in body["timeline"]][-1] == "调解成功，已办结"
    text = ok.text
    for secret in ("王小明", last4, "松涛花园", "U-G03-1"):
        assert secret not in text
    wrong = "0000" if last4 != "0000" else "1111"
    wrong_phone = await stack.intake.get(f"/api/v1/public/cases/{case['code']}", params={"phone_last4": wrong})
    wrong_code = await stack.intake.get("/api/v1/public/cases/FQ-20200101-999999", params={"phone_last4": last4})
    assert wrong_phone.status_code == wrong_code.status_code == 404
    assert {k: v for k, v in wrong_phone.json().items() if k != "instance"} == {
        k: v for k, v in wrong_code.json().items() if k != "instance"}
    assert_problem(await stack.intake.get(f"/api/v1/public/cases/{case['code']}", params={"phone_last4": "56"}),
                   422, "validation_failed")
    statuses = [(await stack.intake.get(f"/api/v1/public/cases/{case['code']}",
                                        params={"phone_last4": last4})).status_code for _ in range(limiter.limit)]
    assert 429 in statuses
    limited = await stack.intake.get(f"/api/v1/public/cases/{case['code']}", params={"phone_last4": last4})
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    limiter._hits.clear()


async def test_missing_category_and_type_are_classified_and_staff_can_override(stack: Stack) -> None:
    text = "我们六个工人在工地干了三个月，老板一直拖欠工资不给，想请求帮助讨薪。"
    body = case_body(title="拖欠工资", description=text)
    del body["request_type"]
    r = await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["category"] == "labor.wage_arrears" and case["classified_by"] == "classifier"
    assert 0 < case["category_confidence"] <= 1 and 0 < case["request_type_confidence"] <= 1
    assert case["category_label"] == "劳动争议/拖欠工资" or case["category_label"].startswith("劳动")
    assert case["request_type"] in {"help", "dispute", "complaint"}

    url, change = f"/api/v1/cases/{case['id']}/category", {"category": "labor.contract", "request_type": "dispute"}
    # an update needs the version read: none → 428, an old one → 412 with the current ETag
    assert_problem(await stack.intake.put(url, headers=OPERATOR, json=change), 428, "precondition_required")
    stale = await stack.intake.put(url, headers={**OPERATOR, "If-Match": '"0"'}, json=change)
    assert assert_problem(stale, 412, "precondition_failed")["current_version"] == case["version"]
    read = await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=OPERATOR)
    r = await stack.intake.put(url, headers={**OPERATOR, "If-Match": read.headers["ETag"]}, json=change)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{r.json()["version"]}"' != read.headers["ETag"]
    fixed = r.json()
    assert (fixed["category"], fixed["request_type"], fixed["classified_by"]) == ("labor.contract", "dispute", "staff")
    assert fixed["category_confidence"] is None
    timeline = (await stack.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=OPERATOR)).json()
    assert timeline[-1]["kind"] == "reclassified" and timeline[-1]["data"]["from"] == "labor.wage_arrears"
    now = {**OPERATOR, "If-Match": r.headers["ETag"]}
    assert_problem(await stack.intake.put(url, headers=now, json={"category": "labor.contract"}), 409,
                   "classification_unchanged")
    bad = await stack.intake.put(url, headers=now, json={"category": "space.aliens"})
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["code"] == "unknown_category"


async def test_a_given_category_must_be_in_the_taxonomy(stack: Stack) -> None:
    r = await stack.intake.post("/api/v1/cases", json=case_body(category="neighbor.dragons"), headers=OPERATOR)
    problem = assert_problem(r, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "category"
    given = (await stack.intake.post("/api/v1/cases", json=case_body(category="neighbor.water"),
                                     headers=OPERATOR)).json()
    assert given["classified_by"] == "staff" and given["category_confidence"] is None


async def test_the_same_applicant_again_within_90_days_is_a_repeat_visit(stack: Stack) -> None:
    from tests.support import unique_phone

    phone = unique_phone()
    first = case_body(parties=[{"role": "applicant", "name": "李四", "phone": phone}])
    one = (await stack.intake.post("/api/v1/cases", json=first, headers=OPERATOR)).json()
    assert one["risk_level"] == "blue"
    spaced = phone[:3] + " " + phone[3:7] + "-" + phone[7:]  # the same number written differently
    again = case_body(parties=[{"role": "applicant", "name": "李四", "phone": spaced}])
    two = (await stack.intake.post("/api/v1/cases", json=again, headers=OPERATOR)).json()
    assert two["risk_level"] == "yellow" and two["risk_reasons"] == ["repeat_applicant(cases:2)"]
    other = (await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)).json()
    assert other["risk_level"] == "blue"


async def test_each_channel_carries_its_own_fields(stack: Stack) -> None:
    transfer = {"organization": "青澜区公安分局鹭鸣派出所", "reference": "JQ-2026-1123-07"}
    r = await stack.intake.post("/api/v1/cases", json=case_body(channel="police_transfer", transfer=transfer),
                                headers=OPERATOR)
    assert r.status_code == 201, r.text
    assert r.json()["transfer"] == transfer
    missing = await stack.intake.post("/api/v1/cases", json=case_body(channel="court_transfer"), headers=OPERATOR)
    assert assert_problem(missing, 422, "validation_failed")["errors"][0]["field"] == "transfer"
    stray = await stack.intake.post("/api/v1/cases", json=case_body(transfer=transfer), headers=OPERATOR)
    assert assert_problem(stray, 422, "validation_failed")["errors"][0]["field"] == "transfer"

    patrol = {"reporter_id": "U-G02-1", "grid_id": "G02"}
    body = case_body(channel="grid_patrol", patrol=patrol, location={"address": "听松苑"},
                     attachments=[{"name": "现场.jpg", "content_type": "image/jpeg", "size": 120034,
                                   "sha256": "a" * 64}])
    r = await stack.intake.post("/api/v1/cases", json=body, headers=auth(Role.GRID_WORKER, "G02", "U-G02-1"))
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["patrol"] == patrol and got["location"]["grid_id"] == "G02"
    assert got["attachments"][0]["name"] == "现场.jpg"
    no_patrol = await stack.intake.post("/api/v1/cases", json=case_body(channel="grid_patrol"), headers=OPERATOR)
    assert assert_problem(no_patrol, 422, "validation_failed")["errors"][0]["field"] == "patrol"
    bad_file = case_body(attachments=[{"name": "x", "content_type": "image", "size": -1, "sha256": "zz"}])
    fields = {e["field"] for e in assert_problem(
        await stack.intake.post("/api/v1/cases", json=bad_file, headers=OPERATOR), 422, "validation_failed")["errors"]}
    assert fields == {"attachments.0.content_type", "attachments.0.size", "attachments.0.sha256"}


async def test_the_same_dispute_by_phone_then_walk_in_is_linked_not_routed_twice(stack: Stack) -> None:
    from tests.support import unique_phone

    applicant = [{"role": "applicant", "name": "赵六", "phone": unique_phone()}]
    by_phone = case_body(channel="phone", parties=applicant, location={"grid_id": "G06"},
                         description="楼上卫生间漏水到我家天花板，协商无果，请求调解。")
    first = (await stack.intake.post("/api/v1/cases", json=by_phone, headers=OPERATOR)).json()
    walk_in = case_body(channel="walk_in", parties=applicant, location={"grid_id": "G06"},
                        description="来访反映：楼上卫生间一直漏水，渗到我家天花板，跟楼上协商没有结果，希望社区帮忙调解。")
    second = (await stack.intake.post("/api/v1/cases", json=walk_in, headers=OPERATOR)).json()
    assert second["status"] == "merged" and second["duplicate_of"] == first["id"]
    unrelated = case_body(channel="walk_in", parties=applicant, location={"grid_id": "G06"},
                          description="另外，小区门口的路灯坏了一个月了，晚上出行不便。")
    third = (await stack.intake.post("/api/v1/cases", json=unrelated, headers=OPERATOR)).json()
    assert third["status"] == "received" and third["duplicate_of"] is None

    admin = auth(Role.ADMIN, None)

    async def third_routed() -> bool:
        return (await stack.routing.get(f"/api/v1/cases/{third['id']}/routing", headers=admin)).status_code == 200

    await eventually(third_routed, what="the unrelated case routed")  # by now the merged one would have been too
    assert_problem(await stack.routing.get(f"/api/v1/cases/{second['id']}/routing", headers=admin), 404,
                   "case_not_found")
    kinds = [t["kind"] for t in (await stack.intake.get(f"/api/v1/cases/{first['id']}/timeline",
                                                        headers=admin)).json()]
    assert "duplicate_linked" in kinds
    # a retelling of a different matter at the same address is only suggested
    addr = {"address": "桂园新村9号楼302室"}
    first_text, other_text = "楼道里堆满杂物，影响通行。", "楼道灯坏了，晚上影响通行，请物业维修。"  # similarity 0.4
    a = (await stack.intake.post("/api/v1/cases", json=case_body(location=addr, description=first_text),
                                 headers=OPERATOR)).json()
    b = (await stack.intake.post("/api/v1/cases", json=case_body(location=addr, description=other_text),
                                 headers=OPERATOR)).json()
    assert b["duplicate_of"] is None
    assert [c["case_id"] for c in b["duplicate_candidates"]] == [a["id"]]


async def test_registering_needs_a_unit_unless_the_token_is_global(stack: Stack) -> None:
    """An operator whose token names no unit would register a case only admins can see: 403 no_unit, nothing
    written (the same answer as every endpoint that needs a unit). Service and admin tokens register as before."""
    body = case_body(title="无单位令牌登记的案件")
    r = await stack.intake.post("/api/v1/cases", json=body, headers=auth(Role.OPERATOR, None, "op-no-unit"))
    assert_problem(r, 403, "no_unit")
    admin = auth(Role.ADMIN, None, "admin-file")
    listed = (await stack.intake.get("/api/v1/cases", params={"q": "无单位令牌登记的案件"}, headers=admin)).json()
    assert listed["items"] == []
    for token in (auth(Role.SERVICE, None, "svc-file"), admin):
        created = await stack.intake.post("/api/v1/cases", json=case_body(), headers=token)
        assert created.status_code == 201, created.text
