"""派发依据 in Simplified Chinese: why a case went where it went, as grid workers and leaders read it on the
assignment and in the inbox. Built from the structured locate result and decision (pure, no I/O); the English
machine trace stays on the dry run (``POST /api/v1/rules/evaluate``)."""

from __future__ import annotations

from routing_svc.domain.locate import Located, LocateMethod, UnitInfo
from routing_svc.domain.rules import Decision
from shared.dictionaries import FORCE, LEVEL, TRACK

CONDITION_ZH = {
    "category": "纠纷类别", "request_type": "诉求类型", "risk_level": "风险等级", "risk_signals": "风险信号",
    "channel": "来源渠道", "people_involved": "涉及人数", "amount_involved": "涉及金额", "unit": "所在单位",
    "unit_level": "所在层级", "weekday": "星期", "working_time": "是否工作时间", "urgent": "是否紧急"}
CAUSE_ZH = {"returned": "退单后重新派发", "escalated": "重新研判后提级"}


def _unit(u: UnitInfo) -> str:
    return f"{u.name}（{u.id}）"


def located_zh(located: Located) -> str:
    u = located.unit
    match located.method:
        case LocateMethod.GRID_ID:
            return f"受理时已指定网格：{_unit(u)}"
        case LocateMethod.POLYGON:
            return f"按定位坐标落入{_unit(u)}"
        case LocateMethod.ADDRESS_KEYWORD:
            return f"按地址关键词“{located.keyword}”定位到{_unit(u)}" if located.keyword \
                else f"按地址定位到{_unit(u)}"
        case LocateMethod.GIVEN:
            return f"指定单位：{_unit(u)}"
    return f"未能定位到网格，转入{_unit(u)}街道中心分拨"


def decision_zh(decision: Decision, target: UnitInfo | None = None) -> str:
    rule = decision.description or decision.rule_id
    if decision.conditions:
        why = f"符合规则“{rule}”（条件：{'、'.join(CONDITION_ZH.get(c, c) for c in decision.conditions)}）"
    else:
        why = f"适用默认规则“{rule}”"
    parts = [why]
    if target is not None:
        parts.append(f"派至{LEVEL.get(target.level, '')}{_unit(target)}")
    elif decision.level is not None:
        parts.append(f"派至{LEVEL.get(decision.level, '')}层级")
    parts.append(f"按{TRACK.get(decision.track, '')}办理")
    if decision.forces:
        parts.append(f"联动力量：{'、'.join(FORCE.get(f, f) for f in decision.forces)}")
    if decision.task_force is not None:
        parts.append("成立专班")
    if decision.channel_deadline_days:
        parts.append(f"按来源渠道要求 {decision.channel_deadline_days} 个工作日内办结")
    return "，".join(parts)


def explain_zh(located: Located | None, decision: Decision, target: UnitInfo | None = None,
               cause: str | None = None) -> str:
    """``受理时已指定网格：松涛一网格（G01）；适用默认规则“default.grid”，派至网格松涛一网格（G01），按普通门诊办理``."""
    parts = [CAUSE_ZH[cause]] if cause in CAUSE_ZH else []
    if located is not None:
        parts.append(located_zh(located))
    parts.append(decision_zh(decision, target))
    return "；".join(parts)
