"""Co-handling tasks (协办): each force a case calls in gets a task at the force's member responsible for the area,
with its own accept, complete (a short report) and working-time deadline; the lead unit (主办) sees every task and
may close one with a reason; a required live task holds back the case's resolution. The caller owns the
transaction (routes: ``idem.run``; the consumer: its batch)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.cohandling import TaskAction, TaskStatus, allowed, next_status
from routing_svc.domain.locate import UnitInfo
from routing_svc.handlers.lifecycle import current_assignment
from routing_svc.handlers.routing import HANDLER_ROLES, context
from routing_svc.schemas_tasks import TaskCloseBody, TaskCompleteBody, TaskPublic
from routing_svc.store.assignments import NewAssignment
from routing_svc.store.follow_up import FollowUpState
from routing_svc.store.tasks import LIVE_VALUES, insert_opened
from routing_svc.tables import Assignment
from routing_svc.tables_tasks import CohandlingTask
from shared.auth import Principal
from shared.bus.outbox import add_event, outbox_row
from shared.dictionaries import FORCE
from shared.events.cohandling import (
    CohandlingTaskAccepted,
    CohandlingTaskClosed,
    CohandlingTaskCompleted,
    CohandlingTaskOpened,
    CohandlingTaskOverdue,
)
from shared.preconditions import check_version, parse_if_match
from shared.problems import Problem

log = structlog.get_logger(__name__)


def area(units: Mapping[str, UnitInfo], a: Assignment | NewAssignment) -> list[str]:
    """The unit path whose responsibles answer for the case: the grid it was located in when that lies in the lead
    unit's area, else the lead unit's own path."""
    grid = ((a.facts or {}).get("location") or {}).get("grid_id")
    located = units.get(grid) if grid else None
    if located is not None and a.unit_id in located.path:
        return list(located.path)
    return list(a.unit_path)


def known_forces(forces: Iterable[str]) -> list[str]:
    return [x for x in dict.fromkeys(forces) if x in FORCE]


async def open_tasks(session: AsyncSession, deps: RoutingDeps, a: Assignment, forces: Iterable[str]) -> int:
    """A task for each of ``forces`` the case has no live task for."""
    return await open_tasks_of(session, deps, [(a, list(forces))])


async def open_tasks_of(session: AsyncSession, deps: RoutingDeps,
                        wanted: list[tuple[Assignment | NewAssignment, list[str]]],
                        state: FollowUpState | None = None) -> int:
    """For each assignment, a task for each of its forces the case has no live task for: every task of the list,
    its responsible member and its ``fq.case.cohandling_task_opened.v1`` in one statement (a consumer batch opens
    the tasks of every case it routed at once). ``state``: what the follow-up read already (else read here)."""
    wanted = [(a, f) for a, forces in wanted if (f := known_forces(forces))]
    if not wanted:
        return 0
    now = deps.clock.now()
    ctx = await context(session, deps)
    due = ctx.add(now, deps.cohandling_span)
    areas = {a.id: area(ctx.units, a) for a, _ in wanted}
    if state is None:
        state = await FollowUpState.load(session, cases=[a.case_id for a, _ in wanted],
                                         units=[u for p in areas.values() for u in p],
                                         forces=[f for _, fs in wanted for f in fs])
    have, who = set(state.live), state.who
    rows: list[dict[str, object]] = []
    for a, forces in wanted:
        for force in forces:
            if (a.case_id, force) in have:
                continue
            have.add((a.case_id, force))
            member = who.of(areas[a.id], force)
            task_id = uuid.uuid4()
            member_id, member_unit_id = (member.id, member.unit_id) if member else (None, None)
            event = CohandlingTaskOpened(
                case_id=a.case_id, at=now, task_id=task_id, assignment_id=a.id, force=force, case_code=a.case_code,
                lead_unit_id=a.unit_id, member_id=member_id, member_unit_id=member_unit_id, due_at=due,
            )
            out = outbox_row(event, source=deps.source)
            rows.append({
                "id": str(task_id), "case_id": str(a.case_id), "case_code": a.case_code,
                "assignment_id": str(a.id), "force": force, "member_id": member_id,
                "member_unit_id": member_unit_id, "required": True, "status": TaskStatus.OPEN.value,
                "due_at": due.isoformat(), "risk_level": (a.facts or {}).get("risk_level"), "track": a.track,
                "created_at": now.isoformat(), "updated_at": now.isoformat(), "version": 1,
                **out, "event_id": str(out["event_id"]),
            })
            log.info("cohandling_task_opened", force=force, staffed=member is not None)
    return await insert_opened(session, rows)


# --- reading and acting ------------------------------------------------------------------------------------


def _no_task(task_id: uuid.UUID) -> Problem:
    return Problem(404, "task_not_found", f"no co-handling task {task_id} in your scope")


async def _lead_of(session: AsyncSession, task: CohandlingTask, user: Principal) -> bool:
    """Whether the caller is on the lead side: its unit holds (or is above) the case's current assignment."""
    a = await current_assignment(session, task.case_id)
    return a is not None and user.can_see(a.unit_path)


async def load(session: AsyncSession, task_id: uuid.UUID, user: Principal, *,
               for_update: bool = False) -> tuple[CohandlingTask, bool, bool]:
    """The task, whether the caller is its member, whether on the lead side; 404 for anyone else."""
    stmt = select(CohandlingTask).where(CohandlingTask.id == task_id)  # type: ignore[arg-type]
    if for_update:
        stmt = stmt.with_for_update()
    task = (await session.execute(stmt)).scalar_one_or_none()
    if task is None:
        raise _no_task(task_id)
    mine = task.member_id is not None and task.member_id == user.sub
    lead = await _lead_of(session, task, user)
    if not (mine or lead):
        raise _no_task(task_id)
    structlog.contextvars.bind_contextvars(case_id=str(task.case_id))
    return task, mine, lead


def to_public(task: CohandlingTask, deps: RoutingDeps, mine: bool, lead: bool) -> TaskPublic:
    status = TaskStatus(task.status)
    actions = [a for a in allowed(status)
               if (a == TaskAction.CLOSE.value and lead) or (a != TaskAction.CLOSE.value and mine)]
    return TaskPublic(
        id=task.id, case_id=task.case_id, case_code=task.case_code, assignment_id=task.assignment_id,
        force=task.force, force_label=FORCE.get(task.force, task.force), member_id=task.member_id,
        member_unit_id=task.member_unit_id, required=task.required, status=status, due_at=task.due_at,
        overdue=task.status in LIVE_VALUES and task.due_at < deps.clock.now(), accepted_at=task.accepted_at,
        completed_at=task.completed_at, report=task.report, closed_at=task.closed_at, closed_by=task.closed_by,
        close_reason=task.close_reason, created_at=task.created_at, version=task.version, allowed_actions=actions,
    )


async def _act(session: AsyncSession, deps: RoutingDeps, task_id: uuid.UUID, user: Principal, action: TaskAction,
               if_match: str | None) -> tuple[CohandlingTask, bool, bool, TaskStatus]:
    task, mine, lead = await load(session, task_id, user, for_update=True)
    if action == TaskAction.CLOSE and not (lead and (user.is_global or user.has_any(*HANDLER_ROLES))):
        raise Problem(403, "not_lead", "only the handlers of the unit handling the case (主办) close a co-handling "
                      "task")
    if action != TaskAction.CLOSE and not mine:
        raise Problem(403, "not_task_member", "only the task's responsible member accepts or completes it")
    check_version(task.version, parse_if_match(if_match), "co-handling task")
    status = TaskStatus(task.status)
    target = next_status(status, action)
    if target is None:
        raise Problem(409, "illegal_transition", f"a task that is {status.value} cannot be {action.value}ed",
                      allowed_actions=allowed(status))
    now = deps.clock.now()
    task.status, task.updated_at, task.version = target.value, now, task.version + 1
    return task, mine, lead, target


async def accept(session: AsyncSession, deps: RoutingDeps, task_id: uuid.UUID, user: Principal,
                 if_match: str | None) -> TaskPublic:
    task, mine, lead, _ = await _act(session, deps, task_id, user, TaskAction.ACCEPT, if_match)
    task.accepted_at = task.updated_at
    await add_event(session, CohandlingTaskAccepted(
        case_id=task.case_id, at=task.updated_at, task_id=task.id, assignment_id=task.assignment_id,
        force=task.force, member_id=user.sub), source=deps.source)
    return to_public(task, deps, mine, lead)


async def complete(session: AsyncSession, deps: RoutingDeps, task_id: uuid.UUID, user: Principal,
                   body: TaskCompleteBody, if_match: str | None) -> TaskPublic:
    task, mine, lead, _ = await _act(session, deps, task_id, user, TaskAction.COMPLETE, if_match)
    now = task.updated_at
    task.accepted_at = task.accepted_at or now
    task.completed_at, task.report = now, body.report
    await add_event(session, CohandlingTaskCompleted(
        case_id=task.case_id, at=now, task_id=task.id, assignment_id=task.assignment_id, force=task.force,
        member_id=user.sub, completed_on_time=now <= task.due_at), source=deps.source)
    return to_public(task, deps, mine, lead)


async def close(session: AsyncSession, deps: RoutingDeps, task_id: uuid.UUID, user: Principal, body: TaskCloseBody,
                if_match: str | None) -> TaskPublic:
    task, mine, lead, _ = await _act(session, deps, task_id, user, TaskAction.CLOSE, if_match)
    task.closed_at, task.closed_by, task.close_reason = task.updated_at, user.sub, body.reason
    await add_event(session, CohandlingTaskClosed(
        case_id=task.case_id, at=task.updated_at, task_id=task.id, assignment_id=task.assignment_id,
        force=task.force, member_id=task.member_id, closed_by=user.sub), source=deps.source)
    return to_public(task, deps, mine, lead)


async def fire_overdue(session: AsyncSession, deps: RoutingDeps, task: CohandlingTask) -> None:
    """The scheduler's ``cohandling_overdue`` queue: the task is marked once and its member and lead unit told."""
    now = deps.clock.now()
    task.overdue_at = now
    lead = await session.get(Assignment, task.assignment_id)
    await add_event(session, CohandlingTaskOverdue(
        case_id=task.case_id, at=now, task_id=task.id, assignment_id=task.assignment_id, force=task.force,
        case_code=task.case_code, lead_unit_id=lead.unit_id if lead else "", member_id=task.member_id,
        due_at=task.due_at), source=deps.source)
