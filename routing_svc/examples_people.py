"""Examples of routing's co-handling tasks (七调联动), the units' responsible members per force, 回头看, 包案领导 and
专班 (issue 18), keyed by component schema name and merged into ``routing_svc.examples.EXAMPLES``. Unit and member
ids are the demo org's (``services/data/org_demo.json``), forces and rules the shipped ones."""

# ruff: noqa: E501  (data: a long Chinese text stays on one line)

from __future__ import annotations

from typing import Any

CASE_ID = "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
ASSIGNMENT_ID = "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c"
_MILESTONES: list[dict[str, Any]] = [
    {"id": "m1", "title": "走访双方当事人，摸清诉求", "due_at": "2026-11-06T17:30:00+08:00", "done": True,
     "done_at": "2026-11-05T16:00:00+08:00"},
    {"id": "m2", "title": "召开联席调解会", "due_at": "2026-11-12T17:30:00+08:00", "done": False, "done_at": None},
]

EXAMPLES: dict[str, Any] = {}
EXAMPLES["TaskPublic"] = {
    "id": "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e", "case_id": CASE_ID, "case_code": "FQ-2026-000123",
    "assignment_id": ASSIGNMENT_ID, "force": "people_mediation", "force_label": "人民调解", "member_id": "U-S1-3",
    "member_unit_id": "S1", "required": True, "status": "completed", "due_at": "2026-11-10T17:30:00+08:00",
    "overdue": False, "accepted_at": "2026-11-03T10:05:00+08:00", "completed_at": "2026-11-05T16:40:00+08:00",
    "report": "已组织双方到调解室面谈，被申请人同意承担维修费用，协议已签订", "closed_at": None, "closed_by": None,
    "close_reason": None, "created_at": "2026-11-03T09:30:00+08:00", "version": 3, "allowed_actions": [],
}
EXAMPLES["TaskAcceptBody"] = {}
EXAMPLES["TaskCompleteBody"] = {"report": "已组织双方到调解室面谈，被申请人同意承担维修费用，协议已签订"}
EXAMPLES["TaskCloseBody"] = {"reason": "主办单位已就地化解，无需公安协办"}
EXAMPLES["ResponsiblePublic"] = {
    "unit_id": "S1", "force": "people_mediation", "force_label": "人民调解", "member_id": "U-S1-3", "version": 1,
    "updated_at": "2026-11-03T09:30:00+08:00", "inherited_from": None,
}
EXAMPLES["ResponsibleCreate"] = {"force": "people_mediation", "member_id": "U-S1-3"}
EXAMPLES["ResponsibleUpdate"] = {"member_id": "U-S1-4"}
EXAMPLES["LookbackPublic"] = {
    "id": "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f", "case_id": CASE_ID, "case_code": "FQ-2026-000123",
    "assignment_id": ASSIGNMENT_ID, "unit_id": "G01", "assignee_id": "U-G01-1", "risk_level": "yellow",
    "rule_id": "risk.red_yellow", "status": "stable", "due_at": "2026-11-17T09:30:00+08:00", "result": "stable",
    "note": "上门回访，漏水已修复，双方关系缓和，未再发生纠纷", "recorded_by": "U-G01-1",
    "recorded_at": "2026-11-17T10:20:00+08:00", "reopened_assignment_id": None, "version": 2,
}
EXAMPLES["LookbackResultBody"] = {"result": "stable", "note": "上门回访，漏水已修复，双方关系缓和，未再发生纠纷"}
EXAMPLES["CaseLeaderPublic"] = {
    "case_id": CASE_ID, "leader_id": "U-S1-1", "title": "街道书记", "how": "manual", "set_by": "U-S1-2",
    "set_at": "2026-11-03T09:30:00+08:00", "version": 1,
}
EXAMPLES["LeaderBody"] = {"leader_id": "U-S1-1", "title": "街道书记"}
EXAMPLES["routing_svc__schemas_people__TaskForcePublic"] = {
    "id": "d3e4f5a6-b7c8-4d9e-8f0a-2b3c4d5e6f7a", "case_id": CASE_ID, "lead_id": "U-S1-1",
    "member_ids": ["U-S1-3", "U-C1-1", "U-G01-1"], "plan": "一、三日内走访双方当事人；二、邀请派出所、司法所参加联席调解会；三、达成协议后跟踪履行。",
    "plan_due_at": "2026-11-06T17:30:00+08:00", "plan_submitted_at": "2026-11-04T15:00:00+08:00",
    "plan_overdue": False, "plan_overdue_at": None, "milestones": _MILESTONES, "version": 2,
}
EXAMPLES["TaskForceCreate"] = {
    "lead_id": "U-S1-1", "member_ids": ["U-S1-3", "U-C1-1", "U-G01-1"], "plan_due_at": "2026-11-06T17:30:00+08:00",
    "milestones": [{"title": "走访双方当事人，摸清诉求", "due_at": "2026-11-06T17:30:00+08:00"}],
}
EXAMPLES["TaskForceUpdate"] = {
    "plan": "一、三日内走访双方当事人；二、邀请派出所、司法所参加联席调解会；三、达成协议后跟踪履行。",
    "milestones": _MILESTONES,
}
