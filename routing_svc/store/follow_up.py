"""What a transaction's new assignments' follow-up (their co-handling tasks and default 包案领导) must know of the
database, read in one round trip: whether each assignment is still open, the cases' live tasks and leaders, the
force responsibles and force members of the areas, and which leader candidates are active. The org's units (and
their responsible leaders) come from the unit cache; what is read here changes with every case."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from routing_svc.store.tasks import LIVE_VALUES, Responsibles, Staff
from routing_svc.tables import SCHEMA

_STATE = text(f"""
SELECT 'a' AS k, CAST(id AS text) AS x, status AS y, NULL AS z, NULL AS w, CAST(NULL AS text[]) AS f
  FROM "{SCHEMA}".assignments WHERE id = ANY(CAST(:ids AS uuid[]))
UNION ALL
SELECT 't', CAST(case_id AS text), force, NULL, NULL, NULL
  FROM "{SCHEMA}".cohandling_tasks WHERE case_id = ANY(CAST(:cases AS uuid[])) AND status = ANY(CAST(:live AS text[]))
UNION ALL
SELECT 'l', CAST(case_id AS text), NULL, NULL, NULL, NULL
  FROM "{SCHEMA}".case_leaders WHERE case_id = ANY(CAST(:cases AS uuid[]))
UNION ALL
SELECT 'm', id, NULL, NULL, NULL, NULL
  FROM "{SCHEMA}".members WHERE id = ANY(CAST(:members AS text[])) AND active
UNION ALL
SELECT 'r', r.unit_id, r.force, m.id, m.unit_id, CAST(m.forces AS text[])
  FROM "{SCHEMA}".force_responsibles r JOIN "{SCHEMA}".members m ON m.id = r.member_id
 WHERE r.unit_id = ANY(CAST(:units AS text[])) AND r.force = ANY(CAST(:forces AS text[])) AND m.active
UNION ALL
SELECT 'f', id, unit_id, NULL, NULL, CAST(forces AS text[])
  FROM "{SCHEMA}".members
 WHERE unit_id = ANY(CAST(:units AS text[])) AND CAST(forces AS text[]) && CAST(:forces AS text[]) AND active
""")


@dataclass
class FollowUpState:
    status: dict[uuid.UUID, str] = field(default_factory=dict)  # assignment → its status
    live: set[tuple[uuid.UUID, str]] = field(default_factory=set)  # (case, force) with a live task
    led: set[uuid.UUID] = field(default_factory=set)  # cases with a 包案领导
    active: set[str] = field(default_factory=set)  # the asked-for members that are active
    who: Responsibles = field(default_factory=lambda: Responsibles((), ()))

    @classmethod
    async def load(cls, session: AsyncSession, *, assignments: Iterable[uuid.UUID] = (),
                   cases: Iterable[uuid.UUID] = (), units: Iterable[str] = (), forces: Iterable[str] = (),
                   members: Iterable[str] = ()) -> FollowUpState:
        rows = (await session.execute(_STATE, {
            "ids": sorted(set(assignments)), "cases": sorted(set(cases)), "live": LIVE_VALUES,
            "units": sorted(set(units)), "forces": sorted(set(forces)), "members": sorted(set(members)),
        })).all()
        state, configured, carrying = cls(), [], []
        for k, x, y, z, w, f in rows:
            if k == "a":
                state.status[uuid.UUID(x)] = y
            elif k == "t":
                state.live.add((uuid.UUID(x), y))
            elif k == "l":
                state.led.add(uuid.UUID(x))
            elif k == "m":
                state.active.add(x)
            elif k == "r":
                configured.append((x, y, Staff(z, w, tuple(f or ()))))
            else:
                carrying.append(Staff(x, y, tuple(f or ())))
        state.who = Responsibles(configured, carrying)
        return state
