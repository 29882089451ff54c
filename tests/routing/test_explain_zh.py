"""派发依据 in Chinese: built from the locate result and the decision; the English trace stays on the dry run."""

from __future__ import annotations

import re

from routing_svc.domain.explain import CONDITION_ZH, explain_zh
from routing_svc.domain.locate import Located, LocateMethod, UnitInfo
from routing_svc.domain.rules import default_rules
from routing_svc.domain.rules_document import When
from shared.events.case import Level
from tests.routing.test_rules import GRID_PATH, facts

GRID = UnitInfo("G01", "松涛一网格", Level.GRID, "C1", GRID_PATH)
COMMUNITY = UnitInfo("C1", "松涛社区", Level.COMMUNITY, "S1", GRID_PATH[:3])
STREET = UnitInfo("S1", "鹭鸣街道", Level.STREET, "D1", GRID_PATH[:2])
# ASCII words allowed in the Chinese text: unit and rule ids only
IDS = re.compile(r"^(?:[A-Z]\d+|default(?:\.[a-z_]+)?|[a-z_]+\.[a-z_.]+)$")


def _ascii_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*", text) if not IDS.match(w)]


def test_a_default_routing_reads_in_chinese() -> None:
    d = default_rules().evaluate(facts())
    text = explain_zh(Located(GRID, LocateMethod.GRID_ID, "grid given at intake: G01"), d, GRID)
    assert text.startswith("受理时已指定网格：松涛一网格（G01）；适用默认规则")
    assert "派至网格松涛一网格（G01）" in text and "普通门诊" in text
    assert _ascii_words(text) == [], text


def test_a_fight_names_the_conditions_the_police_and_the_keyword() -> None:
    d = default_rules().evaluate(facts(risk_level="red", risk_signals={"violence"}))
    located = Located(GRID, LocateMethod.ADDRESS_KEYWORD, "address keyword", keyword="听松苑")
    text = explain_zh(located, d, COMMUNITY)
    assert "“听松苑”" in text and "公安" in text and "风险信号" in text and "松涛社区（C1）" in text
    assert _ascii_words(text) == [], text


def test_triage_return_and_channel_deadline() -> None:
    d = default_rules().evaluate(facts(deadline_days=5, channel="hotline_12345"))
    text = explain_zh(Located(STREET, LocateMethod.TRIAGE, "no location given"), d, STREET, "returned")
    assert text.startswith("退单后重新派发；未能定位到网格，转入鹭鸣街道（S1）街道中心分拨")
    assert "5 个工作日内办结" in text
    assert _ascii_words(text) == [], text


def test_every_condition_has_a_chinese_name() -> None:
    assert set(CONDITION_ZH) == set(When.model_fields)
