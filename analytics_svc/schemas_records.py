"""HTTP models of the documents' KPIs (协议书, 司法确认, 履行率)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class DocumentValues(BaseModel):
    resolved: int = Field(description="调解成功的案件数（协议书率的分母）")
    cases_with_agreement: int = Field(description="签署人民调解协议书的案件数")
    agreements: int = Field(description="协议书数")
    agreement_rate: float | None = Field(description="协议书率：签署协议书的案件 / 调解成功的案件")
    judicial_applied: int = Field(description="申请司法确认的协议书数")
    judicial_confirmed: int = Field(description="司法确认有效的协议书数")
    judicial_confirmation_rate: float | None = Field(description="司法确认率：确认有效 / 协议书")
    performed: int = Field(description="已履行的协议书数")
    not_performed: int = Field(description="未履行的协议书数")
    performance_rate: float | None = Field(description="履行率：已履行 / 已登记履行情况的协议书")


class DocumentGroup(DocumentValues):
    key: str | None
    label: str


class DocumentKpis(DocumentValues):
    model_config = ConfigDict(populate_by_name=True)
    from_: datetime = Field(alias="from")
    to: datetime
    unit_id: str | None
    by: str | None = Field(description="category | unit | none")
    items: list[DocumentGroup]
