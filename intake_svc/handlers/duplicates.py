"""Duplicates decided by staff (一件事只立一案): merge an open case into another, undo an automatic link. The
caller owns the transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc.deps import IntakeDeps
from intake_svc.domain import dedup
from intake_svc.domain.case import LINKED_AUTOMATICALLY, OPEN_STATUSES, CaseStatus, TimelineKind
from intake_svc.handlers.case_file import get_case_in_scope
from intake_svc.handlers.registration import aad, received_event
from intake_svc.schemas import MergeRequest, UnmergeRequest
from intake_svc.store import cases as store
from intake_svc.tables import Case
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.events import CaseMerged
from shared.events.case import Channel, RequestType, RiskLevel
from shared.problems import Problem, field_problem


async def merge_case(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: MergeRequest,
                     user: Principal) -> Case:
    """Staff confirm that an open case is the same matter as another open case (e.g. a suggested candidate): it
    follows its primary like an automatic link. Emits ``fq.case.merged.v1`` with ``linked_by`` = the staff id."""
    if body.primary_case_id == case_id:
        raise field_problem("primary_case_id", "a case cannot be merged into itself", "same_case")
    # lock both in id order: two merges of the same pair in opposite directions cannot deadlock
    first, second = sorted((case_id, body.primary_case_id))
    locked = {c.id: c for c in [await _in_scope_or_none(session, first, user),
                                await _in_scope_or_none(session, second, user)] if c is not None}
    case, primary = locked.get(case_id), locked.get(body.primary_case_id)
    if case is None:
        raise Problem(404, "case_not_found", f"no case {case_id} in your scope")
    if primary is None:
        raise Problem(404, "primary_case_not_found", f"no case {body.primary_case_id} in your scope",
                      errors=[{"field": "primary_case_id", "reason": "no such case in your scope",
                               "code": "primary_case_not_found"}])
    if case.status not in OPEN_STATUSES:
        raise Problem(409, "case_not_open", f"only open cases are merged; this one is {case.status}",
                      status_now=case.status)
    if primary.status not in OPEN_STATUSES:
        detail = f"the primary is merged into {primary.duplicate_of}: merge into that case" \
            if primary.status == CaseStatus.MERGED else f"the primary must be open; it is {primary.status}"
        raise Problem(409, "primary_not_open", detail, status_now=primary.status)
    suggested = next((c["similarity"] for c in case.duplicate_candidates
                      if c.get("case_id") == str(primary.id)), None)
    similarity = float(suggested) if suggested is not None else \
        round(dedup.similarity(case.description, primary.description), 3)
    now = deps.clock.now()
    case.status = CaseStatus.MERGED
    case.duplicate_of = primary.id
    case.visible_units = list(dict.fromkeys([*case.visible_units, *primary.visible_units]))
    store.touch(case, now)
    store.add_timeline(session, case.id, now, TimelineKind.MERGED,
                       f"经工作人员核实，与案件 {primary.code} 为同一事项，已合并办理", actor=user.sub,
                       data={"primary_case_id": str(primary.id), "linked_by": user.sub, "similarity": similarity,
                             "reason": body.reason})
    store.add_timeline(session, primary.id, now, TimelineKind.DUPLICATE_LINKED,
                       f"案件 {case.code} 经核实为同一事项，已并入本案办理", actor=user.sub,
                       data={"case_id": str(case.id), "linked_by": user.sub})
    await add_event(session, CaseMerged(case_id=case.id, at=now, code=case.code, primary_case_id=primary.id,
                                        similarity=similarity, channel=Channel(case.channel), linked_by=user.sub),
                    source=deps.source)
    return case


async def _in_scope_or_none(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> Case | None:
    case = await store.load_case(session, case_id, for_update=True)
    return case if case is not None and user.can_see(case.visible_units) else None


async def unmerge_case(session: AsyncSession, deps: IntakeDeps, case_id: uuid.UUID, body: UnmergeRequest,
                       user: Principal) -> Case:
    """Undo an automatic link made at intake: the report becomes a case of its own and is routed and counted now
    (``fq.case.received.v1``, dated when it was registered). A merge decided by staff is final here: that case
    had already been routed, and taking it back is routing's business."""
    case = await get_case_in_scope(session, case_id, user, for_update=True)
    if case.status != CaseStatus.MERGED or case.duplicate_of is None:
        raise Problem(409, "case_not_merged", f"the case is {case.status}, not merged", status_now=case.status)
    entries = await store.timeline(session, case.id, public_only=False)
    link = next((e for e in reversed(entries) if e.kind == TimelineKind.MERGED), None)
    received = next((e for e in entries if e.kind == TimelineKind.RECEIVED), None)
    linked_by = (link.data.get("linked_by") if link else None) or LINKED_AUTOMATICALLY
    if linked_by != LINKED_AUTOMATICALLY:
        raise Problem(409, "merge_not_automatic", "only an automatic link can be undone; this merge was decided by "
                      "staff", linked_by=linked_by)
    primary = await store.load_case(session, case.duplicate_of)
    now = deps.clock.now()
    case.status = CaseStatus.RECEIVED
    case.duplicate_of = None
    store.touch(case, now)
    primary_code = primary.code if primary else str(case.duplicate_of)
    store.add_timeline(session, case.id, now, TimelineKind.UNMERGED,
                       f"经工作人员核实，与案件 {primary_code} 不是同一事项，单独办理", actor=user.sub,
                       data={"primary_case_id": str(link.data.get("primary_case_id")) if link else None,
                             "reason": body.reason})
    if primary is not None:
        store.add_timeline(session, primary.id, now, TimelineKind.DUPLICATE_UNLINKED,
                           f"案件 {case.code} 经核实不是同一事项，已单独办理", actor=user.sub, public=False,
                           data={"case_id": str(case.id)})
    address_sealed = case.location.get("address_sealed")
    # routed and counted now, as registration would have: the same event, dated when the report was registered
    await add_event(session, received_event(
        deps, case_id=case.id, at=case.created_at, code=case.code, channel=Channel(case.channel),
        request_type=RequestType(case.request_type), category=case.category, risk_level=RiskLevel(case.risk_level),
        risk_signals=[r.split("(", 1)[0] for r in case.risk_reasons], people_involved=case.people_involved,
        amount_involved=float(case.amount_involved) if case.amount_involved is not None else None,
        grid_id=case.location.get("grid_id"), lat=case.location.get("lat"), lng=case.location.get("lng"),
        address=deps.pii.open(address_sealed, aad(case.id)) if address_sealed else None,
        received_unit_id=received.data.get("unit_id") if received else None, urgent=case.urgent,
        deadline_days=case.deadline_days, applicant_index=list(case.applicant_index),
        address_index=case.address_index), source=deps.source)
    return case
