from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidTag

from intake_svc.domain.case import case_code
from intake_svc.domain.personal import (
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_mobile,
    validate_id_number,
)
from shared.crypto import Sealer
from shared.events.case import RiskLevel


@pytest.mark.parametrize("raw", ["13812345678", "+86 138-1234-5678", "0086 13812345678", "138 1234 5678"])
def test_mobile_numbers_are_normalised(raw: str) -> None:
    assert normalize_mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "23812345678", "0571-88888888", "abc"])
def test_bad_mobile_numbers_are_rejected(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_mobile(raw)


def test_id_number_check_digit_and_birth_date() -> None:
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValueError, match="check digit"):
        validate_id_number("110105194912310021")
    with pytest.raises(ValueError, match="real date"):
        validate_id_number("110105194913310024")
    with pytest.raises(ValueError, match="18 characters"):
        validate_id_number("1101051949123100")


def test_masks_hide_the_middle() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("欧阳春花") == "欧***"
    assert mask_name("王") == "王*"
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_address("松涛花园3号楼201室") == "松涛花园*号楼***室"


def test_case_code_uses_the_shanghai_date() -> None:
    assert case_code(datetime(2026, 11, 22, 17, 0, tzinfo=UTC), 123) == "FQ-20261123-000123"


def test_risk_rules_from_data() -> None:
    from intake_svc.domain.risk import RiskRules, assess

    rules = RiskRules.load()
    quiet = assess(rules, text="楼上漏水", signals=[], people_involved=None, amount_involved=None)
    assert (quiet.level, quiet.reasons) == (RiskLevel.BLUE, [])
    group = assess(rules, text="工资", signals=[], people_involved=6, amount_involved=None)
    assert group.level == RiskLevel.RED and group.reasons == ["group(people:6)"]
    assert assess(rules, text="", signals=[], people_involved=None, amount_involved=150_000).level == RiskLevel.YELLOW
    assert assess(rules, text="", signals=[], people_involved=None, amount_involved=600_000).level == RiskLevel.RED
    words = assess(rules, text="对方扬言要跳楼", signals=[], people_involved=None, amount_involved=None)
    assert words.level == RiskLevel.RED and "extreme(text:跳楼)" in words.reasons
    stated = assess(rules, text="", signals=["vulnerable_party"], people_involved=None, amount_involved=None)
    assert stated.level == RiskLevel.YELLOW and stated.reasons == ["vulnerable(stated)"]
    repeat = assess(rules, text="", signals=[], people_involved=None, amount_involved=None, applicant_prior_cases=1)
    assert repeat.level == RiskLevel.YELLOW and repeat.reasons == ["repeat_applicant(cases:2)"]


def test_risk_rules_on_the_sample_cases() -> None:
    import json

    from intake_svc.domain.risk import RiskRules, assess
    from services.registry import ROOT

    rules = RiskRules.load()
    rows = [json.loads(line) for line in (ROOT / "services/data/cases_dev.jsonl").read_text().splitlines() if line]
    got = [(r["risk"], assess(rules, text=r["text"], signals=r["risk_signals"], people_involved=r["people_involved"],
                              amount_involved=r["amount_involved"]).level.value) for r in rows]
    assert all(mine == "red" for want, mine in got if want == "red"), "every red case is caught"
    assert sum(want == mine for want, mine in got) / len(got) >= 0.85


def test_sealer_round_trips_rotates_and_binds_to_the_case() -> None:
    import base64
    import os

    k1, k2 = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    old = Sealer({"k1": k1}, "k1")
    sealed = old.seal("13812345678", b"case-1")
    assert "13812345678" not in sealed and sealed.startswith("k1.")
    rotated = Sealer({"k1": k1, "k2": k2}, "k2")
    assert rotated.open(sealed, b"case-1") == "13812345678"
    assert rotated.seal("x").startswith("k2.")
    with pytest.raises(InvalidTag):
        rotated.open(sealed, b"case-2")  # sealed for another case


def test_no_two_different_sample_cases_look_like_the_same_matter() -> None:
    import itertools
    import json

    from intake_svc.domain.dedup import similarity
    from services.registry import ROOT

    texts = [json.loads(line)["text"] for line in (ROOT / "services/data/cases_dev.jsonl").read_text().splitlines()
             if line]
    assert max(similarity(a, b) for a, b in itertools.combinations(texts, 2)) < 0.5  # the link threshold
    retold = "楼上卫生间一直漏水，渗到我家天花板，协商没有结果。"
    assert similarity("楼上卫生间漏水到我家天花板，协商无果。", retold) >= 0.5


@pytest.mark.parametrize(("a", "b", "same"), [
    # one shared spot named two ways: the south gate's refuse station of one estate
    ("青澜区鹭鸣街道滨河路22号滨河小区南门垃圾站", "青澜区鹭鸣街道滨河路22号滨河小区南门口", True),
    ("临波路9号纺织厂宿舍东院", "临波路9号纺织厂宿舍西院", True),
    ("金桂苑2号楼", "金桂苑2号楼", True),
    # two buildings of one estate, two estates on one road
    ("滨河路22号滨河小区8号楼", "滨河路22号滨河小区9号楼", False),
    ("松涛路18号松涛花园", "松涛路36号听松苑", False),
])
def test_place_key_joins_spots_of_one_place_only(a: str, b: str, same: bool) -> None:
    from intake_svc.domain.dedup import place_key

    assert place_key(a) is not None and place_key(b) is not None
    assert (place_key(a) == place_key(b)) is same


@pytest.mark.parametrize("home", ["松涛花园2号楼1单元402室", "海景大厦B座1203室", "滨河小区8号楼2单元", ""])
def test_a_home_has_no_shared_place(home: str) -> None:
    from intake_svc.domain.dedup import place_key

    # two households' leaks in one building are two matters: a flat or a stairwell unit is never a shared place
    assert place_key(home) is None
