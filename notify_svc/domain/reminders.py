"""Reminders (催办): their statuses and where a reminder falls on a deadline (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol


class ReminderStatus(StrEnum):
    PENDING = "pending"  # fires at ``fire_at``
    PAUSED = "paused"  # the case is suspended: re-pointed on resume
    FIRED = "fired"
    CANCELLED = "cancelled"


OPEN = (ReminderStatus.PENDING, ReminderStatus.PAUSED)  # what a cancel or a new assignment ends


class WorkPoints(Protocol):
    """The part of shared.worktime.WorkCalendar reminders need."""

    def point(self, start: datetime, end: datetime, fraction: float) -> datetime: ...


def trigger_id(reminder_id: object, fire_at: datetime) -> str:
    """The trigger id of one firing of a reminder (a re-pointed reminder fires again under a new id)."""
    return f"reminder:{reminder_id}:{int(fire_at.timestamp())}"
