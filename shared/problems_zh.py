"""Simplified Chinese ``title`` and ``detail`` of every problem ``code``, sent when the caller's
``Accept-Language`` prefers ``zh`` (``shared.problems.problem_response``). The ``code`` never changes; a code
missing here keeps its English detail (``tests/shared/test_problems_zh.py`` checks that every code the services
raise has a line)."""

from __future__ import annotations

TITLE_ZH = {
    400: "请求有误", 401: "需要登录", 403: "无权操作", 404: "未找到", 405: "不支持的请求方法", 409: "状态冲突",
    412: "版本已变化", 413: "内容过大", 415: "不支持的内容类型", 422: "请求内容有误", 428: "缺少版本条件",
    429: "请求过于频繁", 500: "系统内部错误", 503: "服务暂不可用",
}

DETAIL_ZH = {
    # people (routing) and records (intake)
    "already_taken": "该任务已由其他人员承办",
    "not_unit_member": "您不是该单位的成员，不能承办此任务",
    "attachment_not_found": "附件不存在",
    "attachment_content_missing": "附件内容缺失，请重新上传",
    "file_too_large": "文件过大，超过允许的大小",
    "not_an_image": "只有图片可以上传遮挡后的副本",
    "note_not_found": "处置记录不存在",
    "party_not_found": "当事人不存在",
    "party_unchanged": "当事人信息没有变化",
    "session_not_found": "调解记录不存在",
    # generic (an HTTP error without a code of ours)
    "bad_request": "请求格式有误",
    "unauthenticated": "请先登录",
    "forbidden": "您无权进行此操作",
    "not_found": "请求的地址不存在",
    "method_not_allowed": "此地址不支持该请求方法",
    "conflict": "与当前状态冲突，请刷新后重试",
    "precondition_failed": "内容已被他人修改，请刷新后重试",
    "precondition_required": "请带上版本条件（If-Match）后重试",
    "unavailable": "服务暂不可用，请稍后再试",
    "internal_error": "系统出现意外错误，已记录，请稍后再试",
    "database_unavailable": "数据库暂时无法连接，本次操作未生效，请稍后重试",
    "value_not_storable": "请求中有无法保存的数值（超出范围或格式不支持），请检查后重试",
    "validation_failed": "请求内容有误，请按标出的字段修改后重试",
    "payload_too_large": "提交的内容过大",
    "too_large": "提交的内容过大",
    "unsupported_media_type": "不支持的内容类型",
    "rate_limited": "查询过于频繁，请稍后再试",
    "invalid_cursor": "翻页参数无效，请从第一页重新查询",
    # sign-in and scope
    "missing_token": "请先登录（缺少访问令牌）",
    "invalid_token": "登录凭证无效，请重新登录",
    "token_expired": "登录已过期，请重新登录",
    "identity_provider_unreachable": "暂时无法验证登录凭证，请稍后再试",
    "forbidden_role": "您的角色无权进行此操作",
    "no_unit": "您的账号未关联单位，暂无可查看的内容",
    "out_of_scope": "该单位不在您的管辖范围内",
    "read_only": "该案件曾经过您的单位，您可以查看但不能办理",
    # cases (intake)
    "case_not_found": "未找到该案件，或不在您的管辖范围内",
    "applicant_not_found": "该案件没有可联系的申请人",
    "case_not_merged": "该案件未被合并",
    "case_not_open": "该案件已不在办理中",
    "primary_case_not_found": "未找到要合并到的主案件",
    "primary_not_open": "主案件已不在办理中，不能合并",
    "merge_not_automatic": "只能撤销系统自动合并；此次合并由工作人员决定",
    "classification_unchanged": "案件已是该分类和诉求类型",
    "risk_unchanged": "案件已是该风险等级",
    "idempotency_in_progress": "相同的请求仍在处理中，请稍后再试",
    "idempotency_key_reused": "该幂等键已用于另一份内容不同的请求",
    # 12345 hotline
    "hotline_disabled": "未配置12345热线对接",
    "nonce_replayed": "该请求已处理过（随机数重复），拒绝重放",
    "message_id_reused": "该消息编号已用于另一条消息",
    "order_not_found": "未找到该12345工单",
    "order_ambiguous": "该工单编号对应多个案件，请联系管理员",
    "order_closed": "该12345工单已办结归档",
    "order_not_accepted": "该12345工单尚未受理",
    "case_not_resolved": "案件尚未办结",
    "callback_not_found": "未找到该回传记录",
    "callback_delivered": "该回传已送达，无需重发",
    # assignments and the org (routing)
    "assignment_not_found": "未找到该派单，或不在您的管辖范围内",
    "illegal_transition": "当前状态下不能进行此操作",
    "no_street_centre": "没有可接收退回案件的街道中心",
    "not_approver": "延期申请由上级单位负责人审批",
    "unit_not_found": "未找到该单位",
    "unit_inactive": "该单位已停用",
    "unit_has_active_children": "该单位下仍有启用的下级单位，不能停用",
    "parent_inactive": "上级单位已停用",
    "member_not_found": "未找到该人员",
    "invalid_org": "组织架构有误，请按标出的字段修改",
    "invalid_csv": "CSV 文件有误，请使用 UTF-8 编码并按模板填写",
    "no_org": "尚未导入组织架构，无法定位案件",
    "invalid_rules": "派发规则有误，请按标出的字段修改",
    "rules_version_not_found": "未找到该版本的派发规则",
    "version_mismatch": "规则已被他人修改，请刷新后重试",
    # notify
    "inbox_item_not_found": "未找到该待办消息",
    "invalid_template": "消息模板有误",
    "template_not_found": "未找到该消息模板",
    "target_not_found": "该单位尚未配置此通知渠道（新建时 If-Match 填 \"0\"）",
    "template_render_failed": "消息模板无法生成内容，请检查模板中的字段",
    "survey_not_found": "此回访链接无效",
    "survey_expired": "此回访链接已过期",
    "survey_already_answered": "此回访已完成，感谢您的评价",
    "survey_cancelled": "此事项已与其他事项合并办理，本次回访已取消",
    # analytics
    "export_too_large": "导出的数据过多，请缩小时间范围或筛选条件",
    # the case file's documents (协议书, 司法确认, 履行)
    "agreement_not_found": "未找到该调解协议书，或不在您的权限范围内",
    "agreement_not_signed": "调解协议书尚未签字归档，不能申请司法确认",
    "agreement_signed": "调解协议书已签字归档，不能再修改",
    "case_merged": "该案件已并入其他案件，请在主案件中办理",
    "confirmation_decided": "司法确认已有结果，不能再修改",
    "confirmation_exists": "该调解协议书已登记司法确认",
    "confirmation_not_found": "未找到该司法确认记录",
    "performance_recorded": "该协议的履行情况已登记",
    "pdf_font_missing": "服务器缺少中文字体，暂时无法生成文书，请联系运维人员",
    # the people on a case (协办, 包案领导, 专班, 回头看)
    "cohandling_open": "还有协办任务未完成，主办单位需先关闭或等待协办完成后才能办结",
    "not_lead": "只有主办单位可以进行此操作",
    "not_task_member": "只有该协办任务的承办人可以进行此操作",
    "task_not_found": "未找到该协办任务，或不在您的权限范围内",
    "responsible_exists": "该单位已设置此力量的负责人",
    "responsible_not_found": "该单位未设置此力量的负责人",
    "leader_exists": "该案件已有包案领导，如需更换请使用修改操作",
    "leader_not_applicable": "该人员不能担任此案件的包案领导",
    "leader_not_set": "该案件尚未指定包案领导",
    "task_force_exists": "该案件已成立专班",
    "task_force_not_found": "该案件尚未成立专班",
    "lookback_not_found": "未找到该回头看，或不在您的权限范围内",
    "lookback_not_due": "回头看尚未到期，请到期后再登记结果",
    "lookback_done": "该回头看已登记结果",
    "case_not_closed": "案件尚未销号，不能登记回头看结果",
}


def _q(param: str) -> float:
    name, _, value = param.strip().partition("=")
    try:
        return float(value) if name.strip().lower() == "q" else 1.0
    except ValueError:
        return 0.0


def prefers_chinese(accept_language: str | None) -> bool:
    """True when the most preferred language of ``Accept-Language`` (RFC 9110 §12.5.4: q-values, the first of
    equals) is Chinese (``zh``, ``zh-CN``, ``zh-Hans-CN``…)."""
    ranked = []
    for i, item in enumerate((accept_language or "").split(",")[:20]):
        tag, *params = item.split(";")
        if tag.strip():
            ranked.append((-min((_q(p) for p in params), default=1.0), i, tag.strip().lower()))
    if not ranked:
        return False
    q, _, best = min(ranked)
    return q < 0 and (best == "zh" or best.startswith("zh-"))
