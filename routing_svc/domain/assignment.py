"""The assignment state machine (pure: no I/O).

One assignment is one unit's stint with a case. It ends either in ``resolved`` → ``closed`` (销号), or by
handing the case on: ``returned`` (退单), ``escalated`` (提级), ``dispatched`` (the street centre chose a unit)
or ``reopened`` (重办) — each of those is followed by a new assignment — or, without a successor,
``merged``: the case was merged into another (一件事只立一案) after it was routed; the primary case is handled.
An extension request (延期申请) is a flag on an open assignment, not a status: while one is pending, the parent
unit may approve or reject it.

::

    assigned ──accept──▶ accepted ──resolve──▶ resolved ──close──▶ closed
       │  ╲                 │   ╲                  ╲
       │   suspend ⇄ resume  │    suspend ⇄ resume   reopen ──▶ reopened
       ├─return──▶ returned  ├─escalate──▶ escalated
       ├─escalate            └─dispatch──▶ dispatched
       └─dispatch
    assigned | accepted | suspended | resolved ──merge──▶ merged (terminal: no clocks, nothing escalates it)
    closed ──reopen_closed──▶ reopened (回头看 found the problem back, or a 12345 不满意/重办 after our close)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"  # 待签收
    ACCEPTED = "accepted"  # 已签收, 办理中
    SUSPENDED = "suspended"  # 中止 (both clocks paused)
    RESOLVED = "resolved"  # 已办结, awaiting follow-up (回访)
    CLOSED = "closed"  # 已销号
    RETURNED = "returned"  # 退单: handed back, re-routed
    ESCALATED = "escalated"  # 提级: left for the next level up
    DISPATCHED = "dispatched"  # the street centre sent it to a chosen unit
    REOPENED = "reopened"  # 重办: a new assignment took over
    MERGED = "merged"  # 并案: the case was merged into another; no successor, the primary case is handled


# An assignment in one of these no longer has the case.
HANDED_ON = frozenset({AssignmentStatus.RETURNED, AssignmentStatus.ESCALATED, AssignmentStatus.DISPATCHED,
                       AssignmentStatus.REOPENED})
# Ended without a successor: the case is no longer routing's (merged into another case).
CANCELLED = frozenset({AssignmentStatus.MERGED})
# The statuses of the assignment that has the case now (at most one per case).
CURRENT = frozenset(AssignmentStatus) - HANDED_ON - CANCELLED
OPEN = frozenset({AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED, AssignmentStatus.SUSPENDED})


class Action(StrEnum):
    ACCEPT = "accept"  # 签收
    RETURN = "return"  # 退单
    REQUEST_EXTENSION = "request_extension"  # 延期申请
    APPROVE_EXTENSION = "approve_extension"  # 延期审批: 同意
    REJECT_EXTENSION = "reject_extension"  # 延期审批: 不同意
    SUSPEND = "suspend"  # 中止
    RESUME = "resume"  # 恢复办理
    ESCALATE = "escalate"  # 提级
    DISPATCH = "dispatch"  # 街道中心指派
    RESOLVE = "resolve"  # 办结
    REOPEN = "reopen"  # 重办
    CLOSE = "close"  # 销号
    MERGE = "merge"  # 并案 (from intake's fq.case.merged.v1, never an API action)
    # a closed case reopened: 回头看 问题复发, or a late 12345 不满意/重办 (never an API action: the 回头看's result
    # or the hotline's message does it)
    REOPEN_CLOSED = "reopen_closed"


@dataclass(frozen=True)
class State:
    status: AssignmentStatus
    suspended_from: AssignmentStatus | None = None  # where ``resume`` goes back to
    extension_pending: bool = False


_MOVES: dict[AssignmentStatus, dict[Action, AssignmentStatus]] = {
    AssignmentStatus.ASSIGNED: {
        Action.ACCEPT: AssignmentStatus.ACCEPTED,
        Action.RETURN: AssignmentStatus.RETURNED,
        Action.REQUEST_EXTENSION: AssignmentStatus.ASSIGNED,
        Action.SUSPEND: AssignmentStatus.SUSPENDED,
        Action.ESCALATE: AssignmentStatus.ESCALATED,
        Action.DISPATCH: AssignmentStatus.DISPATCHED,
        Action.MERGE: AssignmentStatus.MERGED,
    },
    AssignmentStatus.ACCEPTED: {
        Action.REQUEST_EXTENSION: AssignmentStatus.ACCEPTED,
        Action.SUSPEND: AssignmentStatus.SUSPENDED,
        Action.ESCALATE: AssignmentStatus.ESCALATED,
        Action.DISPATCH: AssignmentStatus.DISPATCHED,
        Action.RESOLVE: AssignmentStatus.RESOLVED,
        Action.MERGE: AssignmentStatus.MERGED,
    },
    AssignmentStatus.SUSPENDED: {Action.RESUME: AssignmentStatus.SUSPENDED,  # target from suspended_from
                                 Action.MERGE: AssignmentStatus.MERGED},
    AssignmentStatus.RESOLVED: {Action.REOPEN: AssignmentStatus.REOPENED, Action.CLOSE: AssignmentStatus.CLOSED,
                                Action.MERGE: AssignmentStatus.MERGED},
    AssignmentStatus.CLOSED: {Action.REOPEN_CLOSED: AssignmentStatus.REOPENED},
    AssignmentStatus.RETURNED: {},
    AssignmentStatus.ESCALATED: {},
    AssignmentStatus.DISPATCHED: {},
    AssignmentStatus.REOPENED: {},
    AssignmentStatus.MERGED: {},
}
_DECIDE_EXTENSION = (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION)
# actions routing takes on an event, never offered to a client
_INTERNAL = frozenset({Action.MERGE, Action.REOPEN_CLOSED})


class IllegalTransition(Exception):
    def __init__(self, state: State, action: Action) -> None:
        pending = " with an extension request pending" if state.extension_pending else ""
        super().__init__(f"cannot {action.value} an assignment that is {state.status.value}{pending}")
        self.state = state
        self.action = action
        self.allowed = allowed_actions(state)


def allowed_actions(state: State, *, internal: bool = False) -> list[str]:
    """The actions legal in ``state``, sorted (what a 409 lists and what a client may offer); with ``internal``, also
    those routing takes on an event (merge)."""
    actions = set(_MOVES[state.status]) if internal else set(_MOVES[state.status]) - _INTERNAL
    if state.extension_pending:
        actions.discard(Action.REQUEST_EXTENSION)
        actions.update(_DECIDE_EXTENSION)
    return sorted(a.value for a in actions)


def transition(state: State, action: Action) -> State:
    """The state after ``action``; raises IllegalTransition when the action is not allowed in ``state``."""
    if action.value not in allowed_actions(state, internal=True):
        raise IllegalTransition(state, action)
    if action == Action.REQUEST_EXTENSION:
        return replace(state, extension_pending=True)
    if action in _DECIDE_EXTENSION:
        return replace(state, extension_pending=False)
    if action == Action.SUSPEND:
        return State(AssignmentStatus.SUSPENDED, suspended_from=state.status,
                     extension_pending=state.extension_pending)
    if action == Action.RESUME:
        assert state.suspended_from is not None
        return State(state.suspended_from, extension_pending=state.extension_pending)
    # handing the case on or finishing it drops a pending extension request
    return State(_MOVES[state.status][action])
