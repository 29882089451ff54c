"""HTTP models of 调解 sessions (调解记录)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from intake_svc.domain.sessions import SessionResult, SessionStatus
from intake_svc.schemas_records import _aware
from shared.dictionaries import FORCE


def _force(code: str) -> str:
    if code not in FORCE:
        raise ValueError(f"unknown force {code!r}; one of {sorted(FORCE)}")
    return code


def _unique(values: list[object] | None) -> list[object] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("names the same entry twice")
    return values


MemberId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@-]+$")]
Force = Annotated[str, AfterValidator(_force), Field(description="a code of the forces dictionary (联动力量)")]
Place = Annotated[str, Field(min_length=1, max_length=200,
                             description="the venue, e.g. 松涛社区人民调解室 (phone and ID numbers masked in reads)")]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: datetime = Field(description="when the session is held, with its UTC offset")
    place: Place
    mediators: list[MemberId] = Field(min_length=1, max_length=20, description="the mediators' member ids")
    parties_present: list[uuid.UUID] = Field(default_factory=list, max_length=50,
                                             description="ids of the case's parties expected (or present)")
    forces_present: list[Force] = Field(default_factory=list, max_length=20)
    notify_parties: bool = Field(default=False, description="tell the parties present the time and place by SMS "
                                                            "(quiet hours: one due at night waits till 08:00)")

    _at = field_validator("scheduled_at")(_aware)
    _distinct = field_validator("mediators", "parties_present", "forces_present")(_unique)


class SessionUpdate(BaseModel):
    """The record of the session (minutes, result) or a correction of who was there; 改期 carries the new time."""

    model_config = ConfigDict(extra="forbid")

    minutes: str | None = Field(default=None, min_length=1, max_length=10000,
                                description="调解笔录 (phone and ID numbers masked in every read)")
    result: SessionResult | None = None
    rescheduled_to: datetime | None = Field(default=None, description="the new time; with result rescheduled only")
    place: Place | None = None
    mediators: list[MemberId] | None = Field(default=None, min_length=1, max_length=20)
    parties_present: list[uuid.UUID] | None = Field(default=None, max_length=50)
    forces_present: list[Force] | None = Field(default=None, max_length=20)
    notify_parties: bool = Field(default=False, description="with 改期: tell the parties of the new time by SMS")

    _at = field_validator("rescheduled_to")(_aware)
    _distinct = field_validator("mediators", "parties_present", "forces_present")(_unique)

    @model_validator(mode="after")
    def _something(self) -> SessionUpdate:
        named = self.model_fields_set - {"notify_parties"}
        if not named:
            raise ValueError("name at least one of minutes, result, rescheduled_to, place, mediators, "
                             "parties_present, forces_present")
        return self


class SessionPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    scheduled_at: datetime
    place: str = Field(description="phone and ID numbers masked")
    mediators: list[str]
    parties_present: list[uuid.UUID]
    forces_present: list[str]
    forces_labels: list[str]
    status: SessionStatus
    result: SessionResult | None
    result_label: str | None
    minutes: str | None = Field(description="phone and ID numbers masked")
    previous_times: list[datetime] = Field(description="the earlier times of a rescheduled session, oldest first")
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class NoticeRequest(BaseModel):
    """Notify asks for one party's contact and the session's place, to send the 调解通知."""

    model_config = ConfigDict(extra="forbid")

    party_id: uuid.UUID
    purpose: str = Field(min_length=4, max_length=500, description="why the contact is needed (logged)")


class SessionNotice(BaseModel):
    case_id: uuid.UUID
    session_id: uuid.UUID
    party_id: uuid.UUID
    phone: str | None
    scheduled_at: datetime
    place: str
    status: SessionStatus
