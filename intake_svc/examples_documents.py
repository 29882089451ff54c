"""Examples of intake's mediation records (issue 18): 调解会 sessions, 人民调解协议书, 履行 and 司法确认, keyed by
component schema name and merged into ``intake_svc.examples.EXAMPLES``. Member ids are the demo org's
(``services/data/org_demo.json``); party ids are the stable ids of the case's parties."""

# ruff: noqa: E501  (data: a long Chinese text stays on one line)

from __future__ import annotations

from typing import Any

CASE_ID = "8a1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
APPLICANT_ID = "5b7c9d1e-2f3a-4b5c-8d6e-7f8a9b0c1d2e"
RESPONDENT_ID = "6c8d0e2f-3a4b-4c6d-9e7f-8a9b0c1d2e3f"
SESSION_ID = "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70"
AGREEMENT_ID = "e5f6a7b8-c9d0-4e1f-9a2b-3c4d5e6f7081"
MINUTES = "双方到场。申请人称楼上卫生间漏水致其天花板受损；被申请人同意承担维修费用。经调解，双方同意由被申请人于十日内支付维修费三千元。"
FACTS = "被申请人住房卫生间防水层老化，漏水致申请人住房天花板及墙面受损，双方协商未果，申请调解。"
TERMS = "一、被申请人于2026年11月15日前一次性支付申请人维修费人民币三千元；二、被申请人于十日内完成卫生间防水维修；三、双方再无其他争议。"

EXAMPLES: dict[str, Any] = {}
EXAMPLES["SessionCreate"] = {
    "scheduled_at": "2026-11-05T14:30:00+08:00", "place": "松涛社区人民调解室", "mediators": ["U-S1-3", "U-G01-1"],
    "parties_present": [APPLICANT_ID, RESPONDENT_ID], "forces_present": ["people_mediation", "police"],
    "notify_parties": True,
}
EXAMPLES["SessionUpdate"] = {"minutes": MINUTES, "result": "agreed"}
EXAMPLES["SessionPublic"] = {
    "id": SESSION_ID, "case_id": CASE_ID, "scheduled_at": "2026-11-05T14:30:00+08:00", "place": "松涛社区人民调解室",
    "mediators": ["U-S1-3", "U-G01-1"], "parties_present": [APPLICANT_ID, RESPONDENT_ID],
    "forces_present": ["people_mediation", "police"], "forces_labels": ["人民调解", "公安"], "status": "held",
    "result": "agreed", "result_label": "达成协议", "minutes": MINUTES,
    "previous_times": ["2026-11-04T09:30:00+08:00"], "created_by": "U-S1-3", "created_at": "2026-11-03T09:30:00+08:00",
    "updated_at": "2026-11-05T16:10:00+08:00", "version": 3,
}
EXAMPLES["NoticeRequest"] = {"party_id": APPLICANT_ID, "purpose": "向当事人发送调解会通知短信"}
EXAMPLES["SessionNotice"] = {
    "case_id": CASE_ID, "session_id": SESSION_ID, "party_id": APPLICANT_ID, "phone": "13800138000",
    "scheduled_at": "2026-11-05T14:30:00+08:00", "place": "松涛社区人民调解室", "status": "scheduled",
}
EXAMPLES["AgreementCreate"] = {
    "facts": FACTS, "terms": TERMS, "performance_way": "by_deadline", "performance_due": "2026-11-15",
    "mediators": ["U-S1-3"], "committee": "鹭鸣街道人民调解委员会",
}
EXAMPLES["AgreementUpdate"] = {"performance_due": "2026-11-20", "terms": TERMS}
EXAMPLES["AgreementPublic"] = {
    "id": AGREEMENT_ID, "case_id": CASE_ID, "number": "FQ-2026-000123-XY01", "status": "signed", "facts": FACTS,
    "terms": TERMS, "performance_way": "by_deadline", "performance_way_label": "限期履行",
    "performance_due": "2026-11-15", "mediators": ["U-S1-3"], "committee": "鹭鸣街道人民调解委员会",
    "signed_on": "2026-11-05", "signed_attachment_id": "f6a7b8c9-d0e1-4f2a-8b3c-4d5e6f708192",
    "performance": "pending", "performance_label": "待履行", "performance_recorded_at": None,
    "created_by": "U-S1-3", "created_at": "2026-11-05T16:20:00+08:00", "updated_at": "2026-11-05T17:05:00+08:00",
    "version": 2,
}
EXAMPLES["PerformanceIn"] = {"result": "performed", "note": "申请人确认已收到维修费三千元，防水已修复"}
EXAMPLES["ConfirmationCreate"] = {
    "agreement_id": AGREEMENT_ID, "applied_on": "2026-11-06", "court": "青澜区人民法院", "accepted": None,
    "confirmed": None, "ruling_number": None, "decided_on": None,
}
EXAMPLES["ConfirmationUpdate"] = {"accepted": True, "confirmed": True, "ruling_number": "（2026）青0102民特123号",
                                  "decided_on": "2026-11-12"}
EXAMPLES["ConfirmationPublic"] = {
    "id": "a7b8c9d0-e1f2-4a3b-9c4d-5e6f708192a3", "case_id": CASE_ID, "agreement_id": AGREEMENT_ID,
    "applied_on": "2026-11-06", "court": "青澜区人民法院", "accepted": True, "confirmed": True,
    "ruling_number": "（2026）青0102民特123号", "decided_on": "2026-11-12", "status": "confirmed",
    "status_label": "司法确认有效", "recorded_by": "U-S1-3", "created_at": "2026-11-06T10:00:00+08:00",
    "updated_at": "2026-11-12T15:30:00+08:00", "version": 3,
}
