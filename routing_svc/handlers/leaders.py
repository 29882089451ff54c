"""包案领导 (三级责任): the leader answerable for a red or specialist case.

- Units carry responsible leaders (``OrgUnit.leaders``: member ids with a title, e.g. 街道书记, 包村干部).
- A red case gets its default automatically in the transaction that assigns it (``handlers.follow_up``): the first
  responsible leader of the handling unit, else of the nearest unit above it (``how: auto``). A case that already
  has one keeps it across escalations, returns and re-routes.
- A street or district admin whose subtree holds the case, or a responsible leader of the handling unit or of a
  unit above it, gives (or changes) the leader of a red, specialist or special case: a member of the handling unit
  or of a unit above it.
- Every change writes ``fq.case.leader_set.v1`` (member ids only); notify tells the leader of the case's
  escalations, overdue clocks and extension requests from then on.

The caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.deps import RoutingDeps
from routing_svc.domain.assignment import HANDED_ON, AssignmentStatus
from routing_svc.domain.locate import UnitInfo
from routing_svc.handlers.assignments import passed_through
from routing_svc.handlers.routing import context
from routing_svc.schemas_people import LeaderBody
from routing_svc.store.assignments import NewAssignment
from routing_svc.store.follow_up import FollowUpState
from routing_svc.tables import SCHEMA, Assignment, Member, OrgUnit
from routing_svc.tables_people import CaseLeader
from shared.auth import Principal, Role
from shared.bus.outbox import add_event, outbox_row
from shared.bus.rows import rows_with_events, write_rows_with_events
from shared.events.case import RiskLevel, Track
from shared.events.case_people import CaseLeaderSet, LeaderHow
from shared.preconditions import check_version
from shared.problems import Problem, field_problem

LEADER_TRACKS = frozenset({Track.SPECIALIST.value, Track.SPECIAL.value})
SETTERS = (Role.STREET_ADMIN, Role.DISTRICT_ADMIN)
DEFAULT_TITLE = "包案领导"
AUTO_BY = "routing"  # set_by of a default leader
INSERT_DEFAULTS = rows_with_events(
    SCHEMA, "case_leaders", "case_id uuid, leader_id text, title text, how text, set_by text, set_at timestamptz, "
    "version bigint", "(case_id)", key="case_id")


def _risk(a: Assignment | NewAssignment) -> str:
    return str((a.facts or {}).get("risk_level") or RiskLevel.BLUE.value)


async def current_assignment(session: AsyncSession, case_id: uuid.UUID, user: Principal,
                             *, for_update: bool = False) -> Assignment:
    """The case's current assignment, when the caller may see the case (404 otherwise, as for an unknown case)."""
    stmt = select(Assignment).where(Assignment.case_id == case_id).order_by(Assignment.created_at.desc())  # type: ignore[attr-defined]
    rows = list((await session.execute(stmt.with_for_update() if for_update else stmt)).scalars())
    if not rows or not (any(user.can_see(a.unit_path) for a in rows) or await passed_through(session, case_id, user)):
        raise Problem(404, "case_not_found", f"no case {case_id} in your scope")
    return next((a for a in rows if AssignmentStatus(a.status) not in HANDED_ON), rows[0])


async def _leaders_on(session: AsyncSession, path: list[str]) -> dict[str, list[dict[str, str]]]:
    rows = (await session.execute(select(OrgUnit.id, OrgUnit.leaders).where(OrgUnit.id.in_(path)))).all()  # type: ignore[call-overload, attr-defined]
    return {uid: list(leaders or []) for uid, leaders in rows}


async def _may_set(session: AsyncSession, user: Principal, a: Assignment) -> bool:
    if user.is_global or (user.has_any(*SETTERS) and user.can_see(a.unit_path)):
        return True
    leaders = await _leaders_on(session, list(a.unit_path))
    return any(x["member_id"] == user.sub for xs in leaders.values() for x in xs)


async def get_leader(session: AsyncSession, case_id: uuid.UUID, user: Principal) -> CaseLeader:
    await current_assignment(session, case_id, user)
    row = await session.get(CaseLeader, case_id)
    if row is None:
        raise Problem(404, "leader_not_set", f"case {case_id} has no 包案领导")
    return row


async def set_leader(session: AsyncSession, deps: RoutingDeps, case_id: uuid.UUID, user: Principal,
                     body: LeaderBody, if_match: int | None) -> tuple[CaseLeader, bool]:
    """Give (``if_match`` None: the case has none yet, else 409) or change (``if_match``: the version read) the
    case's leader; returns the row and whether it was created."""
    a = await current_assignment(session, case_id, user, for_update=True)
    if not await _may_set(session, user, a):
        raise Problem(403, "forbidden_role", "street or district admins, or the unit's responsible leaders, give a "
                                             "case its 包案领导")
    if _risk(a) != RiskLevel.RED.value and a.track not in LEADER_TRACKS:
        raise Problem(409, "leader_not_applicable", "a 包案领导 is for red, specialist or special cases")
    row = (await session.execute(select(CaseLeader).where(CaseLeader.case_id == case_id).with_for_update())
           ).scalar_one_or_none()
    if if_match is None and row is not None:
        raise Problem(409, "leader_exists", "the case has a 包案领导: change it with PUT and If-Match",
                      headers={"ETag": f'"{row.version}"'})
    if if_match is not None:
        if row is None:
            raise Problem(404, "leader_not_set", f"case {case_id} has no 包案领导: give one with POST")
        check_version(row.version, if_match, "case's 包案领导")
    member = (await session.execute(select(Member).where(
        Member.id == body.leader_id, Member.active.is_(True)))).scalar_one_or_none()  # type: ignore[attr-defined]
    if member is None or member.unit_id not in a.unit_path:
        raise field_problem("leader_id", "an active member of the handling unit or of a unit above it",
                            "invalid_leader")
    title = body.title or _title_of(await _leaders_on(session, list(a.unit_path)), member.id) or DEFAULT_TITLE
    return await _write(session, deps, a, row, member.id, title, LeaderHow.MANUAL, user.sub), row is None


def _title_of(leaders: dict[str, list[dict[str, str]]], member_id: str) -> str | None:
    return next((x["title"] for xs in leaders.values() for x in xs if x["member_id"] == member_id), None)


async def _write(session: AsyncSession, deps: RoutingDeps, a: Assignment | NewAssignment, row: CaseLeader | None,
                 leader_id: str, title: str, how: LeaderHow, by: str) -> CaseLeader:
    now = deps.clock.now()
    previous = row.leader_id if row else None
    if row is None:
        row = CaseLeader(case_id=a.case_id, leader_id=leader_id, title=title, how=how.value, set_by=by, set_at=now)
        session.add(row)
    else:
        row.leader_id, row.title, row.how, row.set_by, row.set_at = leader_id, title, how.value, by, now
        row.version += 1
    await session.flush()
    await add_event(session, CaseLeaderSet(case_id=a.case_id, at=now, assignment_id=a.id, case_code=a.case_code,
                                           leader_id=leader_id, title=title, previous_leader_id=previous, how=how,
                                           set_by=by),
                    source=deps.source)
    return row


async def default_leader(session: AsyncSession, deps: RoutingDeps, a: Assignment | NewAssignment) -> None:
    await default_leaders(session, deps, [a])


def is_red(a: Assignment | NewAssignment) -> bool:
    return _risk(a) == RiskLevel.RED.value


def leader_candidates(units: Mapping[str, UnitInfo], a: Assignment | NewAssignment) -> list[tuple[str, str]]:
    """The responsible leaders (member id, title) of the handling unit, then of each unit above it."""
    return [x for uid in reversed(a.unit_path) if uid in units for x in units[uid].leaders]


async def default_leaders(session: AsyncSession, deps: RoutingDeps, assignments: list[Assignment | NewAssignment],
                          state: FollowUpState | None = None) -> None:
    """Each red case without a 包案领导 gets the default: the handling unit's first active responsible leader,
    else the nearest unit above's (the units' leaders from the unit cache; one read for the whole list unless the
    follow-up's ``state`` has it already, and one statement writes the leaders with their
    ``fq.case.leader_set.v1``)."""
    units = (await context(session, deps)).units
    red = {a.case_id: a for a in assignments if is_red(a)}
    candidates = {case_id: leader_candidates(units, a) for case_id, a in red.items()}
    if not any(candidates.values()):
        return
    if state is None:
        state = await FollowUpState.load(session, cases=list(red),
                                         members=[m for xs in candidates.values() for m, _ in xs])
    led, active = state.led, state.active
    now, rows = deps.clock.now(), []
    for case_id, a in red.items():
        chosen = next((x for x in candidates[case_id] if x[0] in active), None)
        if chosen is None or case_id in led:
            continue
        leader_id, title = chosen
        out = outbox_row(CaseLeaderSet(case_id=case_id, at=now, assignment_id=a.id, case_code=a.case_code,
                                       leader_id=leader_id, title=title, previous_leader_id=None,
                                       how=LeaderHow.AUTO, set_by=AUTO_BY), source=deps.source)
        rows.append({"case_id": str(case_id), "leader_id": leader_id, "title": title,
                     "how": LeaderHow.AUTO.value, "set_by": AUTO_BY, "set_at": now.isoformat(), "version": 1,
                     **out, "event_id": str(out["event_id"])})
    await write_rows_with_events(session, INSERT_DEFAULTS, rows)  # a case given one meanwhile keeps it
