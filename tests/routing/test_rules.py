"""The routing rules engine: default practice, validation pointers, and properties over generated cases."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing_svc.domain.locate import UnitInfo
from routing_svc.domain.routing import case_facts, facts_doc
from routing_svc.domain.rules import (
    FORCES,
    CaseFacts,
    RuleSet,
    RulesInvalid,
    default_rules,
    describe_changes,
    load_document,
)
from shared.events import CaseReceived
from shared.events.case import Channel, Level, LocationRef, RequestType, RiskLevel, Track
from shared.worktime import SHANGHAI, WorkCalendar, WorkSpan

SIGNALS = ["violence", "extreme", "group", "large_amount", "repeat", "repeat_applicant", "vulnerable", "tension"]
GRID_PATH = ("D1", "S1", "C1", "G01")


def facts(**kw: Any) -> CaseFacts:
    base: dict[str, Any] = dict(
        category="neighbor.noise", request_type="dispute", risk_level="blue", risk_signals=frozenset(),
        channel="walk_in", people_involved=2, amount_involved=None, unit_path=GRID_PATH, unit_level=Level.GRID,
        local_time=datetime(2026, 11, 23, 10, tzinfo=SHANGHAI), working_time=True,
    )
    base.update(kw)
    if isinstance(base["risk_signals"], set | list):
        base["risk_signals"] = frozenset(base["risk_signals"])
    return CaseFacts(**base)


def minimal_doc() -> dict[str, Any]:
    row = {t.value: {"accept": "4h", "resolve": "3d"} for t in Track}
    return {"deadlines": {lv: copy.deepcopy(row) for lv in ("grid", "community", "street", "district")},
            "rules": [{"id": "default", "then": {"level": "grid"}}]}


# --- the shipped practice --------------------------------------------------------------------------


def test_simple_dispute_stays_at_the_grid() -> None:
    d = default_rules().evaluate(facts())
    assert (d.rule_id, d.level, d.track, d.forces) == ("default.grid", Level.GRID, Track.GENERAL, ())
    assert d.deadlines.accept == WorkSpan(hours=4) and d.deadlines.resolve == WorkSpan.parse("today<16:00")
    assert [s.matched for s in d.trace] == [False] * (len(default_rules().rules) - 1) + [True]


def test_a_fight_goes_to_the_community_with_the_police() -> None:
    d = default_rules().evaluate(facts(risk_level="red", risk_signals={"violence"}))
    assert d.level == Level.COMMUNITY and "police" in d.forces
    assert d.trace[-1].why.startswith("risk_signals")


def test_six_workers_owed_wages_go_to_the_street_specialist_track_with_labor() -> None:
    d = default_rules().evaluate(facts(category="labor.wage_arrears", people_involved=6))
    assert (d.level, d.track) == (Level.STREET, Track.SPECIALIST) and "labor" in d.forces
    d = default_rules().evaluate(facts(category="labor.wage_arrears", people_involved=None,
                                       risk_signals={"group"}, risk_level="red"))
    assert (d.level, d.track) == (Level.STREET, Track.SPECIALIST) and "labor" in d.forces


def test_group_disputes_and_large_sums_go_to_the_street() -> None:
    for f in (facts(people_involved=5), facts(amount_involved=250000.0), facts(risk_signals={"large_amount"})):
        d = default_rules().evaluate(f)
        assert (d.level, d.track) == (Level.STREET, Track.SPECIALIST), d.rule_id
    assert default_rules().evaluate(facts(people_involved=4)).level == Level.GRID


def test_extreme_threats_are_special_with_a_district_task_force() -> None:
    d = default_rules().evaluate(facts(risk_level="red", risk_signals={"extreme", "violence"}))
    assert (d.level, d.track) == (Level.STREET, Track.SPECIAL)
    assert d.task_force is not None and "区" in d.task_force.lead and d.task_force.plan == WorkSpan(hours=4)
    assert d.deadlines.accept == WorkSpan(hours=1) and d.deadlines.escalate_on_resolve_overdue
    assert default_rules().evaluate(facts(risk_level="red")).track == Track.SPECIAL


def test_historical_petitions_follow_up_without_a_hard_deadline_and_12345_deadlines_win() -> None:
    d = default_rules().evaluate(facts(channel="petition_transfer", risk_level="yellow", risk_signals={"repeat"}))
    assert (d.track, d.deadlines.resolve, d.level) == (Track.FOLLOWUP, None, Level.COMMUNITY)
    d = default_rules().evaluate(facts(channel="hotline_12345", deadline_days=5))
    assert d.deadlines.resolve == WorkSpan(days=5) and "5 working days" in d.explanation
    d = default_rules().evaluate(facts(channel="hotline_12345", urgent=True))
    assert d.rule_id == "urgent.grid" and d.deadlines.accept == WorkSpan(hours=1)


def test_deadline_table_lookup_maps_village_to_community_row() -> None:
    rules = default_rules()
    assert rules.deadlines_for(Level.VILLAGE, Track.GENERAL) == rules.deadlines_for(Level.COMMUNITY, Track.GENERAL)
    assert rules.deadlines_for(Level.STREET, Track.FOLLOWUP).resolve is None


def test_conditions_on_unit_time_and_ranges() -> None:
    doc = minimal_doc()
    doc["rules"][:0] = [
        {"id": "night", "when": {"working_time": False, "weekday": [6, 7]}, "then": {"level": "community"}},
        {"id": "area", "when": {"unit": "C1", "amount_involved": {"min": 10, "max": 20}}, "then": {"unit": "S1"}},
        {"id": "fam", "when": {"category": "family", "request_type": ["help"]}, "then": {"track": "followup"}},
    ]
    rules = RuleSet.parse(doc)
    sat_night = datetime(2026, 11, 28, 22, tzinfo=SHANGHAI)
    assert rules.evaluate(facts(working_time=False, local_time=sat_night)).rule_id == "night"
    assert rules.evaluate(facts(working_time=False)).rule_id == "default"  # a Monday
    assert rules.evaluate(facts(amount_involved=15.0)).unit_id == "S1"
    assert rules.evaluate(facts(amount_involved=25.0)).rule_id == "default"
    assert rules.evaluate(facts(amount_involved=15.0, unit_path=("D1", "S1", "C2", "G04"))).rule_id == "default"
    assert rules.evaluate(facts(category="family.support", request_type="help")).rule_id == "fam"
    assert rules.evaluate(facts(category="familyx", request_type="help")).rule_id == "default"
    assert rules.evaluate(facts(category=None, request_type="help")).rule_id == "default"


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "field", "code"), [
    (lambda d: d["rules"].insert(0, {"id": "x", "when": {"amount_involved": {"min": 5, "max": 1}},
                                     "then": {}}), "rules[0].when.amount_involved", "value_error"),
    (lambda d: d["rules"].insert(0, {"id": "x", "when": {"channel": "fax"}, "then": {}}),
     "rules[0].when.channel[0]", "enum"),
    (lambda d: d["rules"].insert(0, {"id": "x", "when": {"urgent": True}, "then": {"forces": ["army"]}}),
     "rules[0].then.forces", "value_error"),
    (lambda d: d["rules"].insert(0, {"id": "x", "when": {"urgent": True}, "then": {"deadlines": {"accept": 4}}}),
     "rules[0].then.deadlines.accept", "value_error"),
    (lambda d: d["rules"].insert(0, {"id": "x", "when": {"colour": "red"}, "then": {}}),
     "rules[0].when.colour", "extra_forbidden"),
    (lambda d: d["rules"].insert(0, {"id": "x", "then": {}}), "rules[0].when", "unreachable_rules"),
    (lambda d: d["rules"].append({"id": "late", "when": {"urgent": True}, "then": {}}),
     "rules[1].when", "default_missing"),
    (lambda d: d["rules"].insert(0, {"id": "default", "when": {"urgent": True}, "then": {}}), "rules[1].id",
     "duplicate"),
    (lambda d: d["deadlines"]["street"].pop("special"), "deadlines.street.special", "missing"),
    (lambda d: d["deadlines"]["grid"]["general"].update(accept="soon"), "deadlines.grid.general.accept",
     "value_error"),
    (lambda d: d["rules"].insert(0, {"id": "x", "when": {"urgent": True}, "then": {"level": "grid", "unit": "G1"}}),
     "rules[0].then", "value_error"),
    (lambda d: d.update(rules=[]), "rules", "too_short"),
])
def test_invalid_documents_point_at_the_rule_and_field(mutate: Any, field: str, code: str) -> None:
    doc = minimal_doc()
    mutate(doc)
    with pytest.raises(RulesInvalid) as e:
        RuleSet.parse(doc)
    assert {"field": field, "code": code} in [{"field": x["field"], "code": x["code"]} for x in e.value.errors], \
        e.value.errors
    assert all(x["reason"] for x in e.value.errors)


def test_syntax_errors_and_non_mappings_are_rules_invalid() -> None:
    with pytest.raises(RulesInvalid, match="line 1"):
        load_document("rules: [")
    for bad in ([], "text", None, 3):
        with pytest.raises(RulesInvalid):
            RuleSet.parse(bad)  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------------------


any_facts = st.builds(
    CaseFacts,
    category=st.one_of(st.none(), st.sampled_from(["neighbor.noise", "labor.wage_arrears", "family.support",
                                                   "property.fee", "labor", "consumer.refund"])),
    request_type=st.sampled_from([r.value for r in RequestType]),
    risk_level=st.sampled_from([r.value for r in RiskLevel]),
    risk_signals=st.frozensets(st.sampled_from(SIGNALS)),
    channel=st.sampled_from([c.value for c in Channel]),
    people_involved=st.one_of(st.none(), st.integers(0, 500)),
    amount_involved=st.one_of(st.none(), st.floats(0, 1e8, allow_nan=False)),
    unit_path=st.sampled_from([("D1",), ("D1", "S1"), ("D1", "S1", "C1"), GRID_PATH]),
    unit_level=st.sampled_from(list(Level)),
    local_time=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1),
                            timezones=st.just(SHANGHAI)),
    working_time=st.booleans(),
    deadline_days=st.one_of(st.none(), st.integers(1, 30)),
    urgent=st.booleans(),
)

conditions = st.fixed_dictionaries({}, optional={
    "category": st.sampled_from(["labor", "labor.*", "neighbor.noise", "family"]),
    "request_type": st.lists(st.sampled_from([r.value for r in RequestType]), min_size=1, max_size=3),
    "risk_level": st.lists(st.sampled_from([r.value for r in RiskLevel]), min_size=1, max_size=2),
    "risk_signals": st.one_of(st.lists(st.sampled_from(SIGNALS), min_size=1, max_size=3),
                              st.fixed_dictionaries({"all": st.lists(st.sampled_from(SIGNALS), min_size=1,
                                                                      max_size=2)})),
    "channel": st.lists(st.sampled_from([c.value for c in Channel]), min_size=1, max_size=3),
    "people_involved": st.builds(lambda a, b: {"min": a, "max": a + b}, st.integers(0, 50), st.integers(0, 50)),
    "amount_involved": st.builds(lambda a: {"min": a}, st.integers(0, 10**6)),
    "unit": st.sampled_from(["S1", "C1", "G01", "X9"]),
    "weekday": st.lists(st.integers(1, 7), min_size=1, max_size=3),
    "working_time": st.booleans(),
    "urgent": st.booleans(),
}).filter(bool)

actions = st.fixed_dictionaries({}, optional={
    "level": st.sampled_from(["grid", "community", "street", "district"]),
    "track": st.sampled_from([t.value for t in Track]),
    "forces": st.lists(st.sampled_from(sorted(FORCES)), max_size=3, unique=True),
    "deadlines": st.fixed_dictionaries({}, optional={"accept": st.sampled_from(["1h", "30m", "2d"]),
                                                    "resolve": st.sampled_from(["3d", "1d4h", None])}),
    "task_force": st.fixed_dictionaries({"lead": st.just("街道主任"), "plan": st.just("1d")}),
})

rule_lists = st.lists(st.tuples(conditions, actions), max_size=8)


@given(f=any_facts)
def test_the_default_rule_set_gives_every_case_exactly_one_decision(f: CaseFacts) -> None:
    rules = default_rules()
    d = rules.evaluate(f)
    matched = [s for s in d.trace if s.matched]
    assert len(matched) == 1 and d.trace[-1] is matched[0] and matched[0].rule_id == d.rule_id
    assert [s.rule_id for s in d.trace] == [r.id for r in rules.rules[:len(d.trace)]]
    if f.deadline_days:
        assert d.deadlines.resolve == WorkSpan(days=f.deadline_days)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(body=rule_lists, cases=st.lists(any_facts, min_size=1, max_size=5))
def test_generated_rule_sets_decide_once_and_the_default_catches_the_rest(
        body: list[tuple[dict[str, Any], dict[str, Any]]], cases: list[CaseFacts]) -> None:
    doc = minimal_doc()
    doc["rules"][:0] = [{"id": f"r{i}", "when": w, "then": t} for i, (w, t) in enumerate(body)]
    rules = RuleSet.parse(doc)
    for f in cases:
        d = rules.evaluate(f)
        assert sum(s.matched for s in d.trace) == 1 and d.trace[-1].matched
        ids = [r.id for r in rules.rules]
        assert len(d.trace) == ids.index(d.rule_id) + 1
        if not body:
            assert d.rule_id == "default" and d.level == Level.GRID


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(body=rule_lists.filter(bool), data=st.data())
def test_a_broken_field_in_any_rule_is_reported_with_its_index(
        body: list[tuple[dict[str, Any], dict[str, Any]]], data: st.DataObject) -> None:
    doc = minimal_doc()
    doc["rules"][:0] = [{"id": f"r{i}", "when": w, "then": t} for i, (w, t) in enumerate(body)]
    i = data.draw(st.integers(0, len(body) - 1))
    section, key, value = data.draw(st.sampled_from([
        ("when", "risk_level", "purple"), ("when", "people_involved", {"min": 9, "max": 1}),
        ("when", "weekday", [8]), ("then", "track", "express"), ("then", "forces", ["navy"]),
        ("then", "deadlines", {"resolve": "soon"}), ("when", "nonsense", 1), ("then", "level", "province"),
    ]))
    doc["rules"][i][section][key] = value
    with pytest.raises(RulesInvalid) as e:
        RuleSet.parse(doc)
    assert any(x["field"].startswith(f"rules[{i}].{section}.{key}") for x in e.value.errors), e.value.errors


def test_facts_from_a_received_event() -> None:
    event = CaseReceived(case_id=uuid.uuid4(), at=datetime(2026, 10, 10, 2, tzinfo=SHANGHAI), code="FQ-1",
                         channel=Channel.HOTLINE_12345, request_type=RequestType.COMPLAINT, category="labor.wage",
                         risk_level=RiskLevel.YELLOW, risk_signals=["group"], people_involved=7,
                         location=LocationRef(grid_id="G01"), deadline_days=3, urgent=True)
    grid = UnitInfo("G01", "g", Level.GRID, "C1", GRID_PATH)
    saturday_morning = datetime(2026, 10, 10, 9, tzinfo=SHANGHAI)  # the National Day make-up workday
    f = case_facts(facts_doc(event), grid, saturday_morning, WorkCalendar().is_working_time(saturday_morning))
    assert f.working_time and f.channel == "hotline_12345" and f.risk_signals == {"group"}
    assert (f.deadline_days, f.urgent, f.unit_path, f.local_time.hour) == (3, True, GRID_PATH, 9)
    d = default_rules().evaluate(f)
    assert d.rule_id == "labor_group.street" and d.deadlines.resolve == WorkSpan(days=3)


def test_the_history_summary_says_what_changed() -> None:
    old = RuleSet.parse(minimal_doc())
    doc = minimal_doc()
    doc["rules"][:0] = [{"id": "a", "when": {"urgent": True}, "then": {}},
                        {"id": "b", "when": {"urgent": False}, "then": {}}]
    two = RuleSet.parse(doc)
    assert describe_changes(None, old) == ["first version: 1 rules"]
    assert describe_changes(old, two) == ["added rule a", "added rule b"]
    doc["rules"][0], doc["rules"][1] = doc["rules"][1], doc["rules"][0]
    doc["deadlines"]["street"]["special"]["accept"] = "1h"
    doc["rules"][-1]["description"] = "兜底"
    swapped = RuleSet.parse(doc)
    assert describe_changes(two, swapped) == ["changed rule default (description)", "reordered rules: b, a, default",
                                              "changed deadlines street.special"]
    assert describe_changes(swapped, swapped) == ["no change"]
    doc["rules"] = doc["rules"][1:]
    assert describe_changes(swapped, RuleSet.parse(doc)) == ["removed rule b"]
