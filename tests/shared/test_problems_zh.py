"""Problem ``title`` / ``detail`` in Simplified Chinese when ``Accept-Language`` prefers ``zh``; the ``code``
stays; every code a service raises has its Chinese line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.auth import Role
from shared.problems_zh import DETAIL_ZH, TITLE_ZH, prefers_chinese
from tests.shared.test_api_rules import assert_problem
from tests.support import Stack, auth

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "intake_svc", "routing_svc", "notify_svc", "analytics_svc")
CJK = "\u4e00-\u9fff"


def _raised_codes() -> dict[str, str]:
    """Every literal problem code in the services' source: ``Problem(status, "code", …)`` and its kin."""
    codes: dict[str, str] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name not in ("Problem", "problem_response", "_unauthenticated"):
                    continue
                literal = next((a.value for a in node.args if isinstance(a, ast.Constant)
                                and isinstance(a.value, str)), None)
                if literal and literal.replace("_", "").isalpha() and literal.islower():
                    codes.setdefault(literal, str(path.relative_to(ROOT)))
    return codes


def test_every_raised_code_has_chinese_text() -> None:
    codes = _raised_codes()
    assert len(codes) > 50  # the scan finds the codes at all
    missing = {c: where for c, where in codes.items() if c not in DETAIL_ZH}
    assert not missing, missing
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in [*DETAIL_ZH.values(), *TITLE_ZH.values()])


@pytest.mark.parametrize(("header", "zh"), [
    ("zh", True), ("zh-CN", True), ("zh-Hans-CN,zh;q=0.9,en;q=0.8", True), ("en-US,en;q=0.9,zh;q=0.8", False),
    ("en;q=0.5, zh-CN;q=0.9", True), ("zh;q=0", False), ("", False), (None, False), ("*", False),
    ("zh-TW;q=abc", False), ("fr, zh", False), ("zhx", False)])
def test_accept_language(header: str | None, zh: bool) -> None:
    assert prefers_chinese(header) is zh


async def test_problems_answer_in_chinese_on_request(stack: Stack) -> None:
    r = await stack.routing.get("/api/v1/assignments", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    body = assert_problem(r, 401, "missing_token")
    assert body["title"] == "需要登录" and body["detail"] == DETAIL_ZH["missing_token"]
    assert r.headers["content-language"] == "zh-CN" and "www-authenticate" in r.headers
    english = assert_problem(await stack.routing.get("/api/v1/assignments"), 401, "missing_token")
    assert english["detail"].startswith("send an Authorization")

    headers = {**auth(Role.OPERATOR, "S1"), "Accept-Language": "zh"}
    r = await stack.intake.post("/api/v1/cases", json={"channel": "walk_in"}, headers=headers)
    body = assert_problem(r, 422, "validation_failed")
    assert body["detail"] == DETAIL_ZH["validation_failed"] and {e["field"] for e in body["errors"]} >= {"title"}
    r = await stack.notify.get("/api/v1/surveys/not-a-token", headers={"Accept-Language": "zh"})
    assert r.status_code in (404, 422) and r.json()["detail"][0] >= "\u4e00"
