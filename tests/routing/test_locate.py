"""Locating a case (grid id, polygon, address keyword, triage) and climbing to a rule's level."""

from __future__ import annotations

import json
from dataclasses import replace

from routing_svc.domain.locate import UnitInfo, locate, polygon_of
from routing_svc.domain.org import UnitSpec, compute_paths
from routing_svc.domain.routing import climb_to
from services.registry import DEMO_ORG
from shared.events.case import Level


def demo_units() -> dict[str, UnitInfo]:
    doc = json.loads(DEMO_ORG.read_text())
    paths = compute_paths([UnitSpec(u["id"], u["name"], Level(u["level"]), u["parent_id"]) for u in doc["units"]], {})
    return {u["id"]: UnitInfo(u["id"], u["name"], Level(u["level"]), u["parent_id"], tuple(paths[u["id"]]),
                              tuple(u.get("address_keywords", [])), polygon_of(u.get("polygon")))
            for u in doc["units"]}


def test_explicit_grid_id_wins_and_a_building_id_resolves_to_its_grid() -> None:
    units = demo_units()
    hit = locate("G03", "松涛花园", units, lat=36.08, lng=120.305)
    assert hit is not None and (hit.unit.id, hit.method) == ("G03", "grid_id")
    hit = locate("B-G01-2", None, units)
    assert hit is not None and hit.unit.id == "G01" and hit.building is not None and hit.building.id == "B-G01-2"
    assert locate("G01", None, units).building is None  # type: ignore[union-attr]


def test_a_point_locates_by_polygon_before_the_address() -> None:
    units = demo_units()
    hit = locate(None, "松涛花园1号楼", units, lat=36.06, lng=120.345)  # inside G11 (石泉村西片)
    assert hit is not None and (hit.unit.id, hit.method) == ("G11", "polygon")
    on_edge = locate(None, None, units, lat=36.08, lng=120.31)  # the border of G01 and G02: deterministic
    assert on_edge is not None and on_edge.method == "polygon" and on_edge.unit.id in ("G01", "G02")
    assert locate(None, None, units, lat=36.08, lng=120.31) == on_edge


def test_a_point_in_a_community_without_grid_polygons_goes_to_the_community() -> None:
    units = {k: (replace(u, polygon=None) if u.level == Level.GRID else u) for k, u in demo_units().items()}
    hit = locate(None, None, units, lat=36.06, lng=120.345)
    assert hit is not None and (hit.unit.id, hit.method) == ("V1", "polygon")
    # with an address keyword, the grid is more precise than the community
    hit = locate(None, "泉西路12号", units, lat=36.06, lng=120.345)
    assert hit is not None and (hit.unit.id, hit.method) == ("G11", "address_keyword")


def test_the_longest_keyword_wins_and_a_building_keyword_resolves_to_its_grid() -> None:
    units = demo_units()
    hit = locate(None, "松涛花园2号楼302", units)
    assert hit is not None and hit.unit.id == "G01" and "松涛花园2号楼" in hit.explanation
    assert hit.building is not None and hit.building.name == "松涛花园2号楼"  # kept for 分析研判's top buildings
    hit = locate(None, "松涛花园门口", units)
    assert hit is not None and hit.unit.id == "G01" and hit.building is None  # the estate's keyword: no building


def test_nothing_matches_the_street_triage_queue_with_the_reason() -> None:
    units = demo_units()
    hit = locate("G99", "火星路1号", units, lat=10.0, lng=10.0)
    assert hit is not None and (hit.unit.id, hit.method) == ("S1", "triage")
    assert "G99 unknown" in hit.explanation and "no unit" in hit.explanation and "no address" in hit.explanation
    hit = locate(None, None, units, received_unit_id="G07")
    assert hit is not None and hit.method == "triage" and "no location given" in hit.explanation
    assert locate(None, None, {}) is None


def test_climbing_to_a_level() -> None:
    units = demo_units()
    g10, g01 = units["G10"], units["G01"]
    assert climb_to(g01, Level.GRID, units).id == "G01"
    assert climb_to(g01, Level.COMMUNITY, units).id == "C1"
    assert climb_to(g10, Level.COMMUNITY, units).id == "V1"  # a village is the community tier
    assert climb_to(g10, Level.STREET, units).id == "S1"
    assert climb_to(g10, Level.DISTRICT, units).id == "D1"
    assert climb_to(units["B-G01-1"], Level.GRID, units).id == "G01"
    assert climb_to(units["S1"], Level.GRID, units).id == "S1"  # cases never climb down


def test_degenerate_polygons_are_ignored() -> None:
    assert polygon_of(None) is None and polygon_of([[0, 0], [1, 1]]) is None
    assert polygon_of([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]) is None  # self-intersecting
