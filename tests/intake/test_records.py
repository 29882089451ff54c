"""The case file's records over the real stack: notes (public on the citizen page or internal), phone and ID numbers
in free text masked and revealed only through the logged reveal, parties added and corrected after registration,
attachments stored for real (type by content, byte-for-byte round trip, scope, redacted copies)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from shared.auth import Role
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, auth, case_body, eventually, unique_phone

OPERATOR = auth(Role.OPERATOR, "S1", "op-records")
MEDIATOR = auth(Role.MEDIATOR, "S1", "med-records")
STREET = auth(Role.STREET_ADMIN, "S1", "street-records")
WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")
OTHER_GRID = auth(Role.GRID_WORKER, "G02", "U-G02-1")

# a PNG as its magic bytes say (signature + IHDR chunk head), then arbitrary bytes: every value 0-255, so a
# round trip that decoded or re-encoded anything would show
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + bytes(200)
PE = b"MZ\x90\x00" + bytes(56) + b"\x80\x00\x00\x00" + bytes(64) + b"PE\x00\x00" + bytes(100)


async def _case(stack: Stack, **overrides: Any) -> tuple[dict[str, Any], str]:
    phone = unique_phone()
    body = case_body(parties=[{"role": "applicant", "name": "王小明", "phone": phone}], **overrides)
    r = await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    return r.json(), phone


async def _visible_to_worker(stack: Stack, case_id: str) -> None:
    async def visible() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{case_id}", headers=WORKER)).status_code == 200

    await eventually(visible, what="the case routed to the G01 worker")


async def _note(stack: Stack, case_id: str, headers: dict[str, str] = OPERATOR, **body: Any) -> dict[str, Any]:
    r = await stack.intake.post(f"/api/v1/cases/{case_id}/notes", headers=headers,
                                json={"kind": "phone_call", "text": "已电话联系申请人", **body})
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_public_note_is_on_the_citizen_page_and_an_internal_one_is_not(stack: Stack) -> None:
    case, phone = await _case(stack)
    await _note(stack, case["id"], kind="home_visit", text="已上门查看漏水情况，约定周三再次协调", visibility="public")
    await _note(stack, case["id"], kind="consultation", text="内部会商：物业责任待定")
    r = await stack.intake.get(f"/api/v1/public/cases/{case['code']}", params={"phone_last4": phone[-4:]})
    assert r.status_code == 200, r.text
    notes = r.json()["notes"]
    assert [(n["kind_label"], n["text"]) for n in notes] == [("上门走访", "已上门查看漏水情况，约定周三再次协调")]
    assert "内部会商" not in r.text
    staff = (await stack.intake.get(f"/api/v1/cases/{case['id']}/notes", headers=OPERATOR)).json()
    assert [n["visibility"] for n in staff] == ["public", "internal"]
    timeline = (await stack.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=OPERATOR)).json()
    assert [t["summary"] for t in timeline if t["kind"] == "note_added"] == ["添加处置记录（上门走访）",
                                                                             "添加处置记录（会商）"]


async def test_a_phone_number_in_a_note_or_the_description_is_masked_and_revealed_only_through_the_log(
        stack: Stack) -> None:
    typed, id_number = "13912345678", "11010519491231002X"
    case, _ = await _case(stack, title=f"漏水，联系{typed}",
                          description=f"楼上漏水，邻居电话{typed}，座机0571-87654321，身份证{id_number}")
    assert typed not in case["description"] and "139****5678" in case["description"]  # the 201 answer too
    await _visible_to_worker(stack, case["id"])
    note = await _note(stack, case["id"], headers=WORKER, text=f"已联系邻居，其电话 139-1234-5678，身份证{id_number}")
    for r in (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=WORKER),
              await stack.intake.get(f"/api/v1/cases/{case['id']}/notes", headers=WORKER),
              await stack.intake.get("/api/v1/cases", headers=WORKER, params={"q": "漏水"})):
        assert r.status_code == 200
        assert typed not in r.text and "1234-5678" not in r.text and id_number not in r.text
        assert "87654321" not in r.text
    got = (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=WORKER)).json()
    assert got["description"] == ("楼上漏水，邻居电话139****5678，座机0571-******21，身份证110105********002X")
    assert note["text"] == "已联系邻居，其电话 139****5678，身份证110105********002X"

    purpose = {"purpose": "调解前核实邻居联系方式"}
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/texts/reveal", headers=WORKER,
                                           json=purpose), 403, "forbidden_role")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/texts/reveal", headers=MEDIATOR, json=purpose)
    assert r.status_code == 200, r.text
    revealed = r.json()
    assert typed in revealed["description"] and typed in revealed["title"]
    assert revealed["notes"] == [{"id": note["id"], "version": 1,
                                  "text": f"已联系邻居，其电话 139-1234-5678，身份证{id_number}"}]
    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=STREET)).json()
    assert [(e["accessed_by"], e["purpose"], e["fields"]) for e in log] == [
        ("med-records", "调解前核实邻居联系方式", ["description", "title", "notes"])]


async def test_notes_take_idempotency_keys_and_edits_need_if_match_and_keep_versions(stack: Stack) -> None:
    case, _ = await _case(stack)
    key = {"Idempotency-Key": str(uuid.uuid4()), **OPERATOR}
    body = {"kind": "mediation", "text": "第一次调解，双方同意继续协商"}
    first = await stack.intake.post(f"/api/v1/cases/{case['id']}/notes", headers=key, json=body)
    again = await stack.intake.post(f"/api/v1/cases/{case['id']}/notes", headers=key, json=body)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    # the replay carries the first answer's headers too (shared.idempotency stores them)
    assert (again.headers["ETag"], again.headers["Location"]) == (first.headers["ETag"], first.headers["Location"])
    assert len((await stack.intake.get(f"/api/v1/cases/{case['id']}/notes", headers=OPERATOR)).json()) == 1
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/notes", headers=key,
                                           json={**body, "text": "别的内容"}), 422, "idempotency_key_reused")

    url = f"/api/v1/cases/{case['id']}/notes/{first.json()['id']}"
    edit = {"text": "第一次调解，双方同意下周继续协商", "visibility": "public"}
    assert_problem(await stack.intake.patch(url, headers=OPERATOR, json=edit), 428, "precondition_required")
    assert_problem(await stack.intake.patch(url, headers={**OPERATOR, "If-Match": '"7"'}, json=edit), 412,
                   "precondition_failed")
    assert_problem(await stack.intake.patch(url, headers={**MEDIATOR, "If-Match": first.headers["ETag"]},
                                            json=edit), 403, "not_note_author")
    r = await stack.intake.patch(url, headers={**OPERATOR, "If-Match": first.headers["ETag"]}, json=edit)
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"' and r.json()["text"] == edit["text"] and r.json()["visibility"] == "public"
    versions = (await stack.intake.get(f"{url}/versions", headers=OPERATOR)).json()
    assert [(v["version"], v["text"], v["visibility"]) for v in versions] == [
        (1, body["text"], "internal"), (2, edit["text"], "public")]
    bad = await stack.intake.post(f"/api/v1/cases/{case['id']}/notes", headers=OPERATOR,
                                  json={"kind": "visit", "text": "x"})
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "kind"
    bad = await stack.intake.post(f"/api/v1/cases/{case['id']}/notes", headers=OPERATOR,
                                  json={"kind": "other", "text": "x", "at": "2999-01-01T00:00:00+08:00"})
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "at"
    assert_problem(await stack.intake.patch(url, headers={**OPERATOR, "If-Match": '"2"'}, json={}), 422,
                   "validation_failed")


async def test_parties_are_added_and_corrected_after_registration(stack: Stack) -> None:
    case, _ = await _case(stack)
    await _visible_to_worker(stack, case["id"])  # routed: no workflow event changes the case's version meanwhile
    url = f"/api/v1/cases/{case['id']}/parties"
    respondent = {"role": "respondent", "name": "李大伟", "phone": "13700001111"}
    bad = await stack.intake.post(url, headers=OPERATOR, json={"party": {**respondent, "phone": "12345"},
                                                               "reason": "调解中得知"})
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "party.phone"
    bad = await stack.intake.post(url, headers=OPERATOR, json={"party": {**respondent, "role": "applicant"},
                                                               "reason": "调解中得知"})
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "party.role"
    assert_problem(await stack.intake.post(url, headers=WORKER, json={"party": respondent, "reason": "调解中得知"}),
                   403, "forbidden_role")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    r = await stack.intake.post(url, headers={**OPERATOR, **key}, json={"party": respondent, "reason": "调解中得知"})
    assert r.status_code == 201, r.text
    party_id = r.json()["party_id"]
    assert r.json()["party"] == {"id": party_id, "role": "respondent", "kind": "person", "name": "李**",
                                 "phone": "137****1111", "id_number": None}
    again = await stack.intake.post(url, headers={**OPERATOR, **key},
                                    json={"party": respondent, "reason": "调解中得知"})
    assert again.json() == r.json() and again.headers["Idempotent-Replayed"] == "true"
    got = (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=OPERATOR))
    assert [p["name"] for p in got.json()["parties"]] == ["王**", "李**"]
    applicant_id = got.json()["parties"][0]["id"]
    assert got.json()["parties"][1]["id"] == party_id and uuid.UUID(applicant_id) != uuid.UUID(party_id)

    fixed = {"party": {**respondent, "name": "李大为"}, "reason": "姓名录错一字"}
    assert_problem(await stack.intake.put(f"{url}/{party_id}", headers=OPERATOR, json=fixed), 428,
                   "precondition_required")
    assert_problem(await stack.intake.put(f"{url}/{party_id}", headers={**OPERATOR, "If-Match": '"1"'}, json=fixed),
                   412, "precondition_failed")
    etag = {**OPERATOR, "If-Match": got.headers["ETag"]}
    assert_problem(await stack.intake.put(f"{url}/{uuid.uuid4()}", headers=etag, json=fixed), 404, "party_not_found")
    assert (await stack.intake.put(f"{url}/1", headers={**OPERATOR, "If-Match": got.headers["ETag"]},
                                   json=fixed)).status_code == 422  # parties are addressed by id, not position
    r = await stack.intake.put(f"{url}/{party_id}", headers={**OPERATOR, "If-Match": got.headers["ETag"]},
                               json=fixed)
    assert r.status_code == 200, r.text
    assert r.json()["party_id"] == party_id
    revealed = (await stack.intake.post(f"/api/v1/cases/{case['id']}/parties/reveal", headers=MEDIATOR,
                                        json={"purpose": "核对被申请人姓名"})).json()
    assert [(p["id"], p["name"]) for p in revealed["parties"]] == [(applicant_id, "王小明"), (party_id, "李大为")]
    timeline = (await stack.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=OPERATOR)).json()
    changes = [(t["kind"], t["summary"], t["data"]) for t in timeline if t["kind"].startswith("party_")]
    assert changes == [("party_added", "添加当事人（被申请人）", {"party_id": party_id, "role": "respondent"}),
                       ("party_corrected", "更正当事人信息（被申请人）", {"party_id": party_id, "fields": ["name"]})]
    assert "李" not in str(timeline)
    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=STREET)).json()
    assert [(e["purpose"], e["fields"]) for e in log] == [("添加当事人：调解中得知", ["name", "phone"]),
                                                          ("更正当事人信息：姓名录错一字", ["name"]),
                                                          ("核对被申请人姓名", ["address", "name", "phone"])]


def _file(data: bytes, content_type: str = "image/png", name: str = "现场照片.png") -> dict[str, Any]:
    return {"file": (name, data, content_type)}


async def test_an_executable_declared_as_png_is_refused(stack: Stack) -> None:
    case, _ = await _case(stack)
    for payload in (ELF, PE):
        r = await stack.intake.post(f"/api/v1/cases/{case['id']}/attachments", headers=OPERATOR,
                                    files=_file(payload))
        error = assert_problem(r, 422, "validation_failed")["errors"][0]
        assert error["field"] == "file" and error["code"] == "file_type_not_allowed"
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/attachments", headers=OPERATOR,
                                files=_file(b"%PDF-1.7\n" + bytes(100)))
    assert assert_problem(r, 422, "validation_failed")["errors"][0]["code"] == "content_type_mismatch"
    assert (await stack.intake.get(f"/api/v1/cases/{case['id']}/attachments", headers=OPERATOR)).json() == []


async def test_a_file_round_trips_byte_for_byte_and_another_grid_gets_404(stack: Stack) -> None:
    case, _ = await _case(stack)
    await _visible_to_worker(stack, case["id"])
    key = {"Idempotency-Key": str(uuid.uuid4())}
    refused = await stack.intake.post(f"/api/v1/cases/{case['id']}/attachments", headers={**WORKER, **key},
                                      files=_file(ELF, "application/octet-stream"))
    assert_problem(refused, 422, "validation_failed")  # a request that failed frees its key for the next try
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/attachments", headers={**WORKER, **key},
                                files=_file(PNG, "application/octet-stream"))
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["content_type"] == "image/png" and meta["size"] == len(PNG)
    assert meta["sha256"] == hashlib.sha256(PNG).hexdigest() and meta["name"] == "现场照片.png"
    again = await stack.intake.post(f"/api/v1/cases/{case['id']}/attachments", headers={**WORKER, **key},
                                    files=_file(PNG, "application/octet-stream"))  # another multipart boundary
    assert again.status_code == 201 and again.json()["id"] == meta["id"]
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == r.headers["Location"]
    other = PNG + b"\x00"  # the same key with other bytes (same name, same size class): not the same request
    assert_problem(await stack.intake.post(f"/api/v1/cases/{case['id']}/attachments", headers={**WORKER, **key},
                                           files=_file(other, "application/octet-stream")), 422,
                   "idempotency_key_reused")
    url = f"/api/v1/cases/{case['id']}/attachments/{meta['id']}/content"
    got = await stack.intake.get(url, headers=WORKER)
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.png"
    assert_problem(await stack.intake.get(url, headers=OTHER_GRID), 404, "case_not_found")
    assert_problem(await stack.intake.get(f"/api/v1/cases/{case['id']}/attachments", headers=OTHER_GRID), 404,
                   "case_not_found")
    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=STREET)).json()
    assert [(e["accessed_by"], e["fields"]) for e in log] == [("U-G01-1", [f"attachment:{meta['id']}:original"])]
    listed = (await stack.intake.get(f"/api/v1/cases/{case['id']}/attachments", headers=WORKER)).json()
    assert [a["id"] for a in listed] == [meta["id"]]


async def test_a_redacted_copy_replaces_an_image_for_readers_without_pii_rights(stack: Stack) -> None:
    case, _ = await _case(stack)
    await _visible_to_worker(stack, case["id"])
    note = await _note(stack, case["id"], kind="home_visit", text="上门拍照")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/notes/{note['id']}/attachments", headers=OPERATOR,
                                files=_file(PNG))
    assert r.status_code == 201, r.text
    meta = r.json()
    assert meta["owner_kind"] == "note" and meta["owner_id"] == note["id"] and meta["redacted"] is False
    redacted = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 300
    url = f"/api/v1/cases/{case['id']}/attachments/{meta['id']}"
    assert_problem(await stack.intake.put(f"{url}/redacted", headers=OPERATOR, files=_file(redacted)), 428,
                   "precondition_required")
    assert_problem(await stack.intake.put(f"{url}/redacted", headers={**WORKER, "If-Match": '"1"'},
                                          files=_file(redacted)), 403, "forbidden_role")
    r = await stack.intake.put(f"{url}/redacted", headers={**OPERATOR, "If-Match": '"1"'}, files=_file(redacted))
    assert r.status_code == 200, r.text
    assert r.json()["redacted"] is True and r.headers["ETag"] == '"2"'
    assert (await stack.intake.get(f"{url}/content", headers=WORKER)).content == redacted
    assert (await stack.intake.get(f"{url}/content", headers=MEDIATOR)).content == PNG
    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=STREET)).json()
    assert [e["fields"] for e in log] == [[f"attachment:{meta['id']}:redacted"],
                                          [f"attachment:{meta['id']}:original"]]
