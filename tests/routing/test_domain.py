from __future__ import annotations

import json

import pytest

from routing_svc.domain.assignment import Action, AssignmentStatus, IllegalTransition, State, transition
from routing_svc.domain.locate import UnitInfo, locate
from routing_svc.domain.org import OrgError, UnitSpec, compute_paths
from services.registry import DEMO_ORG
from shared.events.case import Level


def demo_units() -> dict[str, UnitInfo]:
    doc = json.loads(DEMO_ORG.read_text())
    specs = [UnitSpec(u["id"], u["name"], Level(u["level"]), u["parent_id"]) for u in doc["units"]]
    paths = compute_paths(specs, {})
    return {u["id"]: UnitInfo(u["id"], u["name"], Level(u["level"]), u["parent_id"], tuple(paths[u["id"]]),
                              tuple(u.get("address_keywords", []))) for u in doc["units"]}


def test_demo_org_paths() -> None:
    units = demo_units()
    assert units["G01"].path == ("D1", "S1", "C1", "G01")
    assert units["S1"].path == ("D1", "S1")


def test_bad_hierarchies_name_the_unit() -> None:
    with pytest.raises(OrgError) as e:
        compute_paths([UnitSpec("G9", "x", Level.GRID, "NOPE")], {})
    assert e.value.errors[0]["field"] == "units[G9].parent_id"
    with pytest.raises(OrgError, match="cannot sit under"):
        compute_paths([UnitSpec("S9", "s", Level.STREET, None), UnitSpec("G9", "g", Level.GRID, "S9")], {})
    with pytest.raises(OrgError, match="cycle"):
        compute_paths([UnitSpec("C8", "a", Level.COMMUNITY, "C9"), UnitSpec("C9", "b", Level.COMMUNITY, "C8")], {})


def test_locate_prefers_grid_id_then_longest_keyword_then_triage() -> None:
    units = demo_units()
    assert locate("G03", "听松苑", units).unit.id == "G03"  # type: ignore[union-attr]
    hit = locate(None, "青澜区鹭鸣街道松涛路36号听松苑2栋", units)
    assert hit is not None and hit.unit.id == "G02" and hit.method == "address_keyword"
    miss = locate("G99", "火星路1号", units)
    assert miss is not None and miss.unit.id == "S1" and miss.method == "triage"
    assert locate(None, None, {}) is None


def test_illegal_actions_list_the_allowed_ones() -> None:
    assert transition(State(AssignmentStatus.ASSIGNED), Action.ACCEPT) == State(AssignmentStatus.ACCEPTED)
    with pytest.raises(IllegalTransition) as e:
        transition(State(AssignmentStatus.ASSIGNED), Action.RESOLVE)
    assert e.value.allowed == ["accept", "dispatch", "escalate", "request_extension", "return", "suspend"]
    with pytest.raises(IllegalTransition) as e:
        transition(State(AssignmentStatus.CLOSED), Action.ACCEPT)
    assert e.value.allowed == []
