"""The assignment state machine: every status × action pair, and what a pending extension or suspension changes."""

from __future__ import annotations

import itertools

import pytest

from routing_svc.domain.assignment import (
    CANCELLED,
    CURRENT,
    HANDED_ON,
    OPEN,
    Action,
    AssignmentStatus,
    IllegalTransition,
    State,
    allowed_actions,
    transition,
)

S, A = AssignmentStatus, Action

# the legal moves, written out independently of the implementation's table
EXPECTED: dict[AssignmentStatus, dict[Action, AssignmentStatus]] = {
    S.ASSIGNED: {A.ACCEPT: S.ACCEPTED, A.RETURN: S.RETURNED, A.REQUEST_EXTENSION: S.ASSIGNED,
                 A.SUSPEND: S.SUSPENDED, A.ESCALATE: S.ESCALATED, A.DISPATCH: S.DISPATCHED, A.MERGE: S.MERGED},
    S.ACCEPTED: {A.REQUEST_EXTENSION: S.ACCEPTED, A.SUSPEND: S.SUSPENDED, A.ESCALATE: S.ESCALATED,
                 A.DISPATCH: S.DISPATCHED, A.RESOLVE: S.RESOLVED, A.MERGE: S.MERGED},
    S.SUSPENDED: {A.RESUME: S.ACCEPTED, A.MERGE: S.MERGED},  # from a suspension of an accepted assignment (below)
    S.RESOLVED: {A.REOPEN: S.REOPENED, A.CLOSE: S.CLOSED, A.MERGE: S.MERGED},
    S.CLOSED: {A.REOPEN_CLOSED: S.REOPENED},  # 回头看 问题复发 / a late 12345 不满意 or 重办 (internal)
    S.RETURNED: {}, S.ESCALATED: {}, S.DISPATCHED: {}, S.REOPENED: {}, S.MERGED: {},
}
# routing merges on intake's event, never on a client's request: a client is never offered it
INTERNAL = {A.MERGE, A.REOPEN_CLOSED}


def _state(status: AssignmentStatus) -> State:
    return State(status, suspended_from=S.ACCEPTED if status == S.SUSPENDED else None)


@pytest.mark.parametrize(("status", "action"), list(itertools.product(AssignmentStatus, Action)),
                         ids=lambda v: v.value)
def test_every_status_and_action(status: AssignmentStatus, action: Action) -> None:
    state = _state(status)
    target = EXPECTED[status].get(action)
    if target is None:
        with pytest.raises(IllegalTransition) as e:
            transition(state, action)
        assert e.value.allowed == sorted(a.value for a in EXPECTED[status] if a not in INTERNAL)
        assert action.value not in e.value.allowed
        assert status.value in str(e.value)
    else:
        after = transition(state, action)
        assert after.status == target
        assert after.extension_pending == (action == A.REQUEST_EXTENSION)
        assert (action.value in allowed_actions(state)) == (action not in INTERNAL)


@pytest.mark.parametrize("status", [S.ASSIGNED, S.ACCEPTED])
def test_a_pending_extension_is_decided_once(status: AssignmentStatus) -> None:
    pending = transition(State(status), A.REQUEST_EXTENSION)
    assert pending == State(status, extension_pending=True)
    allowed = allowed_actions(pending)
    assert "request_extension" not in allowed
    assert {"approve_extension", "reject_extension"} <= set(allowed)
    with pytest.raises(IllegalTransition) as e:
        transition(pending, A.REQUEST_EXTENSION)
    assert "approve_extension" in e.value.allowed and "pending" in str(e.value)
    for decision in (A.APPROVE_EXTENSION, A.REJECT_EXTENSION):
        assert transition(pending, decision) == State(status)


@pytest.mark.parametrize("decision", [A.APPROVE_EXTENSION, A.REJECT_EXTENSION])
def test_no_extension_to_decide_without_a_request(decision: Action) -> None:
    for status in AssignmentStatus:
        with pytest.raises(IllegalTransition):
            transition(_state(status), decision)


@pytest.mark.parametrize("status", [S.ASSIGNED, S.ACCEPTED])
def test_resume_goes_back_where_the_suspension_started(status: AssignmentStatus) -> None:
    suspended = transition(State(status), A.SUSPEND)
    assert suspended == State(S.SUSPENDED, suspended_from=status)
    assert allowed_actions(suspended) == ["resume"]
    assert transition(suspended, A.RESUME) == State(status)


def test_a_pending_request_survives_a_suspension_and_ends_with_the_assignment() -> None:
    pending = transition(State(S.ACCEPTED), A.REQUEST_EXTENSION)
    suspended = transition(pending, A.SUSPEND)
    assert suspended.extension_pending and "approve_extension" in allowed_actions(suspended)
    assert transition(suspended, A.RESUME) == pending
    assert transition(pending, A.RESOLVE) == State(S.RESOLVED)  # resolving drops the request
    assert transition(pending, A.ESCALATE) == State(S.ESCALATED)


def test_status_groups_partition_the_statuses() -> None:
    assert CURRENT | HANDED_ON | CANCELLED == set(AssignmentStatus)
    assert not CURRENT & HANDED_ON and not CURRENT & CANCELLED and not HANDED_ON & CANCELLED
    assert OPEN < CURRENT
    for status in HANDED_ON | CANCELLED | {S.CLOSED}:
        assert allowed_actions(State(status)) == []
