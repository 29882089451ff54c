"""HTTP models of the case file's records: notes (处置记录), parties after registration, attachments, and the
logged reveal of free texts. (``schemas.py`` holds the rest; split off to keep each under ~300 lines.)"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from intake_svc.domain.records import NoteKind, NoteVisibility, OwnerKind
from intake_svc.schemas import PartyIn, PartyPublic


def _aware(v: datetime | None) -> datetime | None:
    if v is not None and v.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-11-23T09:30:00+08:00")
    return v


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: NoteKind
    at: datetime | None = Field(default=None, description="when it was done (default: now); not in the future")
    text: str = Field(min_length=1, max_length=5000)
    visibility: NoteVisibility = Field(default=NoteVisibility.INTERNAL,
                                       description="public: also shown on the citizen's progress page (masked)")

    _at = field_validator("at")(_aware)


class NoteUpdate(BaseModel):
    """An edit by the note's author within the edit window; each edit makes a new version."""

    model_config = ConfigDict(extra="forbid")

    kind: NoteKind | None = None
    at: datetime | None = None
    text: str | None = Field(default=None, min_length=1, max_length=5000)
    visibility: NoteVisibility | None = None

    _at = field_validator("at")(_aware)

    @model_validator(mode="after")
    def _something(self) -> NoteUpdate:
        if not self.model_fields_set:
            raise ValueError("name at least one of kind, at, text, visibility")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class NotePublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    kind: NoteKind
    kind_label: str
    at: datetime
    text: str = Field(description="phone and ID numbers masked; the full text through POST …/texts/reveal")
    visibility: NoteVisibility
    author: str
    created_at: datetime
    updated_at: datetime
    editable_until: datetime
    version: int


class NoteVersionPublic(BaseModel):
    version: int
    kind: NoteKind
    at: datetime
    text: str
    visibility: NoteVisibility
    written_by: str
    written_at: datetime


class RevealedNote(BaseModel):
    id: uuid.UUID
    version: int
    text: str


class RevealedTexts(BaseModel):
    case_id: uuid.UUID
    title: str
    description: str
    notes: list[RevealedNote]


class PartyChange(BaseModel):
    """A party added or corrected after registration, and why (kept in the access log and the staff timeline)."""

    model_config = ConfigDict(extra="forbid")

    party: PartyIn
    reason: str = Field(min_length=2, max_length=500)


class PartyChanged(BaseModel):
    case_id: uuid.UUID
    party_id: uuid.UUID = Field(description="the party's stable id (``PUT …/parties/{party_id}`` corrects it)")
    party: PartyPublic
    case_version: int


class AttachmentPublic(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    owner_kind: OwnerKind
    owner_id: uuid.UUID
    name: str
    content_type: str = Field(description="as detected from the content")
    size: int
    sha256: str
    redacted: bool = Field(description="a redacted copy replaces the original for readers without PII rights")
    uploaded_by: str
    uploaded_at: datetime
    version: int
