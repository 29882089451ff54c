"""Examples of notify's request bodies and main responses, keyed by component schema name: the inbox, deliveries, templates,
notification rules, channel targets and the 回访 survey.

Kept apart from the schemas on purpose: ``shared.openapi.merge_examples`` puts each into
``components.schemas.<Name>.examples`` of the derived document; tests/contracts/test_openapi_examples.py
checks that every request body and 2xx response has one and that each validates against its schema.
Texts are what users type and read, in Chinese; unit and member ids are the demo org's
(``services/data/org_demo.json``).
"""

# ruff: noqa: E501  (data: a long Chinese text stays on one line)

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, Any] = {}
EXAMPLES["UnreadCount"] = {"unread": 1}
EXAMPLES["TargetIn"] = {"address": "https://oapi.dingtalk.com/robot/send?access_token=abc123", "secret": "SEC1a2b3c4d5e6f"}
EXAMPLES["SurveyAnswer"] = {"result": "satisfied", "comment": "调解员很耐心，问题解决了"}
EXAMPLES["SurveyPublic"] = {
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "status": "pending", "result": None,
    "expires_at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["RulesPublic"] = {
    "version": 2, "doc": {}, "updated_by": "U-admin-1", "updated_at": "2026-11-03T09:30:00+08:00",
    "shipped_missing": [{}], "comment": "劳动争议直接派街道",
}
EXAMPLES["TargetPublic"] = {
    "unit_id": "G01", "channel": "webhook", "address": "https://oapi.dingtalk.com/robot/send?access_token=abc123",
    "signed": True, "updated_by": "U-admin-1", "updated_at": "2026-11-03T09:30:00+08:00",
    "version": 2,
}
EXAMPLES["TemplateUpdate"] = {"subject": "新案件待签收", "body": "您有一件新的待签收案件：楼上漏水（FQ-2026-000123），请及时签收。"}
EXAMPLES["TemplatePreview"] = {
    "key": "case_assigned", "subject": "新案件待签收",
    "body": "您有一件新的待签收案件：楼上漏水（FQ-2026-000123），请及时签收。",
}
EXAMPLES["TemplatePreviewIn"] = {
    "subject": "新案件待签收", "body": "您有一件新的待签收案件：楼上漏水（FQ-2026-000123），请及时签收。",
    "variables": {"case_code": "FQ-2026-000123", "title": "楼上漏水"},
}
EXAMPLES["InboxItemPublic"] = {
    "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "kind": "case_assigned",
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "case_code": "FQ-2026-000123", "title": "新案件待签收",
    "body": "您有一件新的待签收案件：楼上漏水（FQ-2026-000123），请及时签收。",
    "created_at": "2026-11-03T09:30:00+08:00", "read_at": None,
}
EXAMPLES["Page_InboxItemPublic_"] = {
    "items": [
        {
            "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "kind": "person",
            "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "case_code": "FQ-2026-000123", "title": "楼上漏水",
            "body": "您有一件新的待签收案件：楼上漏水（FQ-2026-000123），请及时签收。",
            "created_at": "2026-11-03T09:30:00+08:00", "read_at": "2026-11-03T09:30:00+08:00",
        },
    ],
    "next_cursor": None,
}
EXAMPLES["TemplatePublic"] = {
    "key": "case_assigned", "description": "案件派发到网格时发给网格员的站内信", "version": 2,
    "subject": "新案件待签收", "body": "您有一件新的待签收案件：楼上漏水（FQ-2026-000123），请及时签收。",
    "variables": ["case_code", "title"], "updated_by": "U-admin-1", "updated_at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["Page_DeliveryPublic_"] = {
    "items": [
        {
            "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            "trigger_type": "fq.case.assigned.v1", "trigger_ce_id": "c5d6e7f8-1a2b-4c3d-9e4f-5a6b7c8d9e0f",
            "rule_id": "0b9f4a52-6d1e-4c3a-9b1e-2f6c8d7e5a10", "channel": "walk_in",
            "recipient_id": "6e7f8a9b-0c1d-4e2f-8a3b-4c5d6e7f8a9b", "template_key": "case_assigned",
            "template_version": 3, "status": "assigned", "attempts": 1, "next_attempt_at": "2026-11-03T09:30:00+08:00",
            "last_error": None, "created_at": "2026-11-03T09:30:00+08:00", "delivered_at": "2026-11-03T09:30:00+08:00",
        },
    ],
    "next_cursor": None,
}

# inline bodies (no component schema), by operation id: the JSON media type's ``example``
OPERATIONS: dict[str, dict[str, Any]] = {
    "put_rules": {"request": {"rules": [
        {"id": "assigned.handlers", "on": "fq.case.assigned.v1", "to": [{"unit": "event"}],
         "channels": ["inbox", "webhook"], "template": "case_assigned"},
        {"id": "resolved.survey", "on": "fq.case.resolved.v1", "to": [{"applicant": True}], "channels": ["sms"],
         "template": "survey"},
    ]}},
}
