"""The documents' KPIs: 协议书, 司法确认, 履行率."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter

from analytics_svc.api.params import WindowDep
from analytics_svc.handlers.records_kpis import document_kpis
from analytics_svc.schemas_records import DocumentKpis
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["analytics"])


class DocumentsBy(StrEnum):
    CATEGORY = "category"
    UNIT = "unit"


@router.get("/kpis/documents", response_model=DocumentKpis, response_model_by_alias=True)
async def documents(session: SessionDep, q: WindowDep, by: DocumentsBy | None = None) -> dict[str, Any]:
    """协议书 count and rate (cases with a signed 人民调解协议书 per resolved case), 司法确认 applied and confirmed,
    履行率 (已履行 of the recorded 履行) over the cases received in the window in a unit's subtree; ``by`` groups them
    per top-level category or per child unit of the scope."""
    return await document_kpis(session, q.filters, by.value if by else None)
