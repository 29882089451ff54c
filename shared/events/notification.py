"""Topic ``notification-events``: what happened to each notification delivery, keyed by its id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.base import Event, Topic


class NotificationEvent(Event):
    topic: ClassVar[str] = Topic.NOTIFICATION
    notification_id: uuid.UUID
    case_id: uuid.UUID | None = None
    rule_id: str
    channel: str = Field(description="inbox | email | webhook | sms")
    recipient_id: str = Field(description="a member id, or 'applicant:<case id>' for the citizen; never contact data")
    trigger_ce_id: str = Field(description="the ce_id of the event that caused the notification")
    at: datetime

    def key(self) -> str:
        return str(self.notification_id)


class NotificationDelivered(NotificationEvent):
    ce_type: ClassVar[str] = "fq.notification.delivered.v1"
    description: ClassVar[str] = "A notification reached its channel (inbox written, SMTP accepted, vendor 2xx)."
    attempts: int = Field(ge=1)


class NotificationFailed(NotificationEvent):
    ce_type: ClassVar[str] = "fq.notification.failed.v1"
    description: ClassVar[str] = "A notification failed permanently (retries exhausted or a permanent error)."
    attempts: int = Field(ge=1)
    error: str = Field(description="the last error, without contact data")
