"""专班 (task force) as people: a lead member, members, a work plan with its deadline, milestones.

A case has at most one 专班 (kept across its escalations). The routing rule's ``task_force`` gives the plan's
deadline (``plan_due_at`` on the assignment); the people are named by a community, street or district admin whose
subtree holds the case, or by the case's 包案领导; the lead edits the 专班 too. The lead and members are members
of the handling unit, of a unit above it or of a unit below it. Handing the plan in (``plan``) meets the deadline;
the scheduler reminds the lead before it and marks the plan overdue after it (``workers.plans``). Members see the
case in ``my/work``. Every change of people, plan or deadline writes ``fq.case.task_force_set.v1`` (member ids
only). The caller owns the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import OPEN, AssignmentStatus
from routing_svc.handlers.assignees import LEADER_ROLES
from routing_svc.handlers.leaders import current_assignment
from routing_svc.schemas_people import Milestone, TaskForceCreate, TaskForcePublic, TaskForceUpdate
from routing_svc.tables import Assignment, Member, OrgUnit
from routing_svc.tables_people import CaseLeader, TaskForce
from shared.auth import Principal
from shared.bus.outbox import add_event
from shared.events.case_people import TaskForceSet
from shared.preconditions import check_version
from shared.problems import Problem, field_problem


def to_public(tf: TaskForce) -> TaskForcePublic:
    return TaskForcePublic(id=tf.id, case_id=tf.case_id, lead_id=tf.lead_id, member_ids=list(tf.member_ids),
                           plan=tf.plan, plan_due_at=tf.plan_due_at, plan_submitted_at=tf.plan_submitted_at,
                           plan_overdue=tf.plan_overdue_at is not None, plan_overdue_at=tf.plan_overdue_at,
                           milestones=[Milestone.model_validate(m) for m in tf.milestones], version=tf.version)


async def _is_case_leader(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> bool:
    row = await session.get(CaseLeader, case_id)
    return row is not None and row.leader_id == user.sub


async def _may_manage(session: AsyncSession, user: Principal, a: Assignment) -> bool:
    return (user.is_global or (user.has_any(*LEADER_ROLES) and user.can_see(a.unit_path))
            or await _is_case_leader(session, a.case_id, user))


def _forbidden() -> Problem:
    return Problem(403, "forbidden_role", "the unit's admins, the case's 包案领导 and the 专班's lead manage the 专班")


async def _check_people(session: AsyncSession, a: Assignment, lead_id: str | None, member_ids: list[str] | None
                        ) -> None:
    """422 naming each id that is no active member of the handling unit, a unit above it or a unit below it."""
    wanted = [("lead_id", lead_id)] if lead_id else []
    wanted += [(f"member_ids[{i}]", m) for i, m in enumerate(member_ids or [])]
    if not wanted:
        return
    rows = (await session.execute(
        select(Member.id, OrgUnit.path)  # type: ignore[call-overload]
        .join(OrgUnit, OrgUnit.id == Member.unit_id)  # type: ignore[arg-type]
        .where(Member.id.in_([m for _, m in wanted]), Member.active.is_(True))  # type: ignore[attr-defined]
    )).all()
    paths = {mid: list(path) for mid, path in rows}
    near = set(a.unit_path)
    bad = [(f, m) for f, m in wanted if m not in paths or not (paths[m][-1] in near or a.unit_id in paths[m])]
    if bad:
        raise Problem(422, "validation_failed", f"not members near the case: {[m for _, m in bad][:10]}",
                      errors=[{"field": f, "reason": "an active member of the handling unit, or of a unit above or "
                                                     "below it", "code": "invalid_member"} for f, _ in bad])


def _milestones(new: list[Milestone], old: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    before = {m.get("id"): m for m in old}
    used = {m.get("id") for m in old} | {m.id for m in new if m.id}
    out, n = [], len(used)
    for m in new:
        mid = m.id
        if not mid:
            n += 1
            while f"m{n}" in used:
                n += 1
            mid = f"m{n}"
            used.add(mid)
        was = before.get(mid) or {}
        done_at = (was.get("done_at") or now.isoformat()) if m.done else None
        out.append({"id": mid, "title": m.title, "due_at": m.due_at.isoformat(), "done": m.done, "done_at": done_at})
    return out


async def _event(session: AsyncSession, deps: RoutingDeps, tf: TaskForce, a: Assignment) -> None:
    await add_event(session, TaskForceSet(case_id=tf.case_id, at=deps.clock.now(), task_force_id=tf.id,
                                          lead_id=tf.lead_id, member_ids=list(tf.member_ids),
                                          plan_due_at=tf.plan_due_at,
                                          plan_submitted=tf.plan_submitted_at is not None), source=deps.source)
    del a


async def get(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> TaskForce:
    await current_assignment(session, case_id, user)
    tf = await session.get(TaskForce, case_id)
    if tf is None:
        raise Problem(404, "task_force_not_found", f"case {case_id} has no 专班")
    return tf


async def create(session: AsyncSession, deps: RoutingDeps, case_id: uuid.UUID, user: Principal,
                 body: TaskForceCreate) -> TaskForce:
    a = await current_assignment(session, case_id, user, for_update=True)
    if not await _may_manage(session, user, a):
        raise _forbidden()
    if AssignmentStatus(a.status) not in OPEN:
        raise Problem(409, "case_not_open", f"the case's assignment is {a.status}: a 专班 works an open case")
    if (await session.execute(select(TaskForce.case_id).where(TaskForce.case_id == case_id).with_for_update())
            ).scalar_one_or_none() is not None:
        raise Problem(409, "task_force_exists", "the case has a 专班: change it with PATCH and If-Match")
    due = body.plan_due_at or (datetime.fromisoformat(a.task_force["plan_due_at"]) if a.task_force else None)
    if due is None:
        raise field_problem("plan_due_at", "required: the routing rule set no plan deadline for this case",
                            "missing")
    members = [m for m in body.member_ids if m != body.lead_id]
    await _check_people(session, a, body.lead_id, members)
    now = deps.clock.now()
    tf = TaskForce(case_id=case_id, lead_id=body.lead_id, member_ids=members, plan_due_at=due,
                   milestones=_milestones(body.milestones, [], now), created_by=user.sub, created_at=now,
                   updated_at=now)
    session.add(tf)
    await session.flush()
    await _event(session, deps, tf, a)
    return tf


async def update(session: AsyncSession, deps: RoutingDeps, case_id: uuid.UUID, user: Principal,
                 body: TaskForceUpdate, if_match: int) -> TaskForce:
    a = await current_assignment(session, case_id, user, for_update=True)
    tf = (await session.execute(select(TaskForce).where(TaskForce.case_id == case_id).with_for_update())
          ).scalar_one_or_none()
    if tf is None:
        raise Problem(404, "task_force_not_found", f"case {case_id} has no 专班")
    if not (tf.lead_id == user.sub or await _may_manage(session, user, a)):
        raise _forbidden()
    check_version(tf.version, if_match, "专班")
    fields = body.model_fields_set
    now = deps.clock.now()
    lead = body.lead_id if "lead_id" in fields and body.lead_id else tf.lead_id
    members = body.member_ids if "member_ids" in fields and body.member_ids is not None else list(tf.member_ids)
    await _check_people(session, a, lead if lead != tf.lead_id else None,
                        [m for m in members if m not in tf.member_ids])
    people_changed = (lead, [m for m in members if m != lead]) != (tf.lead_id, list(tf.member_ids))
    tf.lead_id, tf.member_ids = lead, [m for m in members if m != lead]
    due_changed = "plan_due_at" in fields and body.plan_due_at is not None and body.plan_due_at != tf.plan_due_at
    if due_changed and body.plan_due_at is not None:
        tf.plan_due_at = body.plan_due_at
        if body.plan_due_at > now:  # a new deadline gets its own reminder and overdue mark
            tf.plan_reminded_at = tf.plan_overdue_at = None
    plan_in = "plan" in fields and body.plan is not None
    if plan_in:
        tf.plan = body.plan
        tf.plan_submitted_at = tf.plan_submitted_at or now
    if "milestones" in fields and body.milestones is not None:
        tf.milestones = _milestones(body.milestones, list(tf.milestones), now)
    tf.updated_at = now
    tf.version += 1
    if people_changed or due_changed or plan_in:
        await _event(session, deps, tf, a)
    return tf
