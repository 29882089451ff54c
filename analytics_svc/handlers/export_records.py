"""The ledger's (台账) columns of the case file's documents: 事由, 协议书 (with its 履行), 司法确认 and 协同力量."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analytics_svc import labels
from shared.dictionaries import FORCE

LEDGER_RECORD_COLUMNS: list[tuple[str, str]] = [
    ("matter", "事由"), ("agreement", "协议书"), ("judicial_confirmation", "司法确认"), ("forces", "协同力量")]

PERFORMANCE_ZH = {None: "待履行", "performed": "已履行", "not_performed": "未履行"}
# the furthest a case's 司法确认 got, and its label
CONFIRMATION_ORDER = ("confirmed", "refused", "accepted", "applied")
CONFIRMATION_ZH = {"confirmed": "确认有效", "refused": "驳回", "accepted": "法院已受理", "applied": "已申请"}


def matter(r: Mapping[str, Any]) -> str:
    """事由: the request type and the specific matter (the category's finest label), e.g. ``纠纷（噪声扰民）``."""
    kind = labels.label("request_type", r["request_type"]) if r["request_type"] else ""
    if not r["category"]:
        return kind
    specific = labels.label("category", r["category"]).rsplit("·", 1)[-1]
    return f"{kind}（{specific}）" if kind else specific


def agreement(r: Mapping[str, Any]) -> str:
    """``否``, or ``是（已履行）`` / ``是（2份：已履行、待履行）``."""
    n = int(r.get("agreements") or 0)
    if not n:
        return "否"
    states = "、".join(PERFORMANCE_ZH.get(p, p) for p in (r.get("performances") or []))
    return f"是（{states}）" if n == 1 else f"是（{n}份：{states}）"


def confirmation(r: Mapping[str, Any]) -> str:
    got = set(r.get("confirmations") or [])
    best = next((c for c in CONFIRMATION_ORDER if c in got), None)
    return CONFIRMATION_ZH[best] if best else "否"


def ledger_record_cells(r: Mapping[str, Any]) -> list[str]:
    forces = "、".join(FORCE.get(f, f) for f in (r.get("forces") or []))
    return [matter(r), agreement(r), confirmation(r), forces]
