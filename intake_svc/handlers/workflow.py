"""Routing's workflow events on the case file: status, current unit, who may see it, and the timeline (in plain
Chinese, without personal data).

``fq.case.assigned.v1`` follows every return, escalation, dispatch and reopen and sets the new unit (one statement:
the consumer's hot path); the other handlers add the "why" to the timeline and keep the status right in between.

A merged case stays merged whatever routing says about it afterwards (it follows its primary; routing closes its
own assignment of it): routing's events on it are kept on the staff timeline only, and never change its status.
"""

from __future__ import annotations

import json
from datetime import datetime

from intake_svc.deps import IntakeDeps
from intake_svc.domain.case import CaseStatus, TimelineKind
from intake_svc.domain.timeline import (
    CLOCK_ZH,
    CLOSE_ZH,
    ESCALATION_ZH,
    OUTCOME_ZH,
    REOPEN_ZH,
    local_time,
)
from intake_svc.store import cases as store
from intake_svc.store import workflow as sql
from intake_svc.tables import Case
from shared.bus.handlers import EventContext
from shared.events import CaseAccepted, CaseAssigned, CaseResolved
from shared.events.case import (
    CaseClosed,
    CaseEscalated,
    CaseExtended,
    CaseExtensionRejected,
    CaseOverdue,
    CaseReopened,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    Level,
)


def _set_status(case: Case, status: CaseStatus, at: datetime) -> None:
    """Routing's view of the case's status, unless the case is merged (final here: it follows its primary)."""
    if case.status != CaseStatus.MERGED:
        case.status = status
    store.touch(case, at)


def _public(case: Case) -> bool:
    """Whether routing's entry shows on the citizen's page: not for a merged case (its primary's page tells)."""
    return case.status != CaseStatus.MERGED


async def on_case_assigned(ctx: EventContext[IntakeDeps], event: CaseAssigned) -> None:
    """Status ``assigned`` (a merged case stays merged: it follows its primary), the current unit, and the unit's
    path added to who may see the case (order kept)."""
    done = await ctx.session.execute(sql.ASSIGNED, {
        "status": CaseStatus.ASSIGNED.value, "merged": CaseStatus.MERGED.value,
        "kind": TimelineKind.ASSIGNED.value, "unit_id": event.unit_id,
        "assignment_id": event.assignment_id, "path": list(event.unit_path), "at": event.at, "case_id": event.case_id,
        "summary": f"已派发至{event.unit_name or event.unit_id}办理",
        "data": json.dumps({"unit_id": event.unit_id, "level": event.level.value,
                            "explanation": event.explanation}, ensure_ascii=False),
    })
    if done.first() is None:
        raise LookupError(f"case {event.case_id} not found")  # retried, then dead-lettered


async def on_case_accepted(ctx: EventContext[IntakeDeps], event: CaseAccepted) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    if case.assignment_id == event.assignment_id:
        _set_status(case, CaseStatus.IN_PROGRESS, event.at)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.ACCEPTED,
                       "承办单位已签收，正在办理", actor=event.unit_id, public=_public(case),
                       data={"unit_id": event.unit_id, "on_time": event.accepted_on_time})


async def on_case_resolved(ctx: EventContext[IntakeDeps], event: CaseResolved) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    case.outcome = event.outcome.value
    _set_status(case, CaseStatus.RESOLVED, event.at)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.RESOLVED,
                       OUTCOME_ZH[event.outcome], actor=event.unit_id, public=_public(case),
                       data={"unit_id": event.unit_id, "outcome": event.outcome.value,
                             "mediation_agreement": event.mediation_agreement})


async def on_case_returned(ctx: EventContext[IntakeDeps], event: CaseReturned) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    # below the street a return is re-routed (an assigned event follows); the street centre's return sends the
    # case back to its channel (e.g. the 12345 platform) and nothing follows
    back_to_channel = event.level in (Level.STREET, Level.DISTRICT)
    if case.assignment_id == event.assignment_id:
        _set_status(case, CaseStatus.RETURNED if back_to_channel else CaseStatus.RECEIVED, event.at)
    summary = "不属于本辖区，已退回来源渠道" if back_to_channel else "承办单位退单，正在重新派发"
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.RETURNED,
                       summary, actor=event.unit_id, public=_public(case),
                       data={"unit_id": event.unit_id, "return_count": event.return_count})


async def on_case_escalated(ctx: EventContext[IntakeDeps], event: CaseEscalated) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.ESCALATED,
                       f"{ESCALATION_ZH[event.reason]}提级至上级单位办理", actor=event.escalated_by,
                       public=_public(case),
                       data={"from_unit_id": event.from_unit_id, "to_unit_id": event.to_unit_id,
                             "reason": event.reason.value})


async def on_case_extended(ctx: EventContext[IntakeDeps], event: CaseExtended) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.EXTENDED,
                       f"经上级单位批准延期，{CLOCK_ZH[event.clock]}期限调整为{local_time(event.new_due_at)}",
                       actor=event.approved_by, public=_public(case), data={"clock": event.clock.value,
                                                      "new_due_at": event.new_due_at.isoformat()})


async def on_case_extension_rejected(ctx: EventContext[IntakeDeps], event: CaseExtensionRejected) -> None:
    """Staff only: the citizen's progress page shows deadlines that moved, not requests that did not move them."""
    case = await store.lock_case(ctx.session, event.case_id)
    still = f"，{CLOCK_ZH[event.clock]}期限仍为{local_time(event.due_at)}" if event.due_at else ""
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.EXTENSION_REJECTED,
                       f"延期申请未获上级单位批准{still}",
                       actor=event.rejected_by, public=False,
                       data={"clock": event.clock.value, "unit_id": event.unit_id,
                             "requested_due_at": event.requested_due_at.isoformat(),
                             "rejection_reason": event.rejection_reason})


async def on_case_suspended(ctx: EventContext[IntakeDeps], event: CaseSuspended) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    if case.assignment_id == event.assignment_id:
        _set_status(case, CaseStatus.SUSPENDED, event.at)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.SUSPENDED,
                       "案件办理中止，办理时限暂停计算", actor=event.unit_id, public=_public(case),
                       data={"unit_id": event.unit_id})


async def on_case_resumed(ctx: EventContext[IntakeDeps], event: CaseResumed) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    if case.assignment_id == event.assignment_id:
        accepted = event.resolve_due_at is not None or event.accept_due_at is None
        _set_status(case, CaseStatus.IN_PROGRESS if accepted else CaseStatus.ASSIGNED, event.at)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.RESUMED,
                       "案件恢复办理，办理时限相应顺延", actor=event.unit_id, public=_public(case),
                       data={"unit_id": event.unit_id})


async def on_case_overdue(ctx: EventContext[IntakeDeps], event: CaseOverdue) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    summary = f"超过{CLOCK_ZH[event.clock]}时限" + ("，已提级办理" if event.escalated else "，已督办")
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.OVERDUE,
                       summary, actor=event.unit_id, public=False,
                       data={"unit_id": event.unit_id, "clock": event.clock.value, "escalated": event.escalated})


async def on_case_reopened(ctx: EventContext[IntakeDeps], event: CaseReopened) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    _set_status(case, CaseStatus.RECEIVED, event.at)  # the new assignment follows
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.REOPENED,
                       f"{REOPEN_ZH[event.reason]}，案件重新办理",
                       actor=event.reopened_by, public=_public(case),
                       data={"reason": event.reason.value, "reopen_count": event.reopen_count})


async def on_case_closed(ctx: EventContext[IntakeDeps], event: CaseClosed) -> None:
    case = await store.lock_case(ctx.session, event.case_id)
    _set_status(case, CaseStatus.CLOSED, event.at)
    store.add_timeline(ctx.session, case.id, event.at, TimelineKind.CLOSED,
                       CLOSE_ZH[event.reason], actor=event.unit_id, public=_public(case),
                       data={"reason": event.reason.value})
