"""Event payload base class, catalog registry and the CloudEvents 1.0 envelope (Kafka binary mode)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


class Topic:
    """Topic names: one constant each (no magic strings elsewhere)."""

    CASE = "case-events"
    ORG = "org-events"
    NOTIFICATION = "notification-events"
    ALERT = "alert-events"

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"


TOPICS: tuple[str, ...] = (Topic.CASE, Topic.ORG, Topic.NOTIFICATION, Topic.ALERT)
TOPIC_DESCRIPTIONS = {
    Topic.CASE: "Case lifecycle facts, keyed by case id (all events of one case are ordered).",
    Topic.ORG: "Org hierarchy and membership changes, keyed by unit or member id.",
    Topic.NOTIFICATION: "Notification delivery outcomes, keyed by notification id.",
    Topic.ALERT: "Analytical alerts (hotspots), keyed by the alert id.",
}

CATALOG: dict[str, type[Event]] = {}


class Event(BaseModel):
    """A fact published on a topic. Subclasses declare ``ce_type`` and ``topic``; ``key()`` is the
    aggregate id used as the Kafka key and the CloudEvents ``partitionkey``.

    Events carry ids, codes and facts — never a party's name, phone, ID number or address in plain form.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ce_type: ClassVar[str]
    topic: ClassVar[str]
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ce_type = cls.__dict__.get("ce_type")
        if ce_type:
            if ce_type in CATALOG:
                raise TypeError(f"duplicate event type {ce_type}")
            parts = ce_type.split(".")
            if len(parts) != 4 or parts[0] != "fq" or not parts[3].startswith("v"):
                raise TypeError(f"ce_type must be fq.<aggregate>.<event>.v<N>: {ce_type}")
            CATALOG[ce_type] = cls

    @classmethod
    def version(cls) -> int:
        return int(cls.ce_type.rsplit(".v", 1)[1])

    def key(self) -> str:
        raise NotImplementedError


class Envelope(BaseModel):
    """CloudEvents 1.0 attributes carried as Kafka headers (binary content mode)."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    specversion: str = SPECVERSION
    partitionkey: str
    traceparent: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        h = [
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_specversion", self.specversion.encode()),
            ("ce_partitionkey", self.partitionkey.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.traceparent:
            h.append(("traceparent", self.traceparent.encode()))
        return h

    @classmethod
    def from_headers(cls, headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> Envelope:
        raw = {k: v.decode() for k, v in headers}
        missing = [k for k in ("ce_id", "ce_source", "ce_type", "ce_specversion") if k not in raw]
        if missing:
            raise InvalidEvent(f"missing CloudEvents headers: {', '.join(missing)}")
        return cls(
            id=raw["ce_id"],
            source=raw["ce_source"],
            type=raw["ce_type"],
            time=datetime.fromisoformat(raw["ce_time"]) if "ce_time" in raw else datetime.now(UTC),
            specversion=raw["ce_specversion"],
            partitionkey=raw.get("ce_partitionkey", ""),
            traceparent=raw.get("traceparent"),
        )


class InvalidEvent(ValueError):
    """A message that can never be processed (bad headers, unknown schema, invalid body)."""


def envelope_for(event: Event, source: str, traceparent: str | None = None) -> Envelope:
    return Envelope(source=source, type=event.ce_type, partitionkey=event.key(), traceparent=traceparent)


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


def decode(ce_type: str, body: bytes) -> Event:
    cls = CATALOG.get(ce_type)
    if cls is None:
        raise InvalidEvent(f"unknown event type {ce_type}")
    try:
        return cls.model_validate(json.loads(body))
    except (ValueError, TypeError) as exc:
        raise InvalidEvent(f"{ce_type}: invalid body: {exc}") from exc
