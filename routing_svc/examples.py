"""Examples of routing's request bodies and main responses, keyed by component schema name: assignments (签收、退单、办结、
提级…), the work list, the org, the rules, the working calendar, /me and /dictionaries.

Kept apart from the schemas on purpose: ``shared.openapi.merge_examples`` puts each into
``components.schemas.<Name>.examples`` of the derived document; tests/contracts/test_openapi_examples.py
checks that every request body and 2xx response has one and that each validates against its schema.
Texts are what users type and read, in Chinese; unit and member ids are the demo org's
(``services/data/org_demo.json``).
"""

# ruff: noqa: E501  (data: a long Chinese text stays on one line)

from __future__ import annotations

from typing import Any

from routing_svc.examples_people import EXAMPLES as PEOPLE_EXAMPLES

# a rules document (PUT /api/v1/rules, and as GET answers it): the shipped deadlines, two rules
_RULES_DOCUMENT: dict[str, Any] = {
    "deadlines": {
        "grid": {
            "general": {"accept": "4h", "resolve": "today<16:00"}, "specialist": {"accept": "4h", "resolve": "10d"},
            "special": {"accept": "1h", "resolve": "5d", "escalate_on_resolve_overdue": True},
            "followup": {"accept": "1d", "resolve": None},
        },
        "community": {
            "general": {"accept": "4h", "resolve": "5d"}, "specialist": {"accept": "4h", "resolve": "15d"},
            "special": {"accept": "1h", "resolve": "5d", "escalate_on_resolve_overdue": True},
            "followup": {"accept": "1d", "resolve": None},
        },
        "street": {
            "general": {"accept": "4h", "resolve": "10d"}, "specialist": {"accept": "4h", "resolve": "20d"},
            "special": {"accept": "1h", "resolve": "10d", "escalate_on_resolve_overdue": True},
            "followup": {"accept": "2d", "resolve": None},
        },
        "district": {
            "general": {"accept": "1d", "resolve": "15d"}, "specialist": {"accept": "1d", "resolve": "30d"},
            "special": {"accept": "2h", "resolve": "15d"}, "followup": {"accept": "2d", "resolve": None},
        },
    },
    "rules": [
        {
            "id": "labor.street", "description": "劳动争议：街道专科门诊，劳动监察联动",
            "when": {"category": "labor.*"}, "then": {"level": "street", "track": "specialist", "forces": ["labor"]},
        },
        {
            "id": "default.grid", "description": "一般矛盾纠纷：网格就地化解（小事不出村/社区）",
            "then": {"level": "grid", "track": "general"},
        },
    ],
}

EXAMPLES: dict[str, Any] = {**PEOPLE_EXAMPLES}
EXAMPLES["OrgImportResult"] = {"units": 12, "members": 30}
EXAMPLES["DayOut"] = {"day": "2026-11-07", "is_workday": False, "source": "manual", "note": "调休"}
EXAMPLES["DaysPut"] = {"days": [{"day": "2026-11-07", "is_workday": False, "note": "调休"}], "remove": []}
EXAMPLES["MemberContact"] = {"member_id": "U-G01-1", "unit_id": "G01", "name": "张某", "phone": "13900001101", "active": True}
EXAMPLES["ReasonBody"] = {"reason": "当事人外出务工，约定下周上门调解"}
EXAMPLES["EscalateBody"] = {"reason": "当事人外出务工，约定下周上门调解"}
EXAMPLES["AcceptBody"] = {"note": "已电话联系双方，约定周三上午现场查看"}
EXAMPLES["ResumeBody"] = {"note": "已电话联系双方，约定周三上午现场查看"}
EXAMPLES["TakeBody"] = {"note": "已电话联系双方，约定周三上午现场查看"}
EXAMPLES["AssignMemberBody"] = {"member_id": "U-G01-1", "reason": "当事人外出务工，约定下周上门调解"}
EXAMPLES["DispatchBody"] = {"unit_id": "G01", "note": "已电话联系双方，约定周三上午现场查看"}
EXAMPLES["MemberPublic"] = {
    "id": "U-G01-1", "unit_id": "G01", "name": "张某", "phone": "13900001101", "roles": ["grid_worker"],
    "forces": ["grid"], "active": True, "version": 3,
}
EXAMPLES["ExtensionBody"] = {"reason": "当事人外出务工，约定下周上门调解", "due_at": "2026-11-03T09:30:00+08:00"}
EXAMPLES["ReopenBody"] = {"reason": "unsatisfied_feedback", "note": "已电话联系双方，约定周三上午现场查看"}
EXAMPLES["ApproveExtensionBody"] = {"note": "已电话联系双方，约定周三上午现场查看", "due_at": "2026-11-03T09:30:00+08:00"}
EXAMPLES["MemberUpdate"] = {
    "name": "张某", "unit_id": "G01", "roles": ["grid_worker"], "forces": ["grid"], "phone": "13900001101",
    "email": "zhang@example.gov.cn", "active": True,
}
EXAMPLES["YearNotice"] = {"note": "国务院办公厅关于2027年部分节假日安排的通知", "holidays": ["2027-01-01"], "workdays": ["2027-01-04"]}
EXAMPLES["ResolveBody"] = {
    "outcome": "resolved", "note": "已电话联系双方，约定周三上午现场查看", "mediation_agreement": False,
    "judicial_confirmation": False,
}
EXAMPLES["RulesVersionInfo"] = {
    "version": 2, "created_by": "U-admin-1", "created_at": "2026-11-03T09:30:00+08:00",
    "comment": "劳动争议直接派街道", "changes": ["新增规则 labor.wage_arrears"],
}
EXAMPLES["UnitPublic"] = {
    "id": "G01", "name": "松涛社区第一网格", "level": "grid", "parent_id": "S1", "path": ["D1", "S1", "G01"],
    "address_keywords": ["松涛花园", "松涛路"], "active": True, "version": 2,
}
EXAMPLES["RulesPublic"] = {
    "version": 2, "created_by": "U-admin-1", "created_at": "2026-11-03T09:30:00+08:00",
    "comment": "劳动争议直接派街道", "changes": ["新增规则 labor.wage_arrears"], "document": _RULES_DOCUMENT,
}
EXAMPLES["YearOut"] = {
    "year": 2027, "source": "notice", "note": "国务院办公厅关于2027年部分节假日安排的通知", "loaded_by": "U-admin-1",
    "loaded_at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["UnitUpdate"] = {
    "name": "松涛社区第一网格", "address_keywords": ["松涛花园", "松涛路"],
    "polygon": [[120.3, 36.07], [120.31, 36.07], [120.31, 36.09], [120.3, 36.09], [120.3, 36.07]], "active": True,
}
EXAMPLES["EvaluateBody"] = {
    "category": None, "request_type": "dispute", "risk_level": "blue", "risk_signals": [], "channel": "walk_in",
    "people_involved": 2, "amount_involved": None, "unit_id": "G01",
    "location": {"grid_id": "G01", "address": "松涛花园3号楼502室"}, "at": "2026-11-03T09:30:00+08:00",
    "deadline_days": None, "urgent": False, "document": None,
}
EXAMPLES["Me"] = {
    "sub": "u-1001", "name": "张三", "roles": [{"code": "assignment.handle", "label": "签收、办理、退单"}],
    "unit": {"id": "G-0101", "name": "枫桥社区第一网格", "level": "grid"},
    "unit_path": [{"id": "G-0101", "name": "枫桥社区第一网格", "level": "grid"}], "scope": "subtree",
    "capabilities": [{"code": "assignment.handle", "label": "签收、办理、退单"}],
}
EXAMPLES["WorkList"] = {
    "items": [
        {
            "assignment_id": "6e7f8a9b-0c1d-4e2f-8a3b-4c5d6e7f8a9b", "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            "case_code": "FQ-2026-000123", "title": "楼上漏水", "unit_id": "G01", "assignee_id": "U-G01-1",
            "risk_level": "blue", "track": "general", "status": "assigned",
            "accept_due_at": "2026-11-03T09:30:00+08:00", "resolve_due_at": "2026-11-03T09:30:00+08:00",
            "due_at": "2026-11-03T09:30:00+08:00", "clock": "resolve", "working_seconds_left": 12.5, "overdue": False,
            "pending_extension": False, "version": 2,
        },
    ],
    "counts": {"assigned": 3, "accepted": 5}, "total": 8,
}
# one assignment as routing answers it: in a page of assignments and in a case's history
_ASSIGNMENT: dict[str, Any] = {
    "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "case_code": "FQ-2026-000123", "unit_id": "G01", "level": "grid", "track": "general", "forces": ["grid"],
    "status": "assigned", "accept_due_at": "2026-11-03T09:30:00+08:00",
    "resolve_due_at": "2026-11-03T09:30:00+08:00", "rule_id": "c5d6e7f8-1a2b-4c3d-9e4f-5a6b7c8d9e0f",
    "explanation": "按事发地址定位到松涛社区第一网格，依据“邻里纠纷由网格先行调解”派发网格",
    "accepted_by": "U-G01-1", "accepted_at": "2026-11-03T09:30:00+08:00", "resolved_by": "U-G01-1",
    "resolved_at": "2026-11-03T09:30:00+08:00", "outcome": "resolved",
    "created_at": "2026-11-03T09:30:00+08:00", "version": 2, "assignee_id": "U-G01-1",
}


EXAMPLES["Page_AssignmentPublic_"] = {
    "items": [
        _ASSIGNMENT,
    ],
    "next_cursor": None,
}
EXAMPLES["EvaluateResult"] = {
    "version": 2,
    "located": {
        "unit_id": "G01", "unit_name": "松涛社区第一网格", "level": "grid", "method": "grid_id",
        "explanation": "按事发地址定位到松涛社区第一网格，依据“邻里纠纷由网格先行调解”派发网格",
    },
    "working_time": False,
    "decision": {
        "rule_id": "c5d6e7f8-1a2b-4c3d-9e4f-5a6b7c8d9e0f", "level": "grid", "unit_id": "G01",
        "target_unit_id": "9d8c7b6a-5f4e-4d3c-ab2a-1f0e9d8c7b6a", "track": "general", "forces": ["grid"],
        "deadlines": {"accept": "PT2H", "resolve": "P5D", "escalate_on_resolve_overdue": False},
        "task_force": {"lead": "街道综治中心", "plan": "三日内制定化解方案"},
        "explanation": "按事发地址定位到松涛社区第一网格，依据“邻里纠纷由网格先行调解”派发网格",
        "trace": [{"rule_id": "c5d6e7f8-1a2b-4c3d-9e4f-5a6b7c8d9e0f", "matched": False, "why": "类别为邻里纠纷，风险为蓝色"}],
    },
    "accept_due_at": "2026-11-03T09:30:00+08:00", "resolve_due_if_accepted_at_once": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["AssignmentDetail"] = {
    **_ASSIGNMENT, "cause": "routed",
    "previous_assignment_id": "0b9f4a52-6d1e-4c3a-9b1e-2f6c8d7e5a10", "close_due_at": "2026-11-03T09:30:00+08:00",
    "closed_at": None, "assignee_at": "2026-11-03T09:30:00+08:00",
    "suspended_at": "2026-11-03T09:30:00+08:00",
    "pending_extension": {
        "clock": "resolve", "reason": "当事人外出务工，约定下周上门调解",
        "requested_due_at": "2026-11-03T09:30:00+08:00", "requested_by": "U-G01-1",
        "requested_at": "2026-11-03T09:30:00+08:00",
    },
    "task_force": {"lead": "街道综治中心", "plan_due_at": "2026-11-03T09:30:00+08:00"},
    "escalate_on_resolve_overdue": False, "mediation_agreement": False, "judicial_confirmation": False,
    "read_only": False, "allowed_actions": ["accept", "return"],
    "history": [{"at": "2026-11-03T09:30:00+08:00", "action": "accept", "actor": "U-G01-1", "detail": {}}],
}
EXAMPLES["CaseRouting"] = {
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "current": _ASSIGNMENT,
    "history": [
        _ASSIGNMENT,
    ],
}
EXAMPLES["Dictionaries"] = {
    "categories": [
        {
            "code": "neighbor", "label": "邻里纠纷",
            "children": [{"code": "neighbor.noise", "label": "噪声扰民"}, {"code": "neighbor.water", "label": "漏水渗水"}],
        },
        {
            "code": "property_mgmt", "label": "物业管理",
            "children": [
                {"code": "property_mgmt.fees", "label": "物业收费"},
                {"code": "property_mgmt.parking", "label": "小区停车"},
            ],
        },
    ],
    "request_types": [{"code": "dispute", "label": "纠纷"}, {"code": "complaint", "label": "投诉"}],
    "channels": [{"code": "walk_in", "label": "来访"}, {"code": "phone", "label": "来电"}],
    "case_statuses": [{"code": "received", "label": "已受理"}, {"code": "assigned", "label": "已派发"}],
    "assignment_statuses": [{"code": "assigned", "label": "待签收"}, {"code": "accepted", "label": "已签收"}],
    "outcomes": [{"code": "resolved", "label": "调解成功"}, {"code": "failed_referred", "label": "调解不成（引导诉讼/仲裁）"}],
    "tracks": [{"code": "general", "label": "普通门诊"}, {"code": "specialist", "label": "专科门诊"}],
    "forces": [{"code": "police", "label": "公安"}, {"code": "court", "label": "法院"}],
    "levels": [{"code": "district", "label": "区"}, {"code": "street", "label": "街道"}],
    "risk_levels": [{"code": "blue", "label": "蓝色"}, {"code": "yellow", "label": "黄色"}],
    "feedback_results": [{"code": "satisfied", "label": "满意"}, {"code": "unsatisfied", "label": "不满意"}],
    "roles": [{"code": "operator", "label": "受理窗口"}, {"code": "grid_worker", "label": "网格员"}],
}

# inline bodies (no component schema), by operation id: the JSON media type's ``example``
OPERATIONS: dict[str, dict[str, Any]] = {
    "import_org": {"request": {
        "units": [
            {"id": "C1", "name": "松涛社区", "level": "community", "parent_id": "S1"},
            {"id": "G01", "name": "松涛社区第一网格", "level": "grid", "parent_id": "C1",
             "address_keywords": ["松涛花园", "松涛路18号"],
             "polygon": [[120.3, 36.07], [120.31, 36.07], [120.31, 36.09], [120.3, 36.09], [120.3, 36.07]]},
        ],
        "members": [{"id": "U-G01-1", "name": "张某", "role": "grid_worker", "unit_id": "G01",
                     "phone": "13900001101"}],
    }},
    "put_rules": {"request": _RULES_DOCUMENT},
}
