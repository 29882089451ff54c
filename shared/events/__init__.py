"""The event catalog. Importing this package registers every event type."""

from shared.events import case, org
from shared.events.base import (
    CATALOG,
    TOPICS,
    Envelope,
    Event,
    InvalidEvent,
    Topic,
    decode,
    encode,
    envelope_for,
)
from shared.events.case import (
    CaseAccepted,
    CaseAssigned,
    CaseMerged,
    CaseReceived,
    CaseReclassified,
    CaseResolved,
    FeedbackReceived,
    RiskChanged,
)
from shared.events.org import MemberUpserted, UnitUpserted

__all__ = [
    "CATALOG",
    "TOPICS",
    "CaseAccepted",
    "CaseAssigned",
    "CaseMerged",
    "CaseReceived",
    "CaseReclassified",
    "CaseResolved",
    "Envelope",
    "Event",
    "FeedbackReceived",
    "InvalidEvent",
    "MemberUpserted",
    "RiskChanged",
    "Topic",
    "UnitUpserted",
    "case",
    "decode",
    "encode",
    "envelope_for",
    "org",
]
