"""Chinese labels for codes shown on the dashboard and in exports."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

CHANNEL = {"walk_in": "来访", "phone": "来电", "hotline_12345": "12345工单", "grid_patrol": "网格排查",
           "online": "线上", "police_transfer": "警情转调", "court_transfer": "诉调对接",
           "petition_transfer": "信访转办"}
REQUEST_TYPE = {"dispute": "纠纷", "complaint": "投诉", "report": "举报", "help": "求助", "consult": "咨询",
                "suggestion": "建议"}
LEVEL = {"district": "区", "street": "街道", "community": "社区", "village": "村居", "grid": "网格",
         "building": "楼栋"}
TRACK = {"general": "普通门诊", "specialist": "专科门诊", "special": "特需门诊", "followup": "社区门诊"}
RISK = {"blue": "蓝色", "yellow": "黄色", "red": "红色"}
OUTCOME = {"resolved": "调解成功", "failed_referred": "调解不成（引导诉讼/仲裁）", "withdrawn": "撤回",
           "not_applicable": "不予受理"}
FEEDBACK = {"satisfied": "满意", "unsatisfied": "不满意", "unreached": "未联系上"}
NONE = "（未知）"

DIMENSION_LABELS = {"channel": CHANNEL, "request_type": REQUEST_TYPE, "level": LEVEL,
                    "track": TRACK, "risk_level": RISK}

TAXONOMY = Path(__file__).resolve().parents[1] / "intake_svc" / "data" / "taxonomy.yaml"


@lru_cache(maxsize=1)
def categories() -> dict[str, str]:
    """Category code → label, from the taxonomy data file when it ships with this deployment (else codes)."""
    if not TAXONOMY.exists():
        return {}
    doc = yaml.safe_load(TAXONOMY.read_text(encoding="utf-8")) or {}
    out: dict[str, str] = {}
    for code, group in (doc.get("categories") or {}).items():
        out[code] = str(group.get("label", code))
        for child, spec in (group.get("children") or {}).items():
            out[f"{code}.{child}"] = f"{out[code]}·{(spec or {}).get('label', child)}"
    return out


def label(dimension: str, code: str | None) -> str:
    if code is None:
        return NONE
    if dimension == "category":
        return categories().get(code, code)
    return DIMENSION_LABELS.get(dimension, {}).get(code, code)
