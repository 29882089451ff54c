"""Driving the real intake and routing APIs for notify's tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from notify_svc.tables import Delivery
from shared.auth import Role
from tests.support import Stack, act, auth, case_body, eventually, unique_phone

OPERATOR = auth(Role.OPERATOR, "S1", "op-1")
G01_WORKER = auth(Role.GRID_WORKER, "G01", "U-G01-1")
ADMIN = auth(Role.ADMIN, None, "admin-1")


async def new_case(s: Stack, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A case registered at intake for G01 and assigned by routing: (case, assignment, applicant phone)."""
    phone = unique_phone()
    body = case_body(**overrides)
    body["parties"][0]["phone"] = phone
    r = await s.intake.post("/api/v1/cases", json=body, headers=OPERATOR)
    assert r.status_code == 201, r.text
    case = r.json()

    async def routed() -> dict[str, Any] | None:
        r = await s.routing.get(f"/api/v1/cases/{case['id']}/routing", headers=ADMIN)
        return r.json()["current"] if r.status_code == 200 else None

    assignment = await eventually(routed, timeout=60, what="routing assigns the case")
    return case, assignment, phone


async def accept(s: Stack, assignment: dict[str, Any]) -> dict[str, Any]:
    r = await act(s.routing, assignment["id"], "accept", G01_WORKER)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def resolve(s: Stack, assignment: dict[str, Any]) -> dict[str, Any]:
    r = await act(s.routing, assignment["id"], "resolve", G01_WORKER,
                  {"outcome": "resolved", "mediation_agreement": True})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def deliveries(s: Stack, case_id: str, **where: Any) -> list[Delivery]:
    async with s.apps["notify"].state.runtime.session() as session:
        stmt = select(Delivery).where(Delivery.case_id == case_id)
        for k, v in where.items():
            stmt = stmt.where(getattr(Delivery, k) == v)
        return list((await session.execute(stmt.order_by(Delivery.created_at))).scalars())


async def wait_delivery(s: Stack, case_id: str, **where: Any) -> Delivery:
    async def one() -> Delivery | None:
        rows = await deliveries(s, case_id, **where)
        return rows[0] if rows else None

    return await eventually(one, timeout=60, what=f"a delivery {where} for the case")


async def put_target(s: Stack, unit_id: str, channel: str, body: dict[str, Any]) -> Any:
    """PUT a unit's channel target as an admin client does: If-Match is the target's ETag, or "0" when the unit has
    none yet (GET answers 404)."""
    path = f"/api/v1/units/{unit_id}/channels/{channel}"
    read = await s.notify.get(path, headers=ADMIN)
    assert read.status_code in (200, 404), read.text
    return await s.notify.put(path, headers={**ADMIN, "If-Match": read.headers["ETag"] if read.status_code == 200
                                             else '"0"'}, json=body)
