"""Write the Chinese interface document (接口文档) of each 12345 mapping to ``docs/hotline/<mapping>.md``.

    python -m intake_svc.hotline.docgen           # write docs/hotline/ (``make docs``)
    python -m intake_svc.hotline.docgen --check   # exit 1 if a committed document is out of date (``make lint``)

Everything comes from the code: the fields, code lists and callback names from the mapping YAML, the schemas from
``contract``, the callback bodies from ``HotlineMapping.callback_body``, the signature test vector from ``signing``
and the error codes' wording from ``shared.problems_zh``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from intake_svc.domain.timeline import OUTCOME_ZH
from intake_svc.hotline import contract, signing
from intake_svc.hotline.domain import ACTION_ZH, CallbackAction, MessageKind
from intake_svc.hotline.mapping import FieldSpec, HotlineMapping, Section
from shared.events.case import Outcome
from shared.generated import write_or_check
from shared.problems_zh import DETAIL_ZH

OUT = Path(__file__).resolve().parents[2] / "docs" / "hotline"
BASE = "/api/v1/hotline"

# our canonical field names, in Chinese (the platform's names come from its mapping)
FIELD_ZH = {
    "order_no": "工单编号（幂等键：重复推送返回同一案件）", "platform_received_at": "平台受理时间",
    "request_type": "诉求类型", "category": "问题分类（映射到我方分类代码；未列出的值忽略，由内容自动分类）",
    "title": "工单标题", "description": "诉求内容", "caller_name": "来电人姓名（受保护的个人信息）",
    "caller_phone": "来电人电话（受保护的个人信息）",
    "callback_ok": "是否同意回访", "address": "事发地址（用于定位网格）",
    "deadline_days": "办理时限（工作日）", "urgent": "是否加急",
    "message_id": "消息编号（幂等键：重复发送返回首次结果）",
    "result": "回访结果（仅回访消息必填）", "text": "消息内容",
}
CALLBACK_FIELD_ZH = {
    "order_no": "工单编号", "action": "回传类型", "seq": "本工单回传序号（从 1 递增，按序送达）",
    "at": "发生时间（ISO 8601，含时区）", "case_code": "街道案件编号", "unit": "承办单位",
    "text": "说明（退单理由、延期理由、阶段回复或办结回复）",
    "requested_due_at": "申请延期至", "outcome": "办结结果代码",
}
TYPE_ZH = {"str": "字符串", "int": "整数", "bool": "布尔值", "datetime": "时间（ISO 8601，须带时区，如 +08:00）"}
MESSAGE_ZH = {MessageKind.FEEDBACK: "回访结果", MessageKind.REDO: "重办", MessageKind.URGE: "催办"}
MESSAGE_OUTCOME_ZH = {MessageKind.FEEDBACK: "`feedback_satisfied` / `feedback_unsatisfied` / `feedback_unreached`"
                                            "（不满意的回访将案件退回重办）",
                      MessageKind.REDO: "`reopen_requested`（已要求重办）或 `already_reopened`（已在重办中）",
                      MessageKind.URGE: "`urged`（已记入案件并通知承办人）"}
# the errors a platform can meet on the signed endpoints (tests/hotline/test_docgen.py checks the code raises no
# other): status, code, and its wording when shared.problems_zh has none
ERRORS: list[tuple[int, str, str | None]] = [
    (401, "signature_missing", "缺少签名请求头（errors[].field 指出缺少哪一个）"),
    (401, "unknown_client", "X-Hotline-Client 不是已配置的平台"),
    (401, "bad_timestamp", "时间戳不是 Unix 秒"),
    (401, "stale_timestamp", "时间戳与我方时钟相差超过允许范围"),
    (401, "bad_nonce", "随机数不符合格式：16–64 位字母、数字、下划线或连字符"),
    (401, "bad_signature", "签名与请求不符"),
    (409, "nonce_replayed", None),
    (404, "hotline_disabled", None),
    (404, "order_not_found", None),
    (409, "order_ambiguous", None),
    (409, "message_id_reused", None),
    (409, "case_not_resolved", "只有已办结（含已销号）的案件才能重办"),
    (413, "payload_too_large", "请求体超过 256 KB"),
    (422, "validation_failed", "请求内容有误：errors[] 逐项列出平台字段名（field）、原因（reason）和代码（code）"),
]
# the codes of errors[] items (the mapping's own, field by field)
FIELD_ERRORS = {
    "missing": "必填字段缺失或为空", "unknown_value": "取值不在代码表内", "int_type": "须为整数",
    "out_of_range": "超出取值范围", "bool_type": "须为 true 或 false", "string_type": "须为字符串",
    "datetime_type": "须为 ISO 8601 时间", "timezone_required": "时间须带时区（如 +08:00）",
    "string_too_long": "超过最大长度", "string_pattern_mismatch": "格式不符", "object_type": "请求体须为 JSON 对象",
    "json_invalid": "请求体不是合法的 JSON",
}

# the signature test vector: a fixed secret, time, nonce and body (not a real client's)
VECTOR_SECRET = "qinglan-test-vector-secret"
VECTOR_CLIENT = "qinglan-12345"
VECTOR_TIMESTAMP = "1793500875"
VECTOR_NONCE = "Zk3q9TBv1xWm8LpR2sYd"
VECTOR_PATH = f"{BASE}/orders"


def vector_body(example: dict[str, Any]) -> bytes:
    return json.dumps(example, ensure_ascii=False, separators=(",", ":")).encode()


def _json(doc: Any) -> str:
    return "```json\n" + json.dumps(doc, ensure_ascii=False, indent=2) + "\n```"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _format(spec: FieldSpec) -> str:
    if spec.values is not None:
        codes = "、".join(f"`{k}`→`{v if isinstance(v, str) else json.dumps(v)}`" for k, v in spec.values.items())
        rest = "；其他值忽略" if spec.ignore_unmapped else "；其他值拒收（unknown_value）"
        return f"代码表：{codes}{rest}"
    parts = [TYPE_ZH[spec.type]]
    if spec.max_length is not None:
        parts.append(f"最长 {spec.max_length} 字")
    if spec.pattern is not None:
        parts.append(f"格式 `{spec.pattern.pattern}`")
    if spec.min is not None or spec.max is not None:
        parts.append(f"{spec.min}–{spec.max}")
    if spec.default is not None:
        parts.append(f"缺省为 `{json.dumps(spec.default)}`")
    return "，".join(parts)


def field_table(section: Section, required_too: frozenset[str] = frozenset()) -> str:
    rows = ["| 平台字段 | 我方字段 | 说明 | 必填 | 类型与格式 |", "|---|---|---|---|---|"]
    for spec in section.fields:
        need = "是" if spec.required or spec.target in required_too else "否"
        rows.append(f"| `{spec.source}` | `{spec.target}` | {FIELD_ZH.get(spec.target, '')} | {need} | "
                    f"{_cell(_format(spec))} |")
    return "\n".join(rows)


def callback_examples(mapping: HotlineMapping) -> dict[CallbackAction, dict[str, Any]]:
    """What each callback looks like on the wire, as ``callback_body`` renders our canonical payload."""
    base = {"order_no": "12345-2026-318204", "case_code": "FQ-2026-000123"}
    canonical = {
        CallbackAction.ACCEPTED: {"seq": 1, "at": "2026-11-01T09:05:00+08:00", "unit": "鹭鸣街道松涛社区第三网格"},
        CallbackAction.RETURNED: {"seq": 1, "at": "2026-11-01T09:30:00+08:00",
                                  "text": "该事项属区住建局职责，不属街道办理范围"},
        CallbackAction.EXTENSION_REQUESTED: {"seq": 2, "at": "2026-11-05T16:00:00+08:00",
                                             "text": "需等待物业公司提供维修记录",
                                             "requested_due_at": "2026-11-20T18:00:00+08:00"},
        CallbackAction.PROGRESS: {"seq": 3, "at": "2026-11-06T10:00:00+08:00", "text": "已提级至街道层面办理"},
        CallbackAction.RESOLVED: {"seq": 4, "at": "2026-11-12T15:20:00+08:00", "text": OUTCOME_ZH[Outcome.RESOLVED],
                                  "outcome": Outcome.RESOLVED.value, "unit": "鹭鸣街道松涛社区第三网格"},
    }
    return {action: mapping.callback_body({**base, "action": action.value, **extra})
            for action, extra in canonical.items()}


def signature_section(example: dict[str, Any]) -> str:
    body = vector_body(example)
    canonical = signing.canonical("POST", VECTOR_PATH, VECTOR_TIMESTAMP, VECTOR_NONCE, body).decode()
    signature = signing.sign(VECTOR_SECRET, "POST", VECTOR_PATH, VECTOR_TIMESTAMP, VECTOR_NONCE, body)
    return "\n".join([
        "## 二、签名规则", "",
        "双向请求（平台推送给我方、我方回传给平台）都用 HMAC-SHA256 签名，请求头如下：", "",
        "| 请求头 | 说明 |", "|---|---|",
        f"| `{signing.CLIENT_HEADER}` | 平台编号（由我方分配） |",
        f"| `{signing.TIMESTAMP_HEADER}` | Unix 时间戳（秒），与接收方时钟相差不得超过 5 分钟 |",
        f"| `{signing.NONCE_HEADER}` | 随机数，16–64 位 `[A-Za-z0-9_-]`，每个请求只能使用一次 |",
        f"| `{signing.SIGNATURE_HEADER}` | 签名：小写十六进制 |", "",
        "待签名字符串由五行组成，以换行符 `\\n` 连接（末尾无换行）：", "",
        "```text\n请求方法（大写）\n请求路径（含查询串，如有）\n时间戳\n随机数\n"
        "请求体的 SHA-256（小写十六进制）\n```", "",
        "签名 = HMAC-SHA256(密钥, 待签名字符串)，取小写十六进制。平台推送用我方分配的 `secret`；"
        "我方回传用 `callback_secret`，并另带 `Idempotency-Key` 请求头（同一回传重试时不变）。", "",
        "### 签名测试向量", "",
        "以下固定输入的签名结果须一致（自动化测试以我方验签代码核对）：", "",
        "| 项目 | 值 |", "|---|---|",
        f"| 密钥 | `{VECTOR_SECRET}` |", f"| 平台编号 | `{VECTOR_CLIENT}` |", "| 方法 | `POST` |",
        f"| 路径 | `{VECTOR_PATH}` |", f"| 时间戳 | `{VECTOR_TIMESTAMP}` |", f"| 随机数 | `{VECTOR_NONCE}` |",
        f"| 请求体 SHA-256 | `{hashlib.sha256(body).hexdigest()}` |", f"| 签名 | `{signature}` |", "",
        "请求体（UTF-8 字节，紧凑 JSON，无空格与换行）：", "",
        "```json\n" + body.decode() + "\n```", "",
        "待签名字符串：", "", "```text\n" + canonical + "\n```",
    ])


def render(mapping: HotlineMapping, example: dict[str, Any], message_examples: dict[MessageKind, dict[str, Any]]
           ) -> str:
    order_schema = contract.order_schema(mapping)
    fields = mapping.callback_fields
    out = [
        f"# {mapping.label}对接接口文档（映射 `{mapping.name}`）", "",
        f"> 本文档由 `python -m intake_svc.hotline.docgen` 根据 `intake_svc/data/hotline_mappings/{mapping.name}.yaml`"
        "与接口代码自动生成，请勿手工修改（`make docs` 重新生成，`make lint` 检查是否过期）。", "",
        "## 一、概述", "",
        f"- 接口前缀：`{BASE}`；请求与响应均为 UTF-8 编码的 JSON（`Content-Type: application/json`）。",
        "- 时间一律为 ISO 8601 格式并带时区，例如 `2026-11-01T08:41:15+08:00`。",
        "- 所有平台调用都须签名（见第二节）；出错时返回 `application/problem+json`，`code` 字段稳定不变（见第六节）。",
        "- 请求头 `Accept-Language: zh` 时，错误的 `title` 与 `detail` 为中文。",
        "- 完整的 OpenAPI 文档见 `docs/openapi/intake.json`（`hotlineHmac` 安全方案）；"
        "部署后与业务接口同一域名（同源），在线文档在 `/docs/intake/`（Swagger UI）与 `/docs/intake/redoc`，"
        "文档本身在 `/docs/intake/openapi.json`，例如 `https://fengqiao.example.gov.cn/docs/intake/`（各服务的文档按服务名分路径，互不冲突；"
        "文档页面不依赖外网）。", "",
        signature_section(example), "",
        "## 三、工单推送", "",
        f"`POST {BASE}/orders` —— 平台将工单推送给我方，登记为案件（渠道 `hotline_12345`）。"
        "首次推送返回 201；同一工单编号再次推送返回 200 及同一案件（`repeated: true`）。", "",
        field_table(mapping.order), "", "请求示例：", "", _json(example), "", "响应示例：", "",
        _json({"order_no": example.get("order_no"), "case_id": "0b9f4a52-6d1e-4c3a-9b1e-2f6c8d7e5a10",
               "case_code": "FQ-2026-000123", "status": "received", "duplicate_of": None, "repeated": False}), "",
        "工单的 JSON Schema（2020-12，与 OpenAPI 文档中的一致）：", "", _json(order_schema), "",
        "## 四、平台消息（回访、重办、催办）", "",
        "同一 `message_id` 重复发送时返回首次处理的结果（`repeated: true`）。", "",
        "| 接口 | 用途 | 处理结果 `outcome` |", "|---|---|---|",
    ]
    for kind in MessageKind:
        out.append(f"| `POST {BASE}/orders/{{order_no}}/{kind.value}` | {MESSAGE_ZH[kind]} | "
                   f"{MESSAGE_OUTCOME_ZH[kind]} |")
    out += ["", field_table(mapping.message), ""]
    for kind in MessageKind:
        out += [f"{MESSAGE_ZH[kind]}示例：", "", _json(message_examples[kind]), ""]
    out += ["回访消息的 JSON Schema：", "", _json(contract.message_schema(mapping, MessageKind.FEEDBACK.value)), "",
            "## 五、状态回传（我方 → 平台）", "",
            "我方在案件状态变化时向平台配置的 `callback_url` 发送 `POST`，签名方式同第二节（使用 `callback_secret`），"
            "并带 `Idempotency-Key`。同一工单的回传按 `seq` 顺序逐条送达：平台返回 2xx 视为送达，"
            "否则按指数退避重试，多次失败后暂停并由管理员处理，绝不丢失。", "",
            "| 我方回传类型 | 平台字段 `" + fields.get("action", "action") + "` 的值 | 何时发送 |", "|---|---|---|",
            f"| `accepted` | {mapping.actions['accepted']} | 承办单位签收案件（重办后再次签收） |",
            f"| `returned` | {mapping.actions['returned']} | 街道及以上层级认定不属本街道办理，附理由 |",
            f"| `extension_requested` | {mapping.actions['extension_requested']} | "
            "承办单位申请延期，附理由和申请期限 |",
            f"| `progress` | {mapping.actions['progress']} | 案件提级办理，或工作人员填写阶段回复 |",
            f"| `resolved` | {mapping.actions['resolved']} | 案件办结，附办结回复 |", "",
            "| 我方字段 | 平台字段 | 说明 |", "|---|---|---|"]
    out += [f"| `{ours}` | `{theirs}` | {CALLBACK_FIELD_ZH.get(ours, '')} |" for ours, theirs in fields.items()]
    out += ["", "办结结果代码 `outcome`：" + "；".join(f"`{o.value}` {OUTCOME_ZH[o]}" for o in Outcome) + "。", ""]
    for action, body in callback_examples(mapping).items():
        out += [f"{ACTION_ZH[action]}（`{action.value}`）示例：", "", _json(body), ""]
    out += ["## 六、错误码", "",
            "错误响应为 `application/problem+json`，例如：", "",
            _json({"type": "https://fengqiao.example/problems/validation_failed", "title": "请求内容有误",
                   "status": 422, "detail": "请求内容有误，请按标出的字段修改后重试", "code": "validation_failed",
                   "errors": [{"field": "caller.name", "reason": "required", "code": "missing"}]}), "",
            "| HTTP 状态 | `code` | 含义 |", "|---|---|---|"]
    out += [f"| {status} | `{code}` | {text or DETAIL_ZH[code]} |" for status, code, text in ERRORS]
    out += ["", "`errors[]` 中每一项的 `code`：", "", "| `code` | 含义 |", "|---|---|"]
    out += [f"| `{code}` | {text} |" for code, text in FIELD_ERRORS.items()]
    return "\n".join(out) + "\n"


def documents() -> dict[str, str]:
    from intake_svc.hotline.api import MESSAGE_EXAMPLES, ORDER_EXAMPLE

    return {f"{m.name}.md": render(m, ORDER_EXAMPLE, MESSAGE_EXAMPLES) for m in contract.load_all()}


def main(argv: list[str] | None = None) -> int:
    return write_or_check(documents, OUT, "12345 interface documents", argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
