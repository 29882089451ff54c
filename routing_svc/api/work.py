"""Work lists: ``GET /api/v1/my/work`` — the caller's open assignments (承办人 = the caller), or with
``scope=unit`` a leader's whole unit (assigned to someone or not: nothing is hidden from the unit), due soonest
first, with per-status counts for badges."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import case, func, not_, select

from routing_svc.api.assignments import _overdue
from routing_svc.api.work_tasks import my_tasks
from routing_svc.deps import Deps
from routing_svc.domain.assignment import OPEN, AssignmentStatus
from routing_svc.handlers.assignees import LEADER_ROLES
from routing_svc.schemas import WorkItem, WorkList
from routing_svc.tables import Assignment, OrgUnit
from shared.auth import CurrentUser
from shared.events.case import RiskLevel, Track
from shared.problems import Problem
from shared.runtime import SessionDep
from shared.worktime import WorkCalendar

router = APIRouter(prefix="/api/v1")

_OPEN = [s.value for s in AssignmentStatus if s in OPEN]  # in the workflow's order
_ON_ACCEPT = (Assignment.status == AssignmentStatus.ASSIGNED.value) | (
    (Assignment.status == AssignmentStatus.SUSPENDED.value)
    & (Assignment.suspended_from == AssignmentStatus.ASSIGNED.value))
# the running clock's deadline; none for a followup case (no hard resolve deadline)
DUE = case((_ON_ACCEPT, Assignment.accept_due_at),  # type: ignore[arg-type]
           (Assignment.resolve_span.is_(None), None),  # type: ignore[union-attr]
           else_=Assignment.resolve_due_at)


def _item(a: Assignment, calendar: WorkCalendar, now: datetime) -> WorkItem:
    on_accept = a.status == AssignmentStatus.ASSIGNED.value or a.suspended_from == AssignmentStatus.ASSIGNED.value
    due = a.accept_due_at if on_accept else (a.resolve_due_at if a.resolve_span is not None else None)
    left: float | None = None
    if due is not None:
        at = a.suspended_at or now  # a suspended clock stands still
        left = calendar.working_seconds(at, due) if due >= at else -calendar.working_seconds(due, at)
    return WorkItem(
        assignment_id=a.id, case_id=a.case_id, case_code=a.case_code, title=None, unit_id=a.unit_id,
        assignee_id=a.assignee_id, risk_level=RiskLevel((a.facts or {}).get("risk_level") or RiskLevel.BLUE),
        track=Track(a.track), status=AssignmentStatus(a.status), accept_due_at=a.accept_due_at,
        resolve_due_at=a.resolve_due_at, due_at=due, clock=None if due is None else ("accept" if on_accept else
                                                                                    "resolve"),
        working_seconds_left=left, overdue=a.suspended_at is None and due is not None and due < now,
        pending_extension=a.pending_extension is not None, version=a.version,
    )


@router.get("/my/work", response_model=WorkList, tags=["assignments"])
async def my_work(
    deps: Deps,
    session: SessionDep,
    user: CurrentUser,
    scope: Annotated[Literal["me", "unit"], Query(description="me: assignments whose 承办人 is the caller; unit: "
                                                             "every open assignment of the caller's unit subtree "
                                                             "(leaders)")] = "me",
    unit_id: Annotated[str | None, Query(max_length=64, description="with scope=unit: a unit in your subtree")] = None,
    status: AssignmentStatus | None = None,
    risk: RiskLevel | None = None,
    track: Track | None = None,
    overdue: bool | None = None,
    pending_approval: Annotated[bool | None, Query(description="only extension requests (延期申请) waiting for "
                                                              "your unit to decide (those of units below it)")] = None,
    sort: Annotated[Literal["due", "-due"], Query(description="by the running deadline: soonest first (due) or "
                                                            "last (-due); no deadline last")] = "due",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    kind: Annotated[Literal["assignment", "task"] | None, Query(description="only assignments, or only the "
                                                                         "caller's co-handling tasks (协办)")] = None,
) -> WorkList:
    """我的待办 / 单位待办: open assignments (待签收, 办理中, 中止) with both deadlines and the working time left."""
    own = user.scope_unit()
    where: list[Any] = [Assignment.status.in_(_OPEN)]  # type: ignore[attr-defined]
    if scope == "unit":
        if not (user.is_global or user.has_any(*LEADER_ROLES)):
            raise Problem(403, "forbidden_role", "the unit's work list is for its leaders")
        target = unit_id or own
        if own is not None and target != own:
            unit = await session.get(OrgUnit, target)
            if unit is None or own not in unit.path:
                raise Problem(404, "unit_not_found", f"no unit {target} in your scope")
        if target:
            where.append(Assignment.unit_path.contains([target]))  # type: ignore[attr-defined]
    elif unit_id is not None:
        raise Problem(422, "validation_failed", "unit_id goes with scope=unit",
                      errors=[{"field": "query.unit_id", "reason": "only with scope=unit", "code": "invalid"}])
    elif pending_approval:  # needs my approval: requests of units below mine, whoever holds them
        if own is not None:
            where.append(Assignment.unit_path.contains([own]))  # type: ignore[attr-defined]
    else:
        where.append(Assignment.assignee_id == user.sub)
    if pending_approval is not None:
        waiting = func.jsonb_typeof(Assignment.pending_extension) == "object"
        where.append(waiting if pending_approval else not_(waiting))
        if pending_approval and own is not None:
            where.append(Assignment.unit_id != own)
    if risk is not None:
        where.append(func.coalesce(Assignment.facts["risk_level"].astext, RiskLevel.BLUE.value)  # type: ignore[index]
                     == risk.value)
    if track is not None:
        where.append(Assignment.track == track.value)
    now = deps.clock.now()
    if overdue is not None:
        late = _overdue(now) & Assignment.suspended_at.is_(None)  # type: ignore[union-attr]
        where.append(late if overdue else not_(late))
    counts: dict[str, int] = dict((await session.execute(
        select(Assignment.status, func.count()).where(*where).group_by(Assignment.status)  # type: ignore[call-overload]
    )).all())
    if status is not None:
        where.append(Assignment.status == status.value)
    order = DUE.asc().nulls_last() if sort == "due" else DUE.desc().nulls_last()
    rows = (await session.execute(
        select(Assignment).where(*where).order_by(order, Assignment.id).limit(limit)  # type: ignore[arg-type]
    )).scalars().all()
    calendar = await deps.calendar.get(session)
    items = [] if kind == "task" else [_item(a, calendar, now) for a in rows]
    total = 0 if kind == "task" else int(counts.get(status.value, 0)) if status else int(sum(counts.values()))
    task_counts: dict[str, int] = {}
    if scope == "me" and not pending_approval and kind != "assignment":  # the caller's 协办 tasks, own deadlines
        task_items, task_counts = await my_tasks(session, user, calendar, now, risk=risk, track=track,
                                                 overdue=overdue, descending=sort == "-due", limit=limit)
        if status is None:
            items = merge_by_due(items, task_items, descending=sort == "-due")[:limit]
            total += sum(task_counts.values())
    return WorkList(items=items, counts={s: int(counts.get(s, 0)) for s in _OPEN}, task_counts=task_counts,
                    total=total)


def merge_by_due(a: list[WorkItem], b: list[WorkItem], *, descending: bool) -> list[WorkItem]:
    """Both lists by the running deadline (no deadline last, as the query orders them)."""
    dated = sorted((i for i in [*a, *b] if i.due_at is not None), key=lambda i: i.due_at,  # type: ignore[arg-type,return-value]
                   reverse=descending)
    return dated + [i for i in [*a, *b] if i.due_at is None]
