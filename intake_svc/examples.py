"""Examples of intake's request bodies and main responses, keyed by component schema name: registering a case, its file, notes,
attachments and parties, the citizen's progress page, the 12345 orders.

Kept apart from the schemas on purpose: ``shared.openapi.merge_examples`` puts each into
``components.schemas.<Name>.examples`` of the derived document; tests/contracts/test_openapi_examples.py
checks that every request body and 2xx response has one and that each validates against its schema.
Texts are what users type and read, in Chinese; unit and member ids are the demo org's
(``services/data/org_demo.json``).
"""

# ruff: noqa: E501  (data: a long Chinese text stays on one line)

from __future__ import annotations

from typing import Any

from intake_svc.examples_documents import APPLICANT_ID
from intake_svc.examples_documents import EXAMPLES as DOCUMENT_EXAMPLES

EXAMPLES: dict[str, Any] = {**DOCUMENT_EXAMPLES}
EXAMPLES["Body_upload_to_case"] = {"file": "示例"}
EXAMPLES["Body_upload_to_note"] = {"file": "示例"}
EXAMPLES["Body_upload_redacted"] = {"file": "示例"}
EXAMPLES["Reclassify"] = {"category": "neighbor.water", "request_type": "dispute"}
EXAMPLES["RevealRequest"] = {"purpose": "核实申请人身份后电话回访"}
EXAMPLES["ContactRequest"] = {"purpose": "核实申请人身份后电话回访"}
EXAMPLES["ApplicantContact"] = {"case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "name": "王小明", "phone": "13800138000"}
EXAMPLES["FeedbackCreate"] = {"result": "satisfied", "comment": "调解员很耐心，问题解决了"}
EXAMPLES["UnmergeRequest"] = {"reason": "当事人外出务工，约定下周上门调解"}
EXAMPLES["RiskChange"] = {"level": "blue", "reasons": ["当事人外出务工，约定下周上门调解"]}
EXAMPLES["ReplyText"] = {"text": "已上门查看，物业已维修楼上管道，双方达成和解"}
EXAMPLES["MergeRequest"] = {"primary_case_id": "0b9f4a52-6d1e-4c3a-9b1e-2f6c8d7e5a10", "reason": "当事人外出务工，约定下周上门调解"}
EXAMPLES["TimelineItem"] = {
    "at": "2026-11-03T09:30:00+08:00", "kind": "assigned", "summary": "已派发至松涛社区第一网格", "actor": "routing",
    "data": {},
}
EXAMPLES["OrderAccepted"] = {
    "order_no": "QL20261103000123", "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "case_code": "FQ-2026-000123",
    "status": "assigned", "duplicate_of": None, "repeated": False,
}
EXAMPLES["MessageAnswer"] = {
    "message_id": "9d8c7b6a-5f4e-4d3c-ab2a-1f0e9d8c7b6a", "order_no": "QL20261103000123", "kind": "urge",
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "outcome": "urged", "repeated": False,
}
EXAMPLES["ResultTextPublic"] = {"order_no": "QL20261103000123", "result_text": "经网格员上门调解，双方达成一致，已办结。", "phase": "accepted"}
EXAMPLES["PartyChanged"] = {
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "party_id": APPLICANT_ID,
    "party": {"id": APPLICANT_ID, "role": "applicant", "kind": "person", "name": "王小明", "phone": "13800138000",
              "id_number": None},
    "case_version": 3,
}
EXAMPLES["NoteCreate"] = {
    "kind": "phone_call", "at": "2026-11-03T09:30:00+08:00", "text": "已上门查看，物业已维修楼上管道，双方达成和解",
    "visibility": "internal",
}
EXAMPLES["NoteUpdate"] = {
    "kind": "phone_call", "at": "2026-11-03T09:30:00+08:00", "text": "已上门查看，物业已维修楼上管道，双方达成和解",
    "visibility": "internal",
}
EXAMPLES["PartyChange"] = {
    "party": {"role": "applicant", "kind": "person", "name": "王小明", "phone": "13800138000", "id_number": None},
    "reason": "当事人外出务工，约定下周上门调解",
}
EXAMPLES["RevealedCase"] = {
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "address": "松涛花园3号楼502室",
    "parties": [{"role": "applicant", "kind": "person", "name": "王小明", "phone": "13800138000", "id_number": None}],
}
EXAMPLES["PiiAccessPublic"] = {
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "accessed_by": "U-S1-2", "roles": ["applicant"],
    "unit_id": "G01", "purpose": "核实申请人身份后电话回访", "fields": ["parties.0.phone"],
    "at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["FeedbackPublic"] = {
    "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "result": "satisfied", "source": "sms", "comment": "调解员很耐心，问题解决了", "recorded_by": "U-S1-2",
    "at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["NoteVersionPublic"] = {
    "version": 2, "kind": "phone_call", "at": "2026-11-03T09:30:00+08:00",
    "text": "已上门查看，物业已维修楼上管道，双方达成和解", "visibility": "internal", "written_by": "U-G01-1",
    "written_at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["CallbackPublic"] = {
    "id": 1, "client_id": "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d", "order_no": "QL20261103000123", "seq": 1,
    "action": "accept", "status": "assigned", "attempts": 1, "next_attempt_at": "2026-11-03T09:30:00+08:00",
    "last_status_code": 1, "last_error": None, "created_at": "2026-11-03T09:30:00+08:00",
    "delivered_at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["CaseSummary"] = {
    "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "code": "FQ-2026-000123", "status": "assigned", "channel": "walk_in",
    "request_type": "dispute", "title": "楼上漏水", "category": "neighbor.water", "risk_level": "blue",
    "current_unit_id": "G01", "created_at": "2026-11-03T09:30:00+08:00", "updated_at": "2026-11-03T09:30:00+08:00",
}
EXAMPLES["Page_CallbackPublic_"] = {"items": [EXAMPLES["CallbackPublic"]], "next_cursor": None}
EXAMPLES["Page_CaseSummary_"] = {"items": [EXAMPLES["CaseSummary"]], "next_cursor": None}
EXAMPLES["AttachmentPublic"] = {
    "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "owner_kind": "case", "owner_id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "name": "现场照片.jpg",
    "content_type": "image/jpeg", "size": 482133,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "redacted": False,
    "uploaded_by": "U-G01-1", "uploaded_at": "2026-11-03T09:30:00+08:00", "version": 2,
}
EXAMPLES["RevealedTexts"] = {
    "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "title": "楼上漏水",
    "description": "楼上卫生间漏水到我家天花板，协商无果，请求调解。",
    "notes": [
        {
            "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "version": 2,
            "text": "已上门查看，物业已维修楼上管道，双方达成和解",
        },
    ],
}
EXAMPLES["NotePublic"] = {
    "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "kind": "phone_call", "kind_label": "电话沟通", "at": "2026-11-03T09:30:00+08:00",
    "text": "已上门查看，物业已维修楼上管道，双方达成和解", "visibility": "internal", "author": "U-G01-1",
    "created_at": "2026-11-03T09:30:00+08:00", "updated_at": "2026-11-03T09:30:00+08:00",
    "editable_until": "2026-11-03T09:30:00+08:00", "version": 2,
}
EXAMPLES["CasePreview"] = {
    "category": {"code": "neighbor.noise", "label": "邻里纠纷/噪声扰民", "confidence": 0.86},
    "alternatives": [{"code": "neighbor.noise", "label": "邻里纠纷/噪声扰民", "confidence": 0.86}],
    "request_type": "dispute", "request_type_confidence": 0.86, "risk_level": "blue", "risk_reasons": ["多次协商无果"],
    "duplicate_of": None,
    "duplicate_candidates": [{"case_id": "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "code": "FQ-2026-000098", "similarity": 0.82}],
}
EXAMPLES["CasePreviewIn"] = {
    "title": "楼上噪音扰民", "description": "楼上住户每晚十一点后装修敲打，多次沟通无果。", "category": None,
    "location": {"address": "松涛花园3号楼502室", "grid_id": "G01"},
    "parties": [{"role": "applicant", "kind": "person", "name": "王小明", "phone": "13800138000", "id_number": None}],
    "people_involved": 2, "amount_involved": None, "risk_signals": ["多次协商无果"],
}
EXAMPLES["PublicProgress"] = {
    "code": "FQ-2026-000123", "status": "assigned", "status_label": "已派发",
    "received_at": "2026-11-03T09:30:00+08:00", "updated_at": "2026-11-03T09:30:00+08:00",
    "timeline": [{"at": "2026-11-03T09:30:00+08:00", "summary": "已上门调解，双方达成一致"}],
    "notes": [
        {
            "at": "2026-11-03T09:30:00+08:00", "kind_label": "电话沟通",
            "text": "已上门查看，物业已维修楼上管道，双方达成和解",
        },
    ],
}
EXAMPLES["CaseCreate"] = {
    "channel": "walk_in", "request_type": "dispute", "title": "楼上漏水",
    "description": "楼上卫生间漏水到我家天花板，协商无果，请求调解。", "category": None,
    "occurred_at": "2026-11-03T09:30:00+08:00", "location": {"address": "松涛花园3号楼502室", "grid_id": "G01"},
    "parties": [{"role": "applicant", "kind": "person", "name": "王小明", "phone": "13800138000", "id_number": None}],
    "people_involved": 2, "amount_involved": None, "risk_signals": ["多次协商无果"],
    "external_ref": "QL20261103000123", "transfer": None, "patrol": None,
    "attachments": [
        {
            "name": "现场照片.jpg", "content_type": "image/jpeg", "size": 482133,
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        },
    ],
    "urgent": False, "deadline_days": None,
}
EXAMPLES["OrderReconciliation"] = {
    "order_no": "QL20261103000123", "client_id": "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d", "phase": "accepted",
    "received_at": "2026-11-03T09:30:00+08:00", "platform_received_at": "2026-11-03T09:30:00+08:00",
    "deadline_days": None, "urgent": False, "callback_ok": False, "unit_name": "松涛社区第一网格",
    "case": {
        "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "code": "FQ-2026-000123", "status": "assigned",
        "current_unit_id": "G01", "outcome": "resolved", "duplicate_of": None,
    },
    "callbacks": [
        {
            "id": 1, "seq": 1, "action": "accept", "status": "assigned",
            "idempotency_key": "7c6b5a49-3827-4165-b4e3-d2c1b0a9f8e7", "payload": {}, "attempts": 1,
            "next_attempt_at": "2026-11-03T09:30:00+08:00", "last_status_code": 1, "last_error": None,
            "created_at": "2026-11-03T09:30:00+08:00", "delivered_at": "2026-11-03T09:30:00+08:00",
            "answers": [{"at": "2026-11-03T09:30:00+08:00", "status_code": 1, "response": "示例", "error": None}],
        },
    ],
    "messages": [
        {
            "message_id": "9d8c7b6a-5f4e-4d3c-ab2a-1f0e9d8c7b6a", "kind": "person", "outcome": "resolved",
            "received_at": "2026-11-03T09:30:00+08:00", "payload": {},
        },
    ],
}
EXAMPLES["CasePublic"] = {
    "id": "3f2b8c1e-5d4a-4e6b-9a7c-1d2e3f4a5b6c", "code": "FQ-2026-000123", "status": "assigned", "channel": "walk_in",
    "request_type": "dispute", "title": "楼上漏水", "description": "楼上卫生间漏水到我家天花板，协商无果，请求调解。",
    "category": "neighbor.water", "category_label": "漏水渗水", "category_confidence": 0.86,
    "request_type_confidence": 0.86, "classified_by": "classifier", "risk_level": "blue",
    "risk_reasons": ["多次协商无果"], "duplicate_of": None, "duplicate_candidates": [],
    "occurred_at": "2026-11-03T09:30:00+08:00", "location": {"address": "松涛花园3号楼502室", "grid_id": "G01"},
    "parties": [{"role": "applicant", "kind": "person", "name": "王小明", "phone": "13800138000", "id_number": None}],
    "people_involved": 2, "amount_involved": None, "external_ref": "QL20261103000123", "transfer": None,
    "patrol": None, "attachments": [], "current_unit_id": "G01",
    "assignment_id": "c5d6e7f8-1a2b-4c3d-9e4f-5a6b7c8d9e0f", "outcome": None,
    "created_at": "2026-11-03T09:30:00+08:00", "updated_at": "2026-11-03T09:30:00+08:00", "version": 2,
}
