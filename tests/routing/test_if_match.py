"""Every update of a versioned routing resource needs ``If-Match``: 428 ``precondition_required`` without it, 412
``precondition_failed`` (with the current ``ETag``) when the version sent is not the current one — an assignment
action, an org unit or member PATCH, a calendar PUT; and notify's channel target PUT, which creates a target with
``If-Match: "0"`` only. Neither changes anything."""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role
from tests.support import Stack, auth, case_body, eventually

ADMIN = auth(Role.ADMIN, None, "admin-if-match")
OPERATOR = auth(Role.OPERATOR, "S1", "op-if-match")
G01 = auth(Role.GRID_WORKER, "G01", "U-G01-1")


async def _assignment(stack: Stack) -> str:
    r = await stack.intake.post("/api/v1/cases", json=case_body(), headers=OPERATOR)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]

    async def routed() -> str | None:
        got = await stack.routing.get(f"/api/v1/cases/{case_id}/routing", headers=ADMIN)
        return got.json()["current"]["id"] if got.status_code == 200 else None

    return await eventually(routed, timeout=60, what="the case routed")


# (what, method, path to update, path to read its ETag, headers, body)
UPDATES: list[tuple[str, str, str, str, dict[str, str], Any]] = [
    ("assignment action", "POST", "/api/v1/assignments/{a}/accept", "/api/v1/assignments/{a}", G01, None),
    ("org unit", "PATCH", "/api/v1/org/units/G01", "/api/v1/org/units/G01", ADMIN, {"name": "不应改名"}),
    ("org member", "PATCH", "/api/v1/org/members/U-G01-1", "/api/v1/org/members/U-G01-1", ADMIN, {"forces": []}),
    ("calendar days", "PUT", "/api/v1/calendar/days", "/api/v1/calendar/days", ADMIN,
     {"days": [{"day": "2031-01-06", "is_workday": False, "note": "不应生效"}]}),
    ("calendar year", "PUT", "/api/v1/calendar/years/2031", "/api/v1/calendar/years", ADMIN,
     {"note": "不应生效", "holidays": ["2031-01-01"]}),
]


@pytest.mark.parametrize(("what", "method", "path", "read", "headers", "body"), UPDATES, ids=[u[0] for u in UPDATES])
async def test_an_update_without_if_match_is_428_and_with_a_stale_one_412(
        stack: Stack, what: str, method: str, path: str, read: str, headers: dict[str, str], body: Any) -> None:
    if "{a}" in path:
        a = await _assignment(stack)
        path, read = path.format(a=a), read.format(a=a)
    before = await stack.routing.get(read, headers=headers)
    assert before.status_code == 200 and before.headers["ETag"], before.text
    current = int(before.headers["ETag"].strip('"'))

    r = await stack.routing.request(method, path, headers=headers, json=body)
    assert r.status_code == 428, (what, r.text)
    assert r.json()["code"] == "precondition_required" and r.headers["content-type"].startswith(
        "application/problem+json")

    r = await stack.routing.request(method, path, headers={**headers, "If-Match": f'"{current + 1}"'}, json=body)
    assert r.status_code == 412, (what, r.text)
    assert r.json()["code"] == "precondition_failed" and r.json()["current_version"] == current
    assert r.headers["ETag"] == before.headers["ETag"]

    after = await stack.routing.get(read, headers=headers)
    assert after.headers["ETag"] == before.headers["ETag"] and after.json() == before.json(), what


async def test_a_channel_target_put_needs_if_match_and_creates_only_with_0(stack: Stack) -> None:
    path = "/api/v1/units/G02/channels/webhook"
    body = {"address": "https://oapi.dingtalk.com/robot/send?access_token=first"}

    async def absent() -> None:
        r = await stack.notify.get(path, headers=ADMIN)
        assert r.status_code == 404 and r.json()["code"] == "target_not_found", r.text

    await absent()
    r = await stack.notify.put(path, headers=ADMIN, json=body)
    assert r.status_code == 428 and r.json()["code"] == "precondition_required", r.text
    r = await stack.notify.put(path, headers={**ADMIN, "If-Match": '"3"'}, json=body)
    assert r.status_code == 412 and r.json()["current_version"] == 0 and r.headers["ETag"] == '"0"', r.text
    await absent()  # neither refused PUT left a target behind

    r = await stack.notify.put(path, headers={**ADMIN, "If-Match": '"0"'}, json=body)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"' and r.json()["version"] == 1, r.text
    before = await stack.notify.get(path, headers=ADMIN)
    assert before.headers["ETag"] == '"1"' and before.json()["address"] == body["address"]

    other = {"address": "https://oapi.dingtalk.com/robot/send?access_token=second"}
    r = await stack.notify.put(path, headers={**ADMIN, "If-Match": '"0"'}, json=other)  # "create" once it exists
    assert r.status_code == 412 and r.json()["code"] == "precondition_failed" and r.json()["current_version"] == 1
    r = await stack.notify.put(path, headers=ADMIN, json=other)
    assert r.status_code == 428, r.text
    assert (await stack.notify.get(path, headers=ADMIN)).json() == before.json()

    r = await stack.notify.put(path, headers={**ADMIN, "If-Match": before.headers["ETag"]}, json=other)
    assert r.status_code == 200 and r.headers["ETag"] == '"2"' and r.json()["address"] == other["address"], r.text
