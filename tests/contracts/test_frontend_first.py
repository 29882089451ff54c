"""What a frontend loads first: ``GET /api/v1/me`` (routing) and ``GET /api/v1/dictionaries``; the capabilities
table ``/me`` answers from agrees with the guards the endpoints really use; the dictionary tables cover every
enum value the APIs send."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from intake_svc.api import ROUTERS as INTAKE
from intake_svc.domain.case import CaseStatus
from routing_svc.api import ROUTERS as ROUTING
from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.domain.rules_document import FORCES
from shared import capabilities, dictionaries
from shared.auth import Role
from shared.events.case import Channel, FeedbackResult, Level, Outcome, RequestType, RiskLevel, Track
from tests.support import Stack, auth

# capability → (service, method, path) of an endpoint whose guard admits exactly the capability's roles
GUARDED = {
    "case.register": ("intake", "POST", "/api/v1/cases"),
    "case.read_personal": ("intake", "POST", "/api/v1/cases/{case_id}/parties/reveal"),
    "case.search": ("intake", "GET", "/api/v1/cases/search"),
    "case.access_log": ("intake", "GET", "/api/v1/cases/{case_id}/access-log"),
    "assignment.handle": ("routing", "POST", "/api/v1/assignments/{assignment_id}/accept"),
    "assignment.approve_extension": ("routing", "POST", "/api/v1/assignments/{assignment_id}/approve-extension"),
    "assignment.reopen": ("routing", "POST", "/api/v1/cases/{case_id}/reopen"),
    "org.import": ("routing", "POST", "/api/v1/org/import"),
}


def _guard_roles(routers: list[APIRouter], method: str, path: str) -> frozenset[str]:
    route = next(r for router in routers for r in router.routes
                 if isinstance(r, APIRoute) and r.path == path and method in r.methods)
    for dep in route.dependant.dependencies:
        call: Any = dep.call
        if getattr(call, "__name__", "") == "check" and call.__closure__:
            for cell in call.__closure__:
                if isinstance(cell.cell_contents, tuple):
                    return frozenset(str(r) for r in cell.cell_contents)
    raise AssertionError(f"{method} {path} has no require_roles guard")


def test_capabilities_match_the_endpoint_guards() -> None:
    routers = {"intake": INTAKE, "routing": ROUTING}
    for name, (service, method, path) in GUARDED.items():
        assert _guard_roles(routers[service], method, path) == capabilities.CAPABILITIES[name], name
    assert set(capabilities.LABELS) == set(capabilities.CAPABILITIES)


def test_dictionaries_cover_every_enum() -> None:
    for table, enum in ((dictionaries.CHANNEL, Channel), (dictionaries.REQUEST_TYPE, RequestType),
                        (dictionaries.LEVEL, Level), (dictionaries.TRACK, Track), (dictionaries.RISK, RiskLevel),
                        (dictionaries.OUTCOME, Outcome), (dictionaries.FEEDBACK, FeedbackResult),
                        (dictionaries.CASE_STATUS, CaseStatus), (dictionaries.ASSIGNMENT_STATUS, AssignmentStatus),
                        (dictionaries.ROLE, Role)):
        assert {str(k) for k in table} == {e.value for e in enum}, enum
    assert FORCES == set(dictionaries.FORCE)


async def test_dictionaries_endpoint(stack: Stack) -> None:
    r = await stack.routing.get("/api/v1/dictionaries", headers=auth(Role.GRID_WORKER, "G01"))
    assert r.status_code == 200, r.text
    body = r.json()
    neighbor = next(c for c in body["categories"] if c["code"] == "neighbor")
    assert neighbor["label"] == "邻里纠纷"
    assert {"code": "neighbor.noise", "label": "噪声扰民"} in neighbor["children"]
    assert {"code": "hotline_12345", "label": "12345工单"} in body["channels"]
    assert {"code": "assigned", "label": "待签收"} in body["assignment_statuses"]
    assert {"code": "police", "label": "公安"} in body["forces"]
    assert (await stack.routing.get("/api/v1/dictionaries")).status_code == 401


async def test_me_names_the_unit_path_and_what_the_caller_may_do(stack: Stack) -> None:
    r = await stack.routing.get("/api/v1/me", headers=auth(Role.GRID_WORKER, "G01", "U-G01-me"))
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["sub"] == "U-G01-me" and me["scope"] == "subtree"
    assert [u["id"] for u in me["unit_path"]] == ["D1", "S1", "C1", "G01"]
    assert me["unit"]["id"] == "G01" and me["unit"]["level"] == "grid"
    assert me["roles"] == [{"code": "grid_worker", "label": "网格员"}]
    may = {c["code"] for c in me["capabilities"]}
    assert "assignment.handle" in may and "org.import" not in may and "case.read_personal" not in may

    admin = (await stack.routing.get("/api/v1/me", headers=auth(Role.ADMIN, None))).json()
    assert admin["scope"] == "all" and admin["unit"] is None
    assert {c["code"] for c in admin["capabilities"]} == set(capabilities.CAPABILITIES)
    problem = await stack.routing.get("/api/v1/me")
    assert problem.status_code == 401 and problem.json()["code"] == "missing_token"
