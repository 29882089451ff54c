"""网格地图: the grids' areas reach analytics through fq.org.unit_upserted.v1; /api/v1/map draws the scope's grids
with the scripted week's numbers, and nothing outside the caller's scope."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.registry import ROOT
from shared.auth import Role
from tests.analytics.conftest import Lab
from tests.analytics.scenario import WEEK, Week, load, org, square, week
from tests.support import Stack, auth, eventually

DEMO_ORG = ROOT / "services" / "data" / "org_demo.json"


@pytest.fixture(scope="module")
async def w(lab: Lab) -> Week:
    scripted = week(org())
    await load(lab, scripted)
    return scripted


async def grid_map(lab: Lab, headers: dict[str, str], **params: Any) -> dict[str, dict[str, Any]]:
    r = await lab.stack.analytics.get("/api/v1/map", params={**WEEK, **params}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    return {f["id"]: f for f in body["features"]}


def numbers(feature: dict[str, Any]) -> dict[str, Any]:
    p = feature["properties"]
    return {k: p[k] for k in ("received", "open", "resolved", "overdue", "red", "yellow", "blue")}


async def test_the_street_sees_its_grids_with_the_weeks_cases_and_risk(lab: Lab, w: Week) -> None:
    o = w.org
    features = await grid_map(lab, auth(Role.STREET_ADMIN, o.id("S")))
    assert list(features) == [o.id("G1"), o.id("G2"), o.id("G3")]  # G4 lies in the other street
    g1, g2, g3 = (features[o.id(g)] for g in ("G1", "G2", "G3"))
    # G1: A (resolved), B (yellow, overdue at G1, resolved at S), F (not accepted yet)
    assert numbers(g1) == {"received": 3, "open": 1, "resolved": 2, "overdue": 1, "red": 0, "yellow": 1, "blue": 2}
    # G2: C and H, both resolved
    assert numbers(g2) == {"received": 2, "open": 0, "resolved": 2, "overdue": 0, "red": 0, "yellow": 0, "blue": 2}
    # G3: D (red, failed and referred) and E (yellow, overdue at C2, resolved at the district)
    assert numbers(g3) == {"received": 2, "open": 0, "resolved": 1, "overdue": 1, "red": 1, "yellow": 1, "blue": 0}
    assert g1["properties"]["name"] == "一网格" and g3["properties"]["resolution_rate"] == 0.5
    assert g1["geometry"] == {"type": "Polygon", "coordinates": [square(0)]}
    assert g3["geometry"] == {"type": "Polygon", "coordinates": [square(2)]}


async def test_the_map_agrees_with_the_hot_grid_list(lab: Lab, w: Week) -> None:
    headers = auth(Role.STREET_ADMIN, w.org.id("S"))
    features = await grid_map(lab, headers)
    r = await lab.stack.analytics.get("/api/v1/hotspots", params=WEEK, headers=headers)
    hot = {g["unit_id"]: g["count"] for g in r.json()["grids"]}
    assert {k: f["properties"]["received"] for k, f in features.items()} == hot


async def test_the_viewers_scope_decides_what_is_drawn(lab: Lab, w: Week) -> None:
    o = w.org
    community = auth(Role.COMMUNITY_ADMIN, o.id("C1"))
    assert list(await grid_map(lab, community)) == [o.id("G1"), o.id("G2")]
    assert list(await grid_map(lab, auth(Role.GRID_WORKER, o.id("G3")))) == [o.id("G3")]
    # a unit outside the caller's scope is not found, whether above, beside or in another street
    for outside in ("S", "C2", "G3", "G4"):
        r = await lab.stack.analytics.get("/api/v1/map", params={**WEEK, "unit_id": o.id(outside)},
                                          headers=community)
        assert r.status_code == 404 and r.json()["code"] == "unit_not_found", outside
    # the district's view (here through a global role narrowed to the district) holds all four grids
    district = await grid_map(lab, auth(Role.ADMIN, None), unit_id=o.id("D"))
    assert list(district) == [o.id(g) for g in ("G1", "G2", "G3", "G4")]
    assert numbers(district[o.id("G4")])["received"] == 1  # L
    # a community narrowing to one of its grids gets that grid only
    assert list(await grid_map(lab, community, unit_id=o.id("G2"))) == [o.id("G2")]


async def test_a_window_without_cases_draws_the_grids_with_zeros(lab: Lab, w: Week) -> None:
    o = w.org
    features = await grid_map(lab, auth(Role.COMMUNITY_ADMIN, o.id("C1")), **{"from": "2025-01-06",
                                                                               "to": "2025-01-12"})
    assert [numbers(f)["received"] for f in features.values()] == [0, 0]


async def test_the_demo_orgs_grid_polygons_reach_analytics_through_routing(stack: Stack) -> None:
    """The real path: the demo org imported into routing, its fq.org.unit_upserted.v1 events consumed by analytics."""
    demo = json.loads(DEMO_ORG.read_text())
    grids = {u["id"]: u for u in demo["units"] if u["level"] == "grid"}
    assert grids and all(u.get("polygon") for u in grids.values())
    headers = auth(Role.COMMUNITY_ADMIN, "C1")

    async def drawn() -> dict[str, Any] | None:
        r = await stack.analytics.get("/api/v1/map", params={"days": 7}, headers=headers)
        if r.status_code != 200:
            return None
        features = {f["id"]: f for f in r.json()["features"]}
        return features if len(features) == 3 else None

    features = await eventually(drawn, timeout=60, what="C1's grids on analytics' map")
    assert sorted(features) == sorted(g for g, u in grids.items() if u["parent_id"] == "C1")
    for gid, f in features.items():
        assert f["geometry"] == {"type": "Polygon", "coordinates": [grids[gid]["polygon"]]}
        assert f["properties"]["name"] == grids[gid]["name"]
