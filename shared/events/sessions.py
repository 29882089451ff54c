"""Topic ``case-events``: the case file's 调解 sessions (调解记录), keyed by the case id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.case import CaseEvent


class SessionScheduled(CaseEvent):
    ce_type: ClassVar[str] = "fq.case.session_scheduled.v1"
    description: ClassVar[str] = ("A 调解 session of a case was scheduled, or rescheduled (改期) to a new time. No "
                                  "place, name or phone: whoever tells the parties reads them from intake.")
    session_id: uuid.UUID
    case_code: str
    scheduled_at: datetime = Field(description="when the session is to be held (UTC)")
    party_ids: list[uuid.UUID] = Field(default_factory=list,
                                       description="the ids of the case's parties expected at the session")
    notify_parties: bool = Field(default=False, description="the parties are to be told of the time (SMS)")
    rescheduled: bool = Field(default=False, description="改期: the session had another time before")
    scheduled_by: str
