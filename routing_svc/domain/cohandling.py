"""The co-handling task's (协办) states and what moves it (pure, no I/O)."""

from __future__ import annotations

import re
from enum import StrEnum


class TaskStatus(StrEnum):
    OPEN = "open"  # 待接收: opened at the responsible member
    ACCEPTED = "accepted"  # 协办中
    COMPLETED = "completed"  # 已反馈: the member reported
    CLOSED = "closed"  # 已关闭: the lead closed it with a reason


class TaskAction(StrEnum):
    ACCEPT = "accept"
    COMPLETE = "complete"
    CLOSE = "close"


LIVE = (TaskStatus.OPEN, TaskStatus.ACCEPTED)  # a required live task holds back the case's resolution

_NEXT: dict[tuple[TaskStatus, TaskAction], TaskStatus] = {
    (TaskStatus.OPEN, TaskAction.ACCEPT): TaskStatus.ACCEPTED,
    (TaskStatus.OPEN, TaskAction.COMPLETE): TaskStatus.COMPLETED,  # accepted and reported at once
    (TaskStatus.ACCEPTED, TaskAction.COMPLETE): TaskStatus.COMPLETED,
    (TaskStatus.OPEN, TaskAction.CLOSE): TaskStatus.CLOSED,
    (TaskStatus.ACCEPTED, TaskAction.CLOSE): TaskStatus.CLOSED,
}


def next_status(status: TaskStatus, action: TaskAction) -> TaskStatus | None:
    """The status ``action`` leads to, or None when it is not allowed from ``status``."""
    return _NEXT.get((status, action))


def allowed(status: TaskStatus) -> list[str]:
    return [a.value for (s, a) in _NEXT if s == status]


# a report or reason is staff text: no phone or ID numbers in it (the case file holds the parties' data)
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def personal_numbers(text: str) -> list[str]:
    """Which kinds of personal numbers ``text`` holds (``phone``, ``id_number``), for a 422 that names them."""
    found = []
    if _PHONE.search(text):
        found.append("phone")
    if _ID_NUMBER.search(text):
        found.append("id_number")
    return found
