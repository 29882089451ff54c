"""The assignment state machine (skeleton: assigned → accepted → resolved)."""

from __future__ import annotations

from enum import StrEnum


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"  # 待签收
    ACCEPTED = "accepted"  # 已签收, 办理中
    RESOLVED = "resolved"  # 已办结


class Action(StrEnum):
    ACCEPT = "accept"  # 签收
    RESOLVE = "resolve"  # 办结


TRANSITIONS: dict[AssignmentStatus, dict[Action, AssignmentStatus]] = {
    AssignmentStatus.ASSIGNED: {Action.ACCEPT: AssignmentStatus.ACCEPTED},
    AssignmentStatus.ACCEPTED: {Action.RESOLVE: AssignmentStatus.RESOLVED},
    AssignmentStatus.RESOLVED: {},
}


class IllegalTransition(Exception):
    def __init__(self, status: AssignmentStatus, action: Action) -> None:
        super().__init__(f"cannot {action.value} an assignment that is {status.value}")
        self.status = status
        self.action = action
        self.allowed = sorted(a.value for a in TRANSITIONS[status])


def transition(status: AssignmentStatus, action: Action) -> AssignmentStatus:
    target = TRANSITIONS[status].get(action)
    if target is None:
        raise IllegalTransition(status, action)
    return target
