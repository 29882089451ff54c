"""Message templates: Jinja2, Simplified Chinese, each key with the variables it may use (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    description: str
    variables: Mapping[str, Any]  # name -> a sample value (used by the preview)
    subject: str
    body: str


# the place of a 调解 session is not in the event: the message is rendered with this slot, filled with the place
# read from intake when it is sent (``workers.deliveries``)
PLACE_SLOT = "〔调解地点〕"

_CASE = {"case_code": "FQ-20261123-000123", "case_id": "8f5e1a52-0000-4000-8000-000000000001"}

SPECS: dict[str, TemplateSpec] = {s.key: s for s in (
    TemplateSpec("case_assigned", "新案件派发给单位（待签收）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "accept_due": "2026-11-23 17:30",
                  "explanation": "default.grid: 网格 G01", "cause": "routed", "cause_label": "首次派发",
                  "track_label": "普通门诊"},
                 "新案件待签收：{{ case_code }}",
                 "案件 {{ case_code }} 已派发至{{ unit_name or unit_id }}（{{ cause_label }}），"
                 "请在 {{ accept_due }} 前签收。派发依据：{{ explanation }}"),
    TemplateSpec("assignee_dispatched", "案件派给承办人（发给被指派的成员）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "redispatch": False, "reason": ""},
                 "派单到人：{{ case_code }}",
                 "{{ unit_name or unit_id }}已将案件 {{ case_code }} {% if redispatch %}改派{% else %}指派{% endif %}"
                 "给您承办{% if reason %}（理由：{{ reason }}）{% endif %}，请及时办理。"),
    TemplateSpec("reminder", "签收或办结时限过半/将到（催办）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "clock": "resolve", "clock_label": "办结",
                  "due": "2026-11-25 17:30", "percent": 80},
                 "催办：{{ case_code }} {{ clock_label }}时限已过 {{ percent }}%",
                 "案件 {{ case_code }} 的{{ clock_label }}时限已过 {{ percent }}%，"
                 "请于 {{ due }} 前完成{{ clock_label }}。"),
    TemplateSpec("performance_due", "人民调解协议履行期限将到或已到（发给化解单位）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "due": "2026-12-31", "way_label": "限期履行",
                  "percent": 80},
                 "协议履行提醒：{{ case_code }}",
                 "案件 {{ case_code }} 的人民调解协议约定于 {{ due }} 前{{ way_label }}，"
                 "{% if percent >= 100 %}履行期限已到{% else %}履行期限将到{% endif %}。"
                 "请回访当事人履行情况，并及时登记“已履行”或“未履行”。"),
    TemplateSpec("performance_failed", "人民调解协议未履行（发给化解单位及其上级）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格"},
                 "协议未履行：{{ case_code }}",
                 "案件 {{ case_code }} 的人民调解协议登记为未履行，"
                 "请{{ unit_name or unit_id }}研判是否再次调解、申请司法确认后强制执行或启动回头看。"),
    TemplateSpec("urged", "12345平台等外部催办（发给当前承办单位）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "urge_count": 2,
                  "source_label": "12345热线平台"},
                 "12345催办：案件 {{ case_code }}",
                 "{{ source_label }}第 {{ urge_count }} 次催办案件 {{ case_code }}"
                 "（承办单位：{{ unit_name or unit_id }}），请尽快办理并及时反馈办理进展。"),
    TemplateSpec("extension_requested", "延期申请待审批（发给承办单位上级单位的负责人）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "clock_label": "办结",
                  "due": "2026-11-25 17:30", "requested_due": "2026-12-02 17:30", "reason": "需等待鉴定结论"},
                 "延期申请待审批：{{ case_code }}",
                 "{{ unit_name or unit_id }}申请将案件 {{ case_code }} 的{{ clock_label }}期限"
                 "{% if due %}由 {{ due }} {% endif %}延至 {{ requested_due }}（理由：{{ reason }}），请及时审批。"),
    TemplateSpec("extension_rejected", "延期申请未获批准（发给申请延期的承办单位）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "clock_label": "办结",
                  "due": "2026-11-25 17:30", "rejection_reason": "事实清楚，可在期限内办结"},
                 "延期未获批准：{{ case_code }}",
                 "案件 {{ case_code }} 的延期申请未获上级单位批准（{{ rejection_reason }}），"
                 "{{ clock_label }}期限仍为 {{ due }}，请抓紧办理。"),
    TemplateSpec("overdue", "时限已过（督办）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "clock_label": "办结",
                  "due": "2026-11-25 17:30", "escalated": False},
                 "督办：{{ case_code }} {{ clock_label }}超期",
                 "案件 {{ case_code }} 在{{ unit_name or unit_id }}的{{ clock_label }}时限（{{ due }}）已过"
                 "{% if escalated %}，已提级办理{% endif %}，请督促办理。"),
    TemplateSpec("escalated", "案件提级（接收单位与原单位）",
                 {**_CASE, "from_unit_id": "G01", "from_unit_name": "松涛一网格", "to_unit_id": "C1",
                  "to_unit_name": "松涛社区", "reason_label": "超时", "note": ""},
                 "案件提级：{{ case_code }}",
                 "案件 {{ case_code }} 已由{{ from_unit_name or from_unit_id }}提级至"
                 "{{ to_unit_name or to_unit_id }}（原因：{{ reason_label }}）{% if note %}：{{ note }}{% endif %}。"),
    TemplateSpec("cohandling_opened", "协办任务（发给该力量在本片区的负责人）",
                 {**_CASE, "force": "police", "force_label": "公安", "lead_unit_id": "C1", "lead_unit_name": "松涛社区",
                  "due": "2026-12-09 17:30"},
                 "协办任务：{{ case_code }}",
                 "案件 {{ case_code }} 由{{ lead_unit_name or lead_unit_id }}主办，需要{{ force_label }}协同办理。"
                 "请在 {{ due }} 前签收，办结后填写协办情况。"),
    TemplateSpec("cohandling_overdue", "协办任务超期（发给协办人和主办单位）",
                 {**_CASE, "force": "police", "force_label": "公安", "unit_id": "C1", "unit_name": "松涛社区",
                  "due": "2026-12-09 17:30"},
                 "协办超期：{{ case_code }}",
                 "案件 {{ case_code }} 的{{ force_label }}协办任务已超过办理期限（{{ due }}），"
                 "请协办人尽快办理并反馈，主办单位（{{ unit_name or unit_id }}）跟进督办。"),
    TemplateSpec("leader_assigned", "指定包案领导（发给包案领导）",
                 {**_CASE, "title": "街道书记", "how": "auto"},
                 "包案通知：{{ case_code }}",
                 "您已{% if how == 'auto' %}按三级责任制{% endif %}被确定为案件 {{ case_code }} 的包案领导"
                 "{% if title %}（{{ title }}）{% endif %}，案件提级、超期和延期申请将及时告知您。"),
    TemplateSpec("leader_escalated", "包案案件提级（发给包案领导）",
                 {**_CASE, "from_unit_id": "G01", "from_unit_name": "松涛一网格", "to_unit_id": "C1",
                  "to_unit_name": "松涛社区", "reason_label": "超时", "note": ""},
                 "包案案件提级：{{ case_code }}",
                 "您包案的案件 {{ case_code }} 已由{{ from_unit_name or from_unit_id }}提级至"
                 "{{ to_unit_name or to_unit_id }}（原因：{{ reason_label }}）{% if note %}：{{ note }}{% endif %}，"
                 "请关注并协调化解。"),
    TemplateSpec("leader_overdue", "包案案件超期（发给包案领导）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "clock_label": "办结",
                  "due": "2026-11-25 17:30", "escalated": False},
                 "包案案件超期：{{ case_code }}",
                 "您包案的案件 {{ case_code }} 在{{ unit_name or unit_id }}的{{ clock_label }}时限（{{ due }}）已过"
                 "{% if escalated %}，已提级办理{% endif %}，请督促办理。"),
    TemplateSpec("leader_extension_requested", "包案案件申请延期（发给包案领导）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "clock_label": "办结",
                  "due": "2026-11-25 17:30", "requested_due": "2026-12-02 17:30", "reason": "需等待鉴定结论"},
                 "包案案件申请延期：{{ case_code }}",
                 "{{ unit_name or unit_id }}申请将您包案的案件 {{ case_code }} 的{{ clock_label }}期限"
                 "{% if due %}由 {{ due }} {% endif %}延至 {{ requested_due }}（理由：{{ reason }}）。"),
    TemplateSpec("plan_reminder", "专班工作方案即将到期（发给专班牵头人）",
                 {**_CASE, "due": "2026-11-23 13:00"},
                 "专班方案提醒：{{ case_code }}",
                 "案件 {{ case_code }} 的专班工作方案应于 {{ due }} 前提交，请抓紧制定。"),
    TemplateSpec("plan_overdue", "专班工作方案逾期未交（督办）",
                 {**_CASE, "due": "2026-11-23 13:00"},
                 "督办：{{ case_code }} 专班方案逾期",
                 "案件 {{ case_code }} 的专班工作方案已超过提交期限（{{ due }}）仍未提交，请立即制定并报送。"),
    TemplateSpec("red_risk", "红色风险案件，街道立即知悉",
                 {**_CASE, "unit_id": "S1", "unit_name": "鹭鸣街道", "reasons": "涉及人身威胁"},
                 "红色风险预警：{{ case_code }}",
                 "案件 {{ case_code }} 风险等级为红色{% if reasons %}（{{ reasons }}）{% endif %}，"
                 "请立即关注并部署稳控。"),
    TemplateSpec("survey", "办结后回访短信（发给申请人）",
                 {**_CASE, "link": "https://fq.example.cn/s/abc", "expires": "2026-11-30"},
                 "回访：{{ case_code }}",
                 # no "reply 1/2": nothing receives SMS replies, so the message does not ask for one
                 "【枫桥】您反映的事项（{{ case_code }}）已办结。请点击 {{ link }} 评价办理结果，"
                 "{{ expires }} 前有效。"),
    TemplateSpec("session_notice", "调解通知短信（安排或改期调解时发给当事人）",
                 {**_CASE, "time": "2026-11-25 09:30", "place": "松涛社区人民调解室", "rescheduled": False},
                 "调解通知：{{ case_code }}",
                 "【枫桥】调解通知：您的纠纷（{{ case_code }}）{% if rescheduled %}调解时间已变更，现{% endif %}"
                 "定于 {{ time }} 在{{ place }}进行调解，请准时参加。"),
    TemplateSpec("lookback_due", "回头看到期（发给办结单位）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "due": "2026-12-07 17:30"},
                 "回头看到期：{{ case_code }}",
                 "已销号案件 {{ case_code }} 的回头看已到期（{{ due }}），请{{ unit_name or unit_id }}回访核实"
                 "问题是否稳定，并登记回头看结果（稳定或问题复发）。"),
    TemplateSpec("lookback_recurred", "回头看发现问题复发，案件重新办理（发给办结单位）",
                 {**_CASE, "unit_id": "G01", "unit_name": "松涛一网格", "due": "2026-12-07 17:30"},
                 "问题复发：{{ case_code }}",
                 "案件 {{ case_code }} 回头看发现问题复发，已重新交{{ unit_name or unit_id }}办理，"
                 "签收和办结时限重新计算，请及时签收。"),
    TemplateSpec("hotspot", "热点预警（某单位某类纠纷激增）",
                 {"unit_id": "C1", "unit_name": "松涛社区", "category": "邻里纠纷", "count": 12, "baseline": 3.0,
                  "ratio": 4.0, "window_start": "2026-11-20", "window_end": "2026-11-23"},
                 "热点预警：{{ unit_name or unit_id }}{{ category or '' }}",
                 "{{ window_start }} 至 {{ window_end }}，{{ unit_name or unit_id }}"
                 "{{ category or '全部类别' }}案件 {{ count }} 件，"
                 "约为常态（{{ '%.1f' | format(baseline) }} 件）的 {{ '%.1f' | format(ratio) }} 倍，请研判。"),
)}


class TemplateInvalid(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.errors = errors


def check(key: str, subject: str, body: str) -> None:
    """Raise ``TemplateInvalid`` naming every syntax error and every variable the key does not offer."""
    allowed = set(SPECS[key].variables)
    errors = []
    for field, source in (("subject", subject), ("body", body)):
        try:
            used = meta.find_undeclared_variables(_ENV.parse(source))
        except TemplateSyntaxError as exc:
            errors.append({"field": field, "reason": f"template syntax error on line {exc.lineno}: {exc.message}",
                           "code": "template_syntax"})
            continue
        errors += [{"field": field, "reason": f"unknown variable {name!r}; allowed: {sorted(allowed)}",
                    "code": "unknown_variable"} for name in sorted(used - allowed)]
    if errors:
        raise TemplateInvalid(errors)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _ENV.from_string(source)


def render(subject: str, body: str, variables: Mapping[str, Any]) -> tuple[str, str]:
    return _compiled(subject).render(variables).strip(), _compiled(body).render(variables).strip()
