"""What a caller may do, by role: the table ``GET /api/v1/me`` answers from, so a frontend shows only the buttons
that will work. Each entry names the roles the endpoint's guard admits (admins pass every guard);
``tests/contracts/test_capabilities.py`` checks the table against the guards the services really use."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.auth import Role

R = Role
CAPABILITIES: dict[str, frozenset[str]] = {
    # intake
    "case.register": frozenset({R.OPERATOR, R.GRID_WORKER, R.MEDIATOR, R.COMMUNITY_ADMIN, R.STREET_ADMIN, R.SERVICE}),
    "case.read_personal": frozenset({R.OPERATOR, R.MEDIATOR, R.COMMUNITY_ADMIN, R.STREET_ADMIN}),
    "case.search": frozenset({R.OPERATOR, R.MEDIATOR, R.GRID_WORKER, R.COMMUNITY_ADMIN, R.STREET_ADMIN}),
    "case.access_log": frozenset({R.STREET_ADMIN}),
    # routing
    "assignment.handle": frozenset({R.GRID_WORKER, R.MEDIATOR, R.COMMUNITY_ADMIN, R.STREET_ADMIN, R.DISTRICT_ADMIN}),
    "assignment.approve_extension": frozenset({R.COMMUNITY_ADMIN, R.STREET_ADMIN, R.DISTRICT_ADMIN}),
    "assignment.reopen": frozenset({R.SERVICE, R.OPERATOR, R.COMMUNITY_ADMIN, R.STREET_ADMIN, R.DISTRICT_ADMIN}),
    "org.import": frozenset({R.STREET_ADMIN, R.SERVICE}),
    "rules.edit": frozenset(),
    # notify
    "deliveries.read": frozenset({R.COMMUNITY_ADMIN, R.STREET_ADMIN, R.DISTRICT_VIEWER, R.SERVICE}),
    "notify.configure": frozenset(),
}

LABELS = {"case.register": "登记案件", "case.read_personal": "查看当事人信息", "case.search": "查询案件",
          "case.access_log": "查看个人信息访问记录",
          "assignment.handle": "签收、办理、退单", "assignment.approve_extension": "延期审批",
          "assignment.reopen": "重办", "org.import": "导入组织架构", "rules.edit": "编辑派发规则",
          "deliveries.read": "查看通知记录", "notify.configure": "配置通知"}


def allowed(roles: frozenset[str] | set[str]) -> list[str]:
    """The capabilities of a caller with ``roles``, in table order (admins: all)."""
    return [name for name, who in CAPABILITIES.items() if Role.ADMIN in roles or who & roles]


class UnitRef(BaseModel):
    id: str = Field(examples=["G-0101"])
    name: str = Field(examples=["枫桥社区第一网格"])
    level: str = Field(examples=["grid"])


class Labelled(BaseModel):
    code: str = Field(examples=["assignment.handle"])
    label: str = Field(description="简体中文名称", examples=["签收、办理、退单"])


class Me(BaseModel):
    """当前用户: who the token says the caller is, their unit and its path, and what they may do."""

    sub: str = Field(examples=["u-1001"])
    name: str | None = Field(default=None, examples=["张三"])
    roles: list[Labelled] = Field(description="角色（code 与中文名）")
    unit: UnitRef | None = Field(description="所属单位；全局角色或未登记的单位为空")
    unit_path: list[UnitRef] = Field(description="从区到所属单位的路径")
    scope: str = Field(description="all: 全部; subtree: 所属单位及下级; none: 无（令牌未指明单位）")
    capabilities: list[Labelled] = Field(description="可执行的操作")
