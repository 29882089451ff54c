"""The code → Simplified Chinese label tables every service and every frontend shows (``GET /api/v1/dictionaries``).

One source: the category taxonomy is ``shared/data/taxonomy.yaml`` (``shared.taxonomy``); the other tables are here.
The status tables name intake's ``CaseStatus`` and routing's ``AssignmentStatus`` values (shared may not import the
services; ``tests/contracts/test_dictionaries.py`` checks every enum value has a label)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field

from shared.auth import Role
from shared.events.case import Channel, FeedbackResult, Level, Outcome, RequestType, RiskLevel, Track
from shared.taxonomy import Taxonomy

CHANNEL = {Channel.WALK_IN: "来访", Channel.PHONE: "来电", Channel.HOTLINE_12345: "12345工单",
           Channel.GRID_PATROL: "网格排查", Channel.ONLINE: "线上", Channel.POLICE_TRANSFER: "警情转调",
           Channel.COURT_TRANSFER: "诉调对接", Channel.PETITION_TRANSFER: "信访转办"}
REQUEST_TYPE = {RequestType.DISPUTE: "纠纷", RequestType.COMPLAINT: "投诉", RequestType.REPORT: "举报",
                RequestType.HELP: "求助", RequestType.CONSULT: "咨询", RequestType.SUGGESTION: "建议"}
LEVEL = {Level.DISTRICT: "区", Level.STREET: "街道", Level.COMMUNITY: "社区", Level.VILLAGE: "村居",
         Level.GRID: "网格", Level.BUILDING: "楼栋"}
TRACK = {Track.GENERAL: "普通门诊", Track.SPECIALIST: "专科门诊", Track.SPECIAL: "特需门诊",
         Track.FOLLOWUP: "社区门诊"}
RISK = {RiskLevel.BLUE: "蓝色", RiskLevel.YELLOW: "黄色", RiskLevel.RED: "红色"}
OUTCOME = {Outcome.RESOLVED: "调解成功", Outcome.FAILED_REFERRED: "调解不成（引导诉讼/仲裁）",
           Outcome.WITHDRAWN: "撤回", Outcome.NOT_APPLICABLE: "不予受理"}
FEEDBACK = {FeedbackResult.SATISFIED: "满意", FeedbackResult.UNSATISFIED: "不满意",
            FeedbackResult.UNREACHED: "未联系上"}
# 七调联动 and the other forces a rule may call in (routing's rules document accepts exactly these codes)
FORCE = {"police": "公安", "court": "法院", "petition": "信访", "people_mediation": "人民调解", "social": "社会组织",
         "arbitration": "仲裁", "procuratorate": "检察院", "legal_aid": "法律援助", "psychology": "心理服务",
         "labor": "人社（劳动监察）"}
# intake's CaseStatus
CASE_STATUS = {"received": "已受理", "assigned": "已派发", "in_progress": "办理中", "resolved": "已办结",
               "suspended": "已中止", "closed": "已销号", "returned": "已退回", "merged": "已合并"}
# routing's AssignmentStatus
ASSIGNMENT_STATUS = {"assigned": "待签收", "accepted": "已签收", "suspended": "已中止", "resolved": "已办结",
                     "closed": "已销号", "returned": "已退单", "escalated": "已提级", "dispatched": "已指派",
                     "reopened": "已重办", "merged": "已并案"}
ROLE = {Role.OPERATOR: "受理窗口", Role.GRID_WORKER: "网格员", Role.MEDIATOR: "调解员",
        Role.COMMUNITY_ADMIN: "社区管理员", Role.STREET_ADMIN: "街道管理员", Role.DISTRICT_VIEWER: "区级查看",
        Role.DISTRICT_ADMIN: "区综治中心",
        Role.ADMIN: "系统管理员", Role.SERVICE: "系统服务"}
UNKNOWN = "（未知）"


class Entry(BaseModel):
    code: str = Field(examples=["walk_in"])
    label: str = Field(description="简体中文名称", examples=["来访"])


class CategoryEntry(Entry):
    children: list[Entry] = Field(description="二级分类")


class Dictionaries(BaseModel):
    """字典: every code a frontend shows, with its Simplified Chinese label."""

    categories: list[CategoryEntry] = Field(description="矛盾纠纷分类（两级）")
    request_types: list[Entry] = Field(description="诉求类型")
    channels: list[Entry] = Field(description="来源渠道")
    case_statuses: list[Entry] = Field(description="案件状态")
    assignment_statuses: list[Entry] = Field(description="派单状态")
    outcomes: list[Entry] = Field(description="办理结果")
    tracks: list[Entry] = Field(description="门诊（分流）类型")
    forces: list[Entry] = Field(description="联动力量")
    levels: list[Entry] = Field(description="层级")
    risk_levels: list[Entry] = Field(description="风险等级（红黄蓝）")
    feedback_results: list[Entry] = Field(description="回访结果")
    roles: list[Entry] = Field(description="角色")


def _entries(table: dict[Any, str]) -> list[dict[str, str]]:
    return [{"code": str(code), "label": label} for code, label in table.items()]


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    return Taxonomy.default()


def categories() -> list[dict[str, Any]]:
    """The two-level taxonomy: groups in file order, each with its children (code, label)."""
    tax = taxonomy()
    return [{"code": g, "label": tax.label(g),
             "children": [{"code": c, "label": tax.label(c)} for c in tax.children(g)]} for g in tax.groups]


@lru_cache(maxsize=1)
def dictionaries() -> Dictionaries:
    """Every table, as ``GET /api/v1/dictionaries`` answers it."""
    return Dictionaries.model_validate({
        "categories": categories(),
        "request_types": _entries(REQUEST_TYPE),
        "channels": _entries(CHANNEL),
        "case_statuses": _entries(CASE_STATUS),
        "assignment_statuses": _entries(ASSIGNMENT_STATUS),
        "outcomes": _entries(OUTCOME),
        "tracks": _entries(TRACK),
        "forces": _entries(FORCE),
        "levels": _entries(LEVEL),
        "risk_levels": _entries(RISK),
        "feedback_results": _entries(FEEDBACK),
        "roles": _entries(ROLE),
    })
