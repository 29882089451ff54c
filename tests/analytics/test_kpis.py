"""Every section 7 KPI of a scripted week, exactly, through the real bus; scope, 同比/环比, breakdowns, trend."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from analytics_svc.store import kpis as queries
from analytics_svc.store import rollups
from analytics_svc.store.kpis import Filters
from shared.auth import Role
from shared.clock import SHANGHAI
from tests.analytics.conftest import Lab
from tests.analytics.scenario import WEEK, Week, load, org, week
from tests.analytics.test_increments import rollup_differences
from tests.support import auth


@pytest.fixture(scope="module")
async def w(lab: Lab) -> Week:
    scripted = week(org())
    await load(lab, scripted)
    return scripted


async def get(lab: Lab, path: str, headers: dict[str, str], **params: Any) -> Any:
    r = await lab.stack.analytics.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def street_admin(w: Week) -> dict[str, str]:
    return auth(Role.STREET_ADMIN, w.org.id("S"))


async def test_every_kpi_of_the_street_is_exactly_what_the_script_says(lab: Lab, w: Week) -> None:
    k = await get(lab, "/api/v1/kpis", street_admin(w), **WEEK)
    assert k["unit_id"] == w.org.id("S")
    assert k["received"] == 7  # A B C D E F H (G merged, K unassigned, L another street)
    assert k["accepted_on_time_rate"] == 0.7273  # 8 of 11: late C, overdue B@G1 and E@C2; F not yet due
    assert k["completion_rate"] == 0.7143  # 5 outcomes credited to S (E's is the district's) of 7
    assert k["resolution_rate"] == 0.8  # D failed
    assert k["on_time_completion_rate"] == 0.8  # D late; C on time thanks to its extension
    assert k["local_resolution_rate"] == 0.75  # A C H at a grid; B at the street
    assert k["street_resolution_rate"] == 1.0
    assert k["escalation_rate"] == 0.1429  # only E reached the street (B only its community)
    assert k["satisfaction_rate"] == 0.6  # A 1/1, B 1/3, H 1/1; D unreached is no answer
    assert k["closed_loop_rate"] == 0.6  # A B D
    assert k["reopen_rate"] == 0.2  # B, reopened twice, counts once
    assert k["repeat_applicant_rate"] == 0.3333  # k1 (A and F) of k1 k2 k3
    assert k["median_accept_minutes"] == 59.0  # 54 55 55 59 59 59 60 175 960
    assert k["median_resolve_hours"] == 48.0  # 25 41 48 54 95
    assert k["counts"]["accept_counted"] == 11 and k["counts"]["accepted_on_time"] == 8
    assert k["counts"]["answers"] == 5 and k["counts"]["reopened"] == 1
    # 环比: the week before holds only I; 同比: a year earlier only J
    assert (k["previous"]["from"][:10], k["previous"]["received"], k["previous"]["resolution_rate"]) == \
        ("2025-02-24", 1, 1.0)
    assert (k["year_ago"]["from"][:10], k["year_ago"]["received"], k["year_ago"]["resolution_rate"]) == \
        ("2024-03-03", 1, 0.0)


async def test_the_district_sees_the_whole_tree_and_the_credit_follows_the_resolving_level(
        lab: Lab, w: Week) -> None:
    k = await get(lab, "/api/v1/kpis", auth(Role.DISTRICT_VIEWER, w.org.id("D")), **WEEK)
    assert k["unit_id"] == w.org.id("D")
    assert k["received"] == 8  # + L; K has no unit yet
    assert (k["with_outcome"], k["resolved"]) == (7, 6)  # + E (resolved at the district) and L
    assert k["local_resolution_rate"] == 0.6667  # A C H L of 6
    assert k["street_resolution_rate"] == 0.8333  # all but E
    assert k["accepted_on_time_rate"] == 0.7692  # + E@D and L@G4: 10 of 13


async def test_a_community_admin_sees_its_subtree_only(lab: Lab, w: Week) -> None:
    c1 = auth(Role.COMMUNITY_ADMIN, w.org.id("C1"))
    k = await get(lab, "/api/v1/kpis", c1, **WEEK)
    assert k["unit_id"] == w.org.id("C1")
    assert k["received"] == 5  # A B C F H
    assert (k["with_outcome"], k["completion_rate"], k["resolution_rate"]) == (3, 0.6, 1.0)  # B resolved at S
    assert k["accepted_on_time_rate"] == 0.6667  # A, B@C1 twice, H of A B@G1 B@C1 B@C1 C H
    for outside in ("S", "C2", "G3", "D"):
        r = await lab.stack.analytics.get("/api/v1/kpis", params={**WEEK, "unit_id": w.org.id(outside)}, headers=c1)
        assert r.status_code == 404 and r.json()["code"] == "unit_not_found", outside


async def test_zero_denominators_are_null_and_hotline_rates(lab: Lab, w: Week) -> None:
    h = await get(lab, "/api/v1/kpis/hotline", street_admin(w), **WEEK)
    assert (h["received"], h["accepted_on_time_rate"], h["on_time_completion_rate"], h["satisfaction_rate"]) == \
        (1, 1.0, 1.0, 1.0)
    none = await get(lab, "/api/v1/kpis/hotline", street_admin(w), **WEEK, unit_id=w.org.id("C2"))
    assert (none["received"], none["accepted_on_time_rate"], none["on_time_completion_rate"],
            none["satisfaction_rate"]) == (0, None, None, None)
    empty = await get(lab, "/api/v1/kpis", street_admin(w), **{"from": "2025-01-06", "to": "2025-01-12"})
    rates = {k: v for k, v in empty.items() if k.endswith("_rate") or k.startswith("median")}
    assert empty["received"] == 0 and set(rates.values()) == {None}


async def test_breakdowns_by_unit_and_channel(lab: Lab, w: Week) -> None:
    units = await get(lab, "/api/v1/breakdown", street_admin(w), **WEEK, dimension="unit")
    by = {i["key"]: i for i in units["items"]}
    c1, c2 = by[w.org.id("C1")], by[w.org.id("C2")]
    assert c1["label"] == "一社区" and c1["kpis"]["received"] == 5 and c1["kpis"]["counts"]["with_outcome"] == 3
    assert c2["kpis"]["received"] == 2 and c2["kpis"]["counts"]["with_outcome"] == 1  # D (E went to the district)
    assert c2["kpis"]["resolution_rate"] == 0.0 and c2["kpis"]["escalation_rate"] == 0.5
    channels = await get(lab, "/api/v1/breakdown", street_admin(w), **WEEK, dimension="channel")
    got = {i["key"]: (i["label"], i["kpis"]["received"]) for i in channels["items"]}
    assert got == {"walk_in": ("来访", 6), "hotline_12345": ("12345工单", 1)}
    levels = await get(lab, "/api/v1/breakdown", street_admin(w), **WEEK, dimension="level")
    # cases by the level where they were resolved (else where they are); community only from its assignments
    assert {i["key"]: i["kpis"]["received"] for i in levels["items"]} == {"grid": 5, "street": 1, "district": 1,
                                                                          "community": 0}


async def test_daily_trend_with_previous_and_year_ago(lab: Lab, w: Week) -> None:
    tr = await get(lab, "/api/v1/trend", street_admin(w), **WEEK, metric="received", interval="day")
    points = {p["bucket"]: (p["value"], p["previous"], p["year_ago"]) for p in tr["points"]}
    assert len(points) == 7
    assert points["2025-03-03"] == (2, 0, 0)
    assert points["2025-03-04"] == (1, 2, 0)
    assert points["2025-03-05"] == (2, 1, 1)  # J was received on 2024-03-05
    assert points["2025-03-09"] == (1, 0, 0)
    weekly = await get(lab, "/api/v1/trend", street_admin(w), **WEEK, metric="resolution_rate", interval="week")
    assert [(p["bucket"], p["value"], p["previous"]) for p in weekly["points"]] == [("2025-03-03", 0.8, 1.0)]


async def test_funnel_and_hotspots(lab: Lab, w: Week) -> None:
    f = await get(lab, "/api/v1/funnel", street_admin(w), **WEEK)
    assert [(s["label"], s["count"]) for s in f["stages"]] == [("网格", 7), ("社区/村居", 2), ("街道", 1), ("区", 1)]
    h = await get(lab, "/api/v1/hotspots", street_admin(w), **WEEK)
    assert [(g["unit_id"], g["count"]) for g in h["grids"]][:1] == [(w.org.id("G1"), 3)]
    assert {g["unit_id"]: g["count"] for g in h["grids"]} == {w.org.id("G1"): 3, w.org.id("G2"): 2,
                                                               w.org.id("G3"): 2}
    assert [(c["category"], c["count"]) for c in h["categories"]] == [
        ("neighbor.water", 4), ("labor.wage_arrears", 2), ("neighbor.noise", 1)]  # A C F H; D E; B
    assert h["categories"][0]["label"] == "邻里纠纷·漏水渗水"
    assert h["repeat_applicants"] == [{"applicant_key": "k1", "count": 2}]
    assert h["addresses"] == [{"address_key": "addr-1", "count": 1}]
    # A and B were placed in building B1 by routing (B kept it when escalated)
    assert h["buildings"] == [{"unit_id": w.org.id("B1"), "label": "一号楼", "count": 2}]


async def test_bad_input_is_a_problem_naming_the_field(lab: Lab, w: Week) -> None:
    s = street_admin(w)
    for params, field in (({"metric": "nope"}, "query.metric"), ({"interval": "year"}, "query.interval"),
                          ({"from": "2025-03-09", "to": "2025-03-01"}, "query.from"),
                          ({"from": "2025-03-01T00:00:00"}, "query.from"), ({"channel": "fax"}, "query.channel")):
        r = await lab.stack.analytics.get("/api/v1/trend", params=params, headers=s)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in r.json().get("errors", [])} | {r.json().get("field")}, r.json()
    r = await lab.stack.analytics.get("/api/v1/kpis")
    assert r.status_code == 401


async def test_ledger_and_kpi_exports_in_csv_and_xlsx_with_chinese_headers(lab: Lab, w: Week) -> None:
    s = street_admin(w)
    r = await lab.stack.analytics.get("/api/v1/export", params={**WEEK, "format": "csv"}, headers=s)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["案件编号", "受理时间", "受理渠道", "诉求类型", "矛盾类别", "风险等级"]
    codes = {row[0] for row in rows[1:]}
    assert codes == {f"FQ-T-{w.cases[k].case_id.hex[:8]}" for k in "ABCDEFH"}
    b = next(row for row in rows[1:] if row[0] == f"FQ-T-{w.cases['B'].case_id.hex[:8]}")
    assert (b[1], b[7], b[11], b[13], b[19]) == ("2025-03-03 10:00", "测试街道", "调解成功", "街道", "2")

    r = await lab.stack.analytics.get("/api/v1/export", params={**WEEK, "format": "xlsx"}, headers=s)
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.title == "案件台账" and sheet.max_row == 8 and sheet.cell(1, 1).value == "案件编号"

    r = await lab.stack.analytics.get("/api/v1/export", params={**WEEK, "format": "xlsx", "table": "kpis"},
                                      headers=s)
    table = {row[0]: row[1:] for row in load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)}
    assert table["指标"] == ("本期", "环比（上期）", "同比（去年同期）")
    assert table["化解率"] == (0.8, 1.0, 0.0) and table["受理量"] == (7, 1, 1)
    assert table["满意率"] == (0.6, None, None)  # no answers in the earlier windows: empty, not 0

    r = await lab.stack.analytics.get("/api/v1/export", params={**WEEK, "table": "breakdown", "dimension": "unit"},
                                      headers=s)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["分组", "受理量", "按时签收率"] and ["一社区", "5"] == rows[1][:2]


async def test_daily_rollups_and_fact_rows_give_the_same_kpis(lab: Lab, w: Week) -> None:
    start, end = datetime(2025, 3, 3, tzinfo=SHANGHAI), datetime(2025, 3, 10, tzinfo=SHANGHAI)
    async with lab.stack.apps["analytics"].state.runtime.session() as s:
        for unit in (w.org.id("S"), w.org.id("D"), w.org.id("C1"), w.org.id("G3"), None):
            f = Filters(start, end, unit)
            assert queries.whole_days(f) is not None
            from_rollups, from_facts = await queries.kpis(s, f), await queries.kpis_from_facts(s, f)
            assert from_rollups == from_facts, unit
        assert (await queries.kpis(s, Filters(start, end, w.org.id("S"))))["received"] == 7



async def test_rollup_rows_kept_by_increments_are_the_rows_rebuilt_from_the_facts(lab: Lab, w: Week) -> None:
    """After the scripted week (as the consumer batched it), every rollup row equals the aggregate of its facts."""
    async with lab.stack.apps["analytics"].state.runtime.session() as s:
        assert await rollup_differences(s) == {t: ([], []) for t in rollups.COLUMNS}
