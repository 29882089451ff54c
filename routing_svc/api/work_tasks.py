"""The co-handling tasks (协办) of ``GET /api/v1/my/work``: the caller's live tasks, with their own deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.domain.cohandling import TaskStatus
from routing_svc.schemas import WorkItem
from routing_svc.store.tasks import LIVE_VALUES
from routing_svc.tables_tasks import CohandlingTask
from shared.auth import Principal
from shared.events.case import RiskLevel, Track
from shared.worktime import WorkCalendar


def _item(t: CohandlingTask, calendar: WorkCalendar, now: datetime) -> WorkItem:
    left = calendar.working_seconds(now, t.due_at) if t.due_at >= now else -calendar.working_seconds(t.due_at, now)
    return WorkItem(
        kind="task", task_id=t.id, force=t.force, assignment_id=t.assignment_id, case_id=t.case_id,
        case_code=t.case_code, title=None, unit_id=t.member_unit_id or "", assignee_id=t.member_id,
        risk_level=RiskLevel(t.risk_level or RiskLevel.BLUE), track=Track(t.track), status=TaskStatus(t.status),
        accept_due_at=t.due_at, resolve_due_at=t.due_at, due_at=t.due_at, clock="cohandling",
        working_seconds_left=left, overdue=t.due_at < now, pending_extension=False, version=t.version,
    )


async def my_tasks(session: AsyncSession, user: Principal, calendar: WorkCalendar, now: datetime, *,
                   risk: RiskLevel | None, track: Track | None, overdue: bool | None, descending: bool, limit: int,
                   ) -> tuple[list[WorkItem], dict[str, int]]:
    """The caller's live tasks (at most ``limit``, by due time) and their counts per status."""
    where: list[Any] = [CohandlingTask.member_id == user.sub, CohandlingTask.status.in_(LIVE_VALUES)]  # type: ignore[attr-defined]
    if risk is not None:
        where.append(func.coalesce(CohandlingTask.risk_level, RiskLevel.BLUE.value) == risk.value)
    if track is not None:
        where.append(CohandlingTask.track == track.value)
    if overdue is not None:
        where.append(CohandlingTask.due_at < now if overdue else CohandlingTask.due_at >= now)  # type: ignore[operator]
    counts = dict((await session.execute(
        select(CohandlingTask.status, func.count()).where(*where).group_by(CohandlingTask.status)  # type: ignore[call-overload]
    )).all())
    order = CohandlingTask.due_at.desc() if descending else CohandlingTask.due_at.asc()  # type: ignore[attr-defined]
    rows = (await session.execute(
        select(CohandlingTask).where(*where).order_by(order, CohandlingTask.id).limit(limit)  # type: ignore[arg-type]
    )).scalars().all()
    return [_item(t, calendar, now) for t in rows], {s: int(counts.get(s, 0)) for s in LIVE_VALUES}
