"""Work lists: ``GET /api/v1/my/work`` — the caller's open assignments (承办人 = the caller, or a member or the lead
of the case's 专班), or with ``scope=unit`` a leader's whole unit (assigned to someone or not: nothing is hidden from
the unit), due soonest first, with per-status counts for badges. Paged by an opaque cursor over (due time, id):
stable while items come and go, no duplicates, no gaps."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select

from routing_svc.api.assignments import _overdue
from routing_svc.api.work_tasks import my_tasks
from routing_svc.deps import Deps
from routing_svc.domain.assignment import OPEN, AssignmentStatus
from routing_svc.handlers.assignees import LEADER_ROLES
from routing_svc.handlers.lookback_work import LookbackFilter, lookback_count, lookback_items
from routing_svc.schemas import WorkItem, WorkList
from routing_svc.tables import Assignment, OrgUnit
from routing_svc.tables_people import TaskForce
from shared.auth import CurrentUser
from shared.events.case import RiskLevel, Track
from shared.problems import Problem, field_problem
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


def encode_cursor(sort: str, due: datetime | None, assignment_id: uuid.UUID) -> str:
    raw = json.dumps({"s": sort, "d": due.isoformat() if due else None, "i": str(assignment_id)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[datetime | None, uuid.UUID]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        due = datetime.fromisoformat(raw["d"]) if raw["d"] is not None else None
        ident = uuid.UUID(raw["i"])
        if raw["s"] != sort or (due is not None and due.tzinfo is None):
            raise ValueError("another sort")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise field_problem("query.cursor", "not a cursor of this list (with the same sort)", "invalid_cursor"
                            ) from None
    return due, ident


def after_cursor(sort: str, due: datetime | None, ident: uuid.UUID) -> ColumnElement[bool]:
    """Rows after (due, id) in the order (due asc|desc, nulls last; then id asc)."""
    if due is None:
        return and_(DUE.is_(None), Assignment.id > ident)
    beyond = DUE > due if sort == "due" else DUE < due
    return or_(beyond, and_(DUE == due, Assignment.id > ident), DUE.is_(None))


def _mine(sub: str) -> ColumnElement[bool]:
    """Held by the caller (承办人), or a case of a 专班 the caller leads or belongs to."""
    forces = select(TaskForce.case_id).where(or_(TaskForce.lead_id == sub,
                                                 TaskForce.member_ids.contains([sub])))  # type: ignore[attr-defined]
    return or_(Assignment.assignee_id == sub, Assignment.case_id.in_(forces))  # type: ignore[attr-defined]


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
    kind: Annotated[Literal["assignment", "task", "lookback"] | None, Query(
        description="only assignments, only the caller's co-handling tasks (协办), or only the 回头看")] = None,
    cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")] = None,
) -> WorkList:
    """我的待办 / 单位待办: open assignments (待签收, 办理中, 中止) with both deadlines and the working time left,
    and the open 回头看 (kind ``lookback``, status ``closed``, its due time)."""
    own = user.scope_unit()
    lookback_unit: str | None = None
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
            lookback_unit = target
    elif unit_id is not None:
        raise Problem(422, "validation_failed", "unit_id goes with scope=unit",
                      errors=[{"field": "query.unit_id", "reason": "only with scope=unit", "code": "invalid"}])
    elif pending_approval:  # needs my approval: requests of units below mine, whoever holds them
        if own is not None:
            where.append(Assignment.unit_path.contains([own]))  # type: ignore[attr-defined]
    else:
        where.append(_mine(user.sub))
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
    page = list(where)
    if cursor is not None:
        page.append(after_cursor(sort, *decode_cursor(cursor, sort)))
    order = DUE.asc().nulls_last() if sort == "due" else DUE.desc().nulls_last()
    rows = (await session.execute(
        select(Assignment, DUE.label("due")).where(*page).order_by(order, Assignment.id)  # type: ignore[arg-type]
        .limit(limit + 1)
    )).all()
    more, rows = len(rows) > limit, rows[:limit]
    calendar = await deps.calendar.get(session)
    assignments = [] if kind in ("task", "lookback") else [_item(a, calendar, now) for a, _ in rows]
    next_cursor = encode_cursor(sort, rows[-1][1], rows[-1][0].id) if more and kind in (None, "assignment") else None
    total = 0 if kind in ("task", "lookback") else (
        int(counts.get(status.value, 0)) if status else int(sum(counts.values())))
    extra: list[WorkItem] = []
    lookbacks = 0
    if kind in (None, "lookback"):
        lf = LookbackFilter(assignee_id=user.sub if scope == "me" else None, unit_id=lookback_unit, status=status,
                            risk=risk, track=track, overdue=overdue, pending_approval=pending_approval)
        lookbacks = await lookback_count(session, lf, now)
        total += lookbacks
        if cursor is None:
            extra += await lookback_items(session, lf, now, calendar, descending=sort == "-due", limit=limit)
    task_counts: dict[str, int] = {}
    if scope == "me" and not pending_approval and kind in (None, "task"):  # the caller's 协办 tasks, own deadlines
        task_items, task_counts = await my_tasks(session, user, calendar, now, risk=risk, track=track,
                                                 overdue=overdue, descending=sort == "-due", limit=limit)
        if status is None:
            total += sum(task_counts.values())
            if cursor is None:
                extra += task_items
    # the cursor pages the assignments; a person's 协办 tasks and 回头看 (few) come whole with the first page
    items = merge_by_due(assignments, extra, descending=sort == "-due")
    return WorkList(items=items, next_cursor=next_cursor,
                    counts={**{s: int(counts.get(s, 0)) for s in _OPEN}, "lookback": lookbacks},
                    task_counts=task_counts, total=total)


def merge_by_due(a: list[WorkItem], b: list[WorkItem], *, descending: bool) -> list[WorkItem]:
    """Both lists by the running deadline (no deadline last, as the query orders them)."""
    dated = sorted((i for i in [*a, *b] if i.due_at is not None), key=lambda i: i.due_at,  # type: ignore[arg-type,return-value]
                   reverse=descending)
    return dated + [i for i in [*a, *b] if i.due_at is None]
