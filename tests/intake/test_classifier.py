from __future__ import annotations

import re

import pytest

from intake_svc.domain.classifier import Classifier, Prediction, char_ngrams, load_cases
from intake_svc.evaluate_classifier import cross_validate_file, format_report, stratified_folds
from shared.taxonomy import Taxonomy

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return Taxonomy.default()


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.default()


def _assert_prediction_sane(p: Prediction, taxonomy: Taxonomy) -> None:
    assert taxonomy.is_leaf(p.category)
    assert p.request_type in taxonomy.request_types
    for conf in (p.category_confidence, p.request_type_confidence, p.group_confidence):
        assert 0.0 <= conf <= 1.0
    assert len(p.top3) == 3
    assert p.top3[0][0] == p.category or p.category_confidence <= p.top3[0][1]
    assert [c for c, _ in p.top3] == list(dict.fromkeys(c for c, _ in p.top3))
    assert all(0.0 <= prob <= 1.0 for _, prob in p.top3)
    assert [prob for _, prob in p.top3] == sorted((prob for _, prob in p.top3), reverse=True)


# --- taxonomy ---------------------------------------------------------------------------------------------------


def test_taxonomy_loads_with_chinese_labels_and_keywords(taxonomy: Taxonomy) -> None:
    assert len(taxonomy.groups) >= 13
    assert set(taxonomy.request_types) == {"dispute", "complaint", "report", "help", "consult", "suggestion"}
    for code in taxonomy.groups + taxonomy.codes:
        assert CJK.search(taxonomy.label(code)), code
        assert taxonomy.is_valid(code)
    for code in taxonomy.codes:
        group = taxonomy.parent(code)
        assert group is not None and code.startswith(f"{group}.")
        assert code in taxonomy.children(group)
        assert taxonomy.keywords(code) or taxonomy.keywords(group), code
    for rt in taxonomy.request_types:
        assert CJK.search(taxonomy.request_type_label(rt)) and taxonomy.request_type_keywords(rt)
    assert taxonomy.label("neighbor") == "邻里纠纷"
    assert taxonomy.label("neighbor.noise") == "噪声扰民"
    assert taxonomy.full_label("neighbor.noise") == "邻里纠纷/噪声扰民"
    assert not taxonomy.is_valid("neighbor.nonsense") and not taxonomy.is_valid("")
    with pytest.raises(KeyError):
        taxonomy.label("nope")


def test_every_category_in_the_dev_data_is_in_the_taxonomy(taxonomy: Taxonomy) -> None:
    _texts, categories, request_types = load_cases()
    assert len(categories) == 72
    for code in set(categories):
        assert taxonomy.is_leaf(code), code
        assert CJK.search(taxonomy.label(code)), code
    assert set(request_types) <= set(taxonomy.request_types)


def test_taxonomy_rejects_malformed_data() -> None:
    with pytest.raises(ValueError):
        Taxonomy.from_dict({"categories": {}, "request_types": {"help": {"label": "求助"}}})
    with pytest.raises(ValueError):
        Taxonomy.from_dict(
            {
                "categories": {"x": {"label": "某类", "children": {"y": {}}}},
                "request_types": {"help": {"label": "求助"}},
            }
        )
    with pytest.raises(ValueError):
        Taxonomy.from_dict(
            {
                "categories": {"x": {"label": "某类", "children": {"y": {"label": "子类"}}}},
                "request_types": {"help": {"label": "求助"}},
                "fallback": "x.z",
            }
        )


def test_a_new_category_is_reachable_from_keywords_alone() -> None:
    tax = Taxonomy.from_dict(
        {
            "categories": {
                "neighbor": {
                    "label": "邻里纠纷",
                    "children": {
                        "noise": {"label": "噪声扰民", "keywords": ["噪音", "吵闹"]},
                        "smoke": {"label": "吸烟烟味", "keywords": ["烟味", "抽烟"]},
                    },
                }
            },
            "request_types": {"complaint": {"label": "投诉", "keywords": ["投诉"]}},
        }
    )
    clf = Classifier(tax).fit(["楼上半夜噪音太大"], ["neighbor.noise"], ["complaint"])
    assert clf.predict("楼下邻居天天在阳台抽烟，烟味飘进我家").category == "neighbor.smoke"


# --- classifier -------------------------------------------------------------------------------------------------


def test_char_ngrams_split_on_punctuation_and_digits() -> None:
    grams = char_ngrams("漏水，3楼")
    assert grams["漏水"] == 1 and grams["楼"] == 1
    assert "水，" not in grams and "水3" not in grams and "3" not in grams


def test_cross_validated_top_level_accuracy_meets_target() -> None:
    report = cross_validate_file()
    assert report.n == 72
    assert report.top_level_accuracy >= 0.85, format_report(report, Taxonomy.default())
    assert report.full_code_accuracy >= 0.75
    assert report.request_type_accuracy >= 0.5
    assert "Top-level accuracy" in format_report(report, Taxonomy.default())


def test_folds_are_stratified_and_train_never_sees_the_test_fold() -> None:
    _texts, categories, _rts = load_cases()
    folds = stratified_folds(categories, 6, 7)
    assert folds == stratified_folds(categories, 6, 7)  # fixed seed → reproducible
    assert sorted(set(folds)) == list(range(6))
    assert max(folds.count(f) for f in range(6)) - min(folds.count(f) for f in range(6)) <= 1
    for code in set(categories):
        fs = [f for f, c in zip(folds, categories, strict=True) if c == code]
        assert len(set(fs)) == len(fs)  # a category's rows land in different folds
    report = cross_validate_file(seed=7)
    assert sorted(r.index for r in report.results) == list(range(72))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("楼上邻居每天晚上十二点还在拖动家具，吵得孩子睡不着", "neighbor.noise"),
        ("老板拖欠我们三个月工资不给", "labor.wage_arrears"),
        ("我家厨房顶上一直在滴水，应该是楼上的管子坏了，楼上不承认", "neighbor.water"),
        ("隔壁邻居家养的狗一到晚上就乱叫，还随地大小便，说了也不管", "neighbor.pets"),
        ("三楼那户把自行车、旧沙发全堆在楼梯间，人都过不去", "neighbor.space"),
        ("我在饭店当服务员，干了两年突然被老板开除，一分钱补偿都没有", "labor.contract"),
        ("我在建筑工地干活时被掉下来的砖头砸伤了头，包工头说不算工伤", "labor.injury"),
        ("小区物业费一年涨了两次，也不开业主大会，我们不服", "property_mgmt.fees"),
        ("丈夫喝醉酒就打我，我想离婚，但是担心孩子跟不了我", "marriage_family.marriage"),
        ("爷爷过世后留下的宅子，叔叔和我爸为怎么分遗产闹得很僵", "marriage_family.inheritance"),
        ("朋友前年借了我十万块钱，打了借条，现在躲着不还", "contract_debt.loan"),
        ("在网上买的电视机用了一周就坏了，商家不给换也不给退", "consumer.general"),
        ("村口的化工厂晚上偷偷往河里排废水，河水都变黑了，鱼也死了", "environment.pollution"),
        ("我爸在镇卫生院打完针就过敏休克了，我们认为是医生用错药", "medical.general"),
        ("早上送孩子上学在十字路口被一辆货车撞了，司机不肯赔医药费", "traffic.accident"),
        ("村里修路要征收我家的房子，补偿标准太低了，不同意签协议", "housing_land.demolition"),
        ("小区门口的下水道堵了好几天，污水漫到路上，臭气熏天", "municipal.drainage"),
        ("八十年代单位分房时的问题一直没有解决，我已经上访很多年了", "petition.historical"),
    ],
)
def test_new_texts_classify_sensibly(classifier: Classifier, taxonomy: Taxonomy, text: str, expected: str) -> None:
    p = classifier.predict(text)
    _assert_prediction_sane(p, taxonomy)
    assert p.category == expected, p
    assert p.group == taxonomy.group_of(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想在老家自己的宅基地上重新盖两层楼，想问问需要去哪里审批", "consult"),
        ("建议在社区增设一个老年食堂，方便行动不便的老人吃饭", "suggestion"),
        ("网格员巡查发现有人在河边偷偷倾倒建筑垃圾", "report"),
    ],
)
def test_request_type_cues(classifier: Classifier, text: str, expected: str) -> None:
    assert classifier.predict(text).request_type == expected


@pytest.mark.parametrize("text", ["", "   ", "你好", "。。。！！", "asdf 123", "谢谢", "😀", "a" * 5000])
def test_unknown_or_empty_text_does_not_crash(classifier: Classifier, taxonomy: Taxonomy, text: str) -> None:
    p = classifier.predict(text)
    _assert_prediction_sane(p, taxonomy)
    assert p.category_confidence < 0.5  # no evidence → no confident answer


def test_confident_on_clear_text_and_explains_keywords(classifier: Classifier) -> None:
    text = "楼上邻居每天晚上十二点还在拖动家具，吵得孩子睡不着"
    p = classifier.predict(text)
    assert p.category_confidence > 0.5
    assert {"楼上", "拖动家具"} <= set(classifier.explain(text, "neighbor.noise"))


def test_fit_validates_its_input(taxonomy: Taxonomy) -> None:
    with pytest.raises(ValueError):
        Classifier(taxonomy).fit(["噪音"], ["neighbor.noise", "neighbor.water"], ["complaint"])
    with pytest.raises(ValueError):
        Classifier(taxonomy).fit(["噪音"], ["neighbor"], ["complaint"])
    with pytest.raises(ValueError):
        Classifier(taxonomy).fit(["噪音"], ["neighbor.noise"], ["whatever"])
