"""Staff search and the registration pre-check (登记预检). Registered before ``api.cases`` so that
``/cases/search`` and ``/cases/preview`` are not read as a case id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from intake_svc.api.case_file import STAFF
from intake_svc.api.cases import CAN_REGISTER
from intake_svc.deps import Deps
from intake_svc.domain.personal import normalize_mobile
from intake_svc.handlers import search
from intake_svc.schemas import CasePreview, CasePreviewIn, CaseSummary
from shared.auth import CurrentUser
from shared.bus import pending
from shared.problems import Problem, field_problem
from shared.runtime import SessionDep

router = APIRouter(prefix="/api/v1", tags=["cases"])


@router.get("/cases/search", response_model=list[CaseSummary], dependencies=[STAFF], operation_id="search_cases")
async def search_cases(
    session: SessionDep, deps: Deps, user: CurrentUser,
    code: Annotated[str | None, Query(pattern=r"^[Ff][Qq]-\d{8}-\d{6,}$", max_length=32,
                                      description="案件编号, e.g. FQ-20261123-000042")] = None,
    ref: Annotated[str | None, Query(
        min_length=1, max_length=100, description="外部编号: a 12345 order number or a transfer's file number")] = None,
    phone: Annotated[str | None, Query(min_length=11, max_length=20,
                                       description="申请人手机号 (matched through the blind index; logged)")] = None,
) -> list[CaseSummary]:
    """查询案件: by case code, external reference or applicant phone (any combination; at least one), in the
    caller's scope, newest first, at most 20. A phone search is written to each matched case's personal-data access
    log (个人信息访问记录)."""
    if code is None and ref is None and phone is None:
        raise Problem(422, "validation_failed", "give code, ref or phone",
                      errors=[{"field": "query", "reason": "give code, ref or phone", "code": "missing"}])
    if phone is not None:
        try:
            phone = normalize_mobile(phone)
        except ValueError as exc:
            raise field_problem("query.phone", str(exc), "invalid_phone") from None
    async with pending.transaction(session):
        rows = await search.search(session, deps, user, code=code, ref=ref, phone=phone)
        return [CaseSummary.model_validate(c, from_attributes=True) for c in rows]


@router.post("/cases/preview", response_model=CasePreview, dependencies=[CAN_REGISTER],
             operation_id="preview_case")
async def preview_case(body: CasePreviewIn, session: SessionDep, deps: Deps) -> CasePreview:
    """登记预检: the category the classifier suggests (with alternatives), the request type, the risk level
    (红黄蓝) and its reasons, and the open cases this one may duplicate — as ``POST /cases`` would decide them,
    saving nothing."""
    return await search.preview(session, deps, body)
