"""Routing's workflow events on the case file: status and the timeline (in plain Chinese, without personal data).

``fq.case.assigned.v1`` (handled in handlers.py) follows every return, escalation, dispatch and reopen and sets
the new unit; these handlers add the "why" to the timeline and keep the status right in between.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from intake_svc import timeline
from intake_svc.domain import CaseStatus
from intake_svc.handlers import _load_for_update, _touch
from shared.clock import SHANGHAI
from shared.events import Envelope
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
    CloseReason,
    DeadlineClock,
    EscalationReason,
    Level,
    ReopenReason,
)

CLOCK_ZH = {DeadlineClock.ACCEPT: "签收", DeadlineClock.RESOLVE: "办结"}
ESCALATION_ZH = {EscalationReason.RULE: "按分级规则", EscalationReason.REQUEST: "经承办单位申请",
                 EscalationReason.TIMEOUT: "因超期未签收"}
REOPEN_ZH = {ReopenReason.UNSATISFIED_FEEDBACK: "回访不满意", ReopenReason.HOTLINE_REDO: "12345热线要求重办",
             ReopenReason.STAFF: "经工作人员决定"}
CLOSE_ZH = {CloseReason.SATISFIED: "回访满意，已销号", CloseReason.NO_ANSWER: "回访期满未获答复，已销号",
            CloseReason.STAFF: "经工作人员确认，已销号"}


def _local(at: datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


async def on_case_returned(session: AsyncSession, event: CaseReturned, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    # below the street a return is re-routed (an assigned event follows); the street centre's return sends the
    # case back to its channel (e.g. the 12345 platform) and nothing follows
    back_to_channel = event.level in (Level.STREET, Level.DISTRICT)
    if case.assignment_id == event.assignment_id:
        case.status = (CaseStatus.RETURNED if back_to_channel else CaseStatus.RECEIVED).value
        _touch(case, event.at)
    summary = "不属于本辖区，已退回来源渠道" if back_to_channel else "承办单位退单，正在重新派发"
    timeline.record(session, case.id, event.at, "returned", summary, actor=event.unit_id,
                    data={"unit_id": event.unit_id, "return_count": event.return_count})


async def on_case_escalated(session: AsyncSession, event: CaseEscalated, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    timeline.record(session, case.id, event.at, "escalated", f"{ESCALATION_ZH[event.reason]}提级至上级单位办理",
                    actor=event.escalated_by, data={"from_unit_id": event.from_unit_id, "to_unit_id": event.to_unit_id,
                                                   "reason": event.reason.value})


async def on_case_extended(session: AsyncSession, event: CaseExtended, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    timeline.record(session, case.id, event.at, "extended",
                    f"经上级单位批准延期，{CLOCK_ZH[event.clock]}期限调整为{_local(event.new_due_at)}",
                    actor=event.approved_by, data={"clock": event.clock.value,
                                                   "new_due_at": event.new_due_at.isoformat()})


async def on_case_extension_rejected(session: AsyncSession, event: CaseExtensionRejected, env: Envelope) -> None:
    """Staff only: the citizen's progress page shows deadlines that moved, not requests that did not move them."""
    case = await _load_for_update(session, event.case_id)
    still = f"，{CLOCK_ZH[event.clock]}期限仍为{_local(event.due_at)}" if event.due_at else ""
    timeline.record(session, case.id, event.at, "extension_rejected", f"延期申请未获上级单位批准{still}",
                    actor=event.rejected_by, public=False,
                    data={"clock": event.clock.value, "unit_id": event.unit_id,
                          "requested_due_at": event.requested_due_at.isoformat(),
                          "rejection_reason": event.rejection_reason})


async def on_case_suspended(session: AsyncSession, event: CaseSuspended, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    if case.assignment_id == event.assignment_id:
        case.status = CaseStatus.SUSPENDED.value
        _touch(case, event.at)
    timeline.record(session, case.id, event.at, "suspended", "案件办理中止，办理时限暂停计算", actor=event.unit_id,
                    data={"unit_id": event.unit_id})


async def on_case_resumed(session: AsyncSession, event: CaseResumed, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    if case.assignment_id == event.assignment_id:
        accepted = event.resolve_due_at is not None or event.accept_due_at is None
        case.status = (CaseStatus.IN_PROGRESS if accepted else CaseStatus.ASSIGNED).value
        _touch(case, event.at)
    timeline.record(session, case.id, event.at, "resumed", "案件恢复办理，办理时限相应顺延", actor=event.unit_id,
                    data={"unit_id": event.unit_id})


async def on_case_overdue(session: AsyncSession, event: CaseOverdue, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    summary = f"超过{CLOCK_ZH[event.clock]}时限" + ("，已提级办理" if event.escalated else "，已督办")
    timeline.record(session, case.id, event.at, "overdue", summary, actor=event.unit_id, public=False,
                    data={"unit_id": event.unit_id, "clock": event.clock.value, "escalated": event.escalated})


async def on_case_reopened(session: AsyncSession, event: CaseReopened, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    case.status = CaseStatus.RECEIVED.value  # the new assignment follows
    _touch(case, event.at)
    timeline.record(session, case.id, event.at, "reopened", f"{REOPEN_ZH[event.reason]}，案件重新办理",
                    actor=event.reopened_by, data={"reason": event.reason.value, "reopen_count": event.reopen_count})


async def on_case_closed(session: AsyncSession, event: CaseClosed, env: Envelope) -> None:
    case = await _load_for_update(session, event.case_id)
    case.status = CaseStatus.CLOSED.value
    _touch(case, event.at)
    timeline.record(session, case.id, event.at, "closed", CLOSE_ZH[event.reason], actor=event.unit_id,
                    data={"reason": event.reason.value})


HANDLERS = {
    CaseReturned.ce_type: on_case_returned,
    CaseEscalated.ce_type: on_case_escalated,
    CaseExtended.ce_type: on_case_extended,
    CaseExtensionRejected.ce_type: on_case_extension_rejected,
    CaseSuspended.ce_type: on_case_suspended,
    CaseResumed.ce_type: on_case_resumed,
    CaseOverdue.ce_type: on_case_overdue,
    CaseReopened.ce_type: on_case_reopened,
    CaseClosed.ce_type: on_case_closed,
}
