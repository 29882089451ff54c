"""The case file's documents over the real stack: a 人民调解协议书 drafted, edited with If-Match, rendered as the
national-format PDF (its text read back with pypdf: the parties' names and ID numbers, the terms) with the render
in the access log; the signed scan filed; a 司法确认 that needs a signed agreement, confirmed with a ruling number
and counted by analytics; the 受理登记表; scope (another grid's worker gets 404) and bad input (422 naming the
field)."""

from __future__ import annotations

import io
import time
import uuid
from datetime import date, timedelta
from typing import Any

from pypdf import PdfReader

from shared.auth import Role
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, act, auth, case_body, eventually, id_number, unique_phone

OPERATOR = auth(Role.OPERATOR, "S1", "op-docs")
MEDIATOR = auth(Role.MEDIATOR, "S1", "med-docs")
STREET = auth(Role.STREET_ADMIN, "S1", "street-docs")
WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")
OTHER_GRID = auth(Role.GRID_WORKER, "G02", "U-G02-1")
RESPONDENT = {"role": "respondent", "name": "司马青云", "phone": "13766667777", "id_number": "110101199003074514"}
TERMS = "被申请人于2026年12月31日前一次性赔偿申请人漏水损失人民币三千元整"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))




async def _case(stack: Stack) -> dict[str, Any]:
    """A case of its own (another applicant each time: the same one would be linked as a duplicate)."""
    n = uuid.uuid4().int
    body = case_body(parties=[{"role": "applicant", "name": "欧阳春花", "phone": unique_phone(),
                               "id_number": id_number(n)}], description=f"楼上漏水第{n % 10**6}次，要求赔偿")
    r = await stack.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    case: dict[str, Any] = r.json()
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/parties", headers=OPERATOR,
                                json={"party": RESPONDENT, "reason": "调解中确认被申请人"})
    assert r.status_code == 201, r.text

    async def routed() -> bool:
        return (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=WORKER)).status_code == 200

    await eventually(routed, what="the case routed to G01")
    return case


def _agreement(**overrides: Any) -> dict[str, Any]:
    return {"facts": "申请人家中因楼上卫生间漏水受损，双方就赔偿数额发生争议", "terms": TERMS,
            "performance_way": "by_deadline", "performance_due": (date.today() + timedelta(days=20)).isoformat(),
            "mediators": ["med-docs", "U-G01-1"], "committee": "鹭鸣街道人民调解委员会", **overrides}


async def _draft(stack: Stack, case_id: str, **overrides: Any) -> tuple[dict[str, Any], str]:
    r = await stack.intake.post(f"/api/v1/cases/{case_id}/agreements", headers={**MEDIATOR, "Idempotency-Key":
                                                                                  f"draft-{case_id}"},
                                json=_agreement(**overrides))
    assert r.status_code == 201, r.text
    return r.json(), r.headers["ETag"]


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_an_agreement_pdf_names_the_parties_and_terms_and_every_render_is_logged(stack: Stack) -> None:
    case = await _case(stack)
    a, tag = await _draft(stack, case["id"])
    assert a["status"] == "draft" and a["number"] == f"{case['code']}-XY01" and a["terms"] == TERMS
    again = await stack.intake.post(f"/api/v1/cases/{case['id']}/agreements", json=_agreement(),
                                    headers={**MEDIATOR, "Idempotency-Key": f"draft-{case['id']}"})
    assert again.status_code == 201 and again.json()["id"] == a["id"]  # drafted once

    url = f"/api/v1/cases/{case['id']}/agreements/{a['id']}"
    assert_problem(await stack.intake.patch(url, headers=MEDIATOR, json={"committee": "松涛社区人民调解委员会"}),
                   428, "precondition_required")
    committee = {"committee": "松涛社区人民调解委员会"}
    r = await stack.intake.patch(url, headers={**MEDIATOR, "If-Match": tag}, json=committee)
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    assert_problem(await stack.intake.patch(url, headers={**MEDIATOR, "If-Match": tag}, json={"committee": "某委员会"}),
                   412, "precondition_failed")

    started = time.perf_counter()
    r = await stack.intake.get(f"{url}/pdf", headers=MEDIATOR)
    elapsed = time.perf_counter() - started
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    text = _text(r.content)
    revealed = await stack.intake.post(f"/api/v1/cases/{case['id']}/parties/reveal", headers=OPERATOR,
                                       json={"purpose": "核对协议书"})
    applicant_id = revealed.json()["parties"][0]["id_number"]
    for expected in ("人民调解协议书", "欧阳春花", "司马青云", applicant_id, RESPONDENT["id_number"], TERMS,
                     "松涛社区人民调解委员会", "限期履行", "med-docs", "签名"):
        assert expected in text, expected
    print(f"agreement PDF: {len(r.content)} bytes in {elapsed * 1000:.0f} ms")

    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=STREET)).json()
    rendered = [e for e in log if e["purpose"] == "打印人民调解协议书"]
    assert len(rendered) == 1 and rendered[0]["accessed_by"] == "med-docs"
    assert {"name", "id_number", f"document:agreement:{a['id']}"} <= set(rendered[0]["fields"])

    # scope: another grid's worker sees nothing of it; a grid worker may not print full personal data
    assert_problem(await stack.intake.get(url, headers=OTHER_GRID), 404, "case_not_found")
    assert_problem(await stack.intake.get(f"{url}/pdf", headers=OTHER_GRID), 403, "forbidden_role")
    assert (await stack.intake.get(url, headers=WORKER)).status_code == 200

    # the signed scan is filed as the agreement's attachment; a signed agreement stands
    r = await stack.intake.post(f"{url}/signed-scan", headers={**WORKER, "Idempotency-Key": f"scan-{a['id']}"},
                                files={"file": ("协议书扫描件.png", PNG, "image/png")})
    assert r.status_code == 201, r.text
    signed = r.json()
    assert signed["status"] == "signed" and signed["signed_attachment_id"] and signed["performance"] == "pending"
    files = (await stack.intake.get(f"/api/v1/cases/{case['id']}/attachments", headers=WORKER)).json()
    assert [(f["owner_kind"], f["owner_id"]) for f in files] == [("agreement", a["id"])]
    assert_problem(await stack.intake.patch(url, headers={**MEDIATOR, "If-Match": f'"{signed["version"]}"'},
                                            json={"terms": "改"}), 422, "validation_failed")
    assert_problem(await stack.intake.patch(url, headers={**MEDIATOR, "If-Match": f'"{signed["version"]}"'},
                                            json={"terms": "另行约定的条款"}), 409, "agreement_signed")


async def test_bad_agreement_input_is_a_422_naming_the_field(stack: Stack) -> None:
    case = await _case(stack)
    url = f"/api/v1/cases/{case['id']}/agreements"
    for body, field in ((_agreement(performance_way="someday"), "performance_way"),
                        (_agreement(mediators=["张 三"]), "mediators"),
                        (_agreement(performance_due="2026-13-40"), "performance_due"),
                        ({k: v for k, v in _agreement().items() if k != "terms"}, "terms")):
        r = await stack.intake.post(url, headers=MEDIATOR, json=body)
        assert_problem(r, 422, "validation_failed")
        assert any(e["field"].endswith(field) for e in r.json()["errors"]), (field, r.json())


async def test_a_judicial_confirmation_needs_a_signed_agreement_and_shows_in_analytics(stack: Stack) -> None:
    case = await _case(stack)
    url = f"/api/v1/cases/{case['id']}/judicial-confirmations"
    today = date.today().isoformat()
    body = {"applied_on": today, "court": "青澜区人民法院"}
    r = await stack.intake.post(url, headers=MEDIATOR, json={**body, "agreement_id": case["id"]})
    assert_problem(r, 422, "validation_failed")
    assert r.json()["errors"][0]["field"] == "agreement_id" and r.json()["errors"][0]["code"] == "agreement_not_found"
    a, _ = await _draft(stack, case["id"])
    assert_problem(await stack.intake.post(url, headers=MEDIATOR, json={**body, "agreement_id": a["id"]}), 409,
                   "agreement_not_signed")
    r = await stack.intake.post(f"/api/v1/cases/{case['id']}/agreements/{a['id']}/signed-scan", headers=MEDIATOR,
                                files={"file": ("scan.png", PNG, "image/png")})
    assert r.status_code == 201, r.text
    r = await stack.intake.post(url, headers={**MEDIATOR, "Idempotency-Key": f"jc-{a['id']}"},
                                json={**body, "agreement_id": a["id"]})
    assert r.status_code == 201 and r.json()["status"] == "applied", r.text
    c, tag = r.json(), r.headers["ETag"]
    assert_problem(await stack.intake.post(url, headers=MEDIATOR, json={**body, "agreement_id": a["id"]}), 409,
                   "confirmation_exists")
    one = f"{url}/{c['id']}"
    r = await stack.intake.patch(one, headers={**MEDIATOR, "If-Match": tag},
                                 json={"accepted": True, "confirmed": True, "decided_on": today})
    assert_problem(r, 422, "validation_failed")
    assert r.json()["errors"][0]["field"] == "ruling_number"
    r = await stack.intake.patch(one, headers={**MEDIATOR, "If-Match": tag},
                                 json={"accepted": True, "confirmed": True, "decided_on": today,
                                       "ruling_number": "(2026)青0102民特123号"})
    assert r.status_code == 200 and r.json()["status"] == "confirmed" and r.json()["status_label"] == "司法确认有效"

    async def counted() -> dict[str, Any] | None:
        r = await stack.analytics.get("/api/v1/kpis/documents", headers=STREET, params={"by": "category"})
        assert r.status_code == 200, r.text
        return r.json() if r.json()["judicial_confirmed"] >= 1 else None

    kpis = await eventually(counted, what="the 司法确认 counted in analytics")
    assert kpis["agreements"] >= 1 and kpis["judicial_applied"] >= 1
    assert sum(i["judicial_confirmed"] for i in kpis["items"]) == kpis["judicial_confirmed"]


async def test_the_registration_form_carries_the_applicant_and_is_logged(stack: Stack) -> None:
    case = await _case(stack)
    r = await stack.intake.get(f"/api/v1/cases/{case['id']}/registration-form.pdf", headers=OPERATOR)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    text = _text(r.content)
    assert "受理登记表" in text and "欧阳春花" in text and case["code"] in text and "签名" in text
    log = (await stack.intake.get(f"/api/v1/cases/{case['id']}/access-log", headers=STREET)).json()
    assert [e["purpose"] for e in log if "document:registration_form" in e["fields"]] == ["打印受理登记表"]
    r = await stack.intake.get(f"/api/v1/cases/{case['id']}/registration-form.pdf", headers=WORKER)
    assert_problem(r, 403, "forbidden_role")


async def test_an_agreement_not_performed_reopens_its_resolved_case(stack: Stack) -> None:
    """未履行 on a resolved case: the dispute is back, so routing reopens it to the resolving unit (reason
    performance_failed) and intake shows it again in work, with the reason on the timeline."""
    case = await _case(stack)
    current = (await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=STREET)).json()["current"]
    assert (await act(stack.routing, current["id"], "accept", WORKER)).status_code == 200
    a, _ = await _draft(stack, case["id"])
    url = f"/api/v1/cases/{case['id']}/agreements/{a['id']}"
    r = await stack.intake.post(f"{url}/signed-scan", headers=MEDIATOR, files={"file": ("s.png", PNG, "image/png")})
    assert r.status_code == 201, r.text
    r = await act(stack.routing, current["id"], "resolve", WORKER, {"outcome": "resolved", "mediation_agreement": True})
    assert r.status_code == 200, r.text

    async def status(expected: str) -> dict[str, Any] | None:
        got = (await stack.intake.get(f"/api/v1/cases/{case['id']}", headers=WORKER)).json()
        return got if got["status"] == expected else None

    await eventually(lambda: status("resolved"), what="resolved in intake")
    read = await stack.intake.get(url, headers=MEDIATOR)
    r = await stack.intake.post(f"{url}/performance", headers={**MEDIATOR, "If-Match": read.headers["ETag"]},
                                json={"result": "not_performed"})
    assert r.status_code == 200, r.text

    async def reopened() -> dict[str, Any] | None:
        got = (await stack.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=STREET)).json()["current"]
        return got if got["id"] != current["id"] and got["status"] == "assigned" else None

    again = await eventually(reopened, timeout=60, what="the case reopened by routing")
    assert again["unit_id"] == current["unit_id"]  # the resolving unit, not one level up
    await eventually(lambda: status("assigned"), what="back in work in intake")
    timeline = (await stack.intake.get(f"/api/v1/cases/{case['id']}/timeline", headers=OPERATOR)).json()
    assert any("调解协议未履行" in t["summary"] for t in timeline), timeline
