"""The open 回头看 in a work list (``GET /api/v1/my/work``): items of kind ``lookback``, under the list's filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.assignment import AssignmentStatus
from routing_svc.domain.lookback import OPEN_LOOKBACK
from routing_svc.schemas import WorkItem
from routing_svc.tables import Assignment, Lookback
from shared.events.case import RiskLevel, Track
from shared.worktime import WorkCalendar

LOOKBACK_CLOCK = "lookback"  # WorkItem.clock of a 回头看: its due time


@dataclass(frozen=True)
class LookbackFilter:
    assignee_id: str | None  # scope me: the caller
    unit_id: str | None  # scope unit: the unit's subtree (None: everything, for global callers)
    status: AssignmentStatus | None
    risk: RiskLevel | None
    track: Track | None
    overdue: bool | None
    pending_approval: bool | None

    def excluded(self) -> bool:
        """A 回头看 is no extension request, and its case's assignment is closed."""
        return bool(self.pending_approval) or (self.status is not None and self.status != AssignmentStatus.CLOSED)


def _where(f: LookbackFilter, now: datetime) -> list[Any]:
    where: list[Any] = [Lookback.status.in_([s.value for s in OPEN_LOOKBACK])]  # type: ignore[attr-defined]
    if f.assignee_id is not None:
        where.append(Lookback.assignee_id == f.assignee_id)
    if f.unit_id is not None:
        where.append(Lookback.unit_path.contains([f.unit_id]))  # type: ignore[attr-defined]
    if f.risk is not None:
        where.append(Lookback.risk_level == f.risk.value)
    if f.track is not None:
        where.append(Lookback.track == f.track.value)
    if f.overdue is not None:
        where.append(Lookback.due_at < now if f.overdue else Lookback.due_at >= now)
    return where


async def lookback_count(session: AsyncSession, f: LookbackFilter, now: datetime) -> int:
    if f.excluded():
        return 0
    return int((await session.execute(select(func.count()).select_from(Lookback).where(*_where(f, now)))).scalar_one())


async def lookback_items(session: AsyncSession, f: LookbackFilter, now: datetime, calendar: WorkCalendar, *,
                         descending: bool, limit: int) -> list[WorkItem]:
    if f.excluded():
        return []
    order = Lookback.due_at.desc() if descending else Lookback.due_at.asc()  # type: ignore[attr-defined]
    rows = (await session.execute(
        select(Lookback, Assignment.accept_due_at, Assignment.resolve_due_at)
        .join(Assignment, Assignment.id == Lookback.assignment_id)  # type: ignore[arg-type]
        .where(*_where(f, now)).order_by(order, Lookback.id).limit(limit)  # type: ignore[arg-type]
    )).all()
    out = []
    for lb, accept_due, resolve_due in rows:
        due = lb.due_at
        left = calendar.working_seconds(now, due) if due >= now else -calendar.working_seconds(due, now)
        out.append(WorkItem(
            kind="lookback", lookback_id=lb.id, assignment_id=lb.assignment_id, case_id=lb.case_id,
            case_code=lb.case_code, title=None, unit_id=lb.unit_id, assignee_id=lb.assignee_id,
            risk_level=RiskLevel(lb.risk_level), track=Track(lb.track), status=AssignmentStatus.CLOSED,
            accept_due_at=accept_due, resolve_due_at=resolve_due, due_at=due, clock=LOOKBACK_CLOCK,
            working_seconds_left=left, overdue=due < now, pending_extension=False, version=lb.version,
        ))
    return out
