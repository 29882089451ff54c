"""What intake's handlers share: built once in ``app.create_app``; routes take it as ``deps: Deps``, consumer
handlers as ``ctx.deps``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends

from intake_svc.adapters.storage import BlobStorage, LocalStorage
from intake_svc.domain.classifier import Classifier
from intake_svc.domain.dedup import DuplicateThresholds
from intake_svc.domain.documents import DEFAULT_FONT
from intake_svc.domain.records import DEFAULT_ATTACHMENT_TYPES
from intake_svc.domain.risk import RiskRules
from intake_svc.hotline.deps import HotlineDeps
from shared.clock import Clock
from shared.crypto import Sealer
from shared.ratelimit import RateLimiter
from shared.runtime import app_deps


@dataclass
class IntakeDeps:
    clock: Clock
    pii: Sealer  # personal data at rest
    transport: Sealer  # the address travelling to routing inside events
    source: str
    classifier: Classifier
    risk_rules: RiskRules
    index_key: str  # blind index HMAC key
    hotline: HotlineDeps  # the 12345 adapter's (no clients configured: the adapter answers 404)
    public_limiter: RateLimiter  # the citizen page's requests per client address (per replica)
    dedup_window: timedelta = timedelta(days=30)
    dedup: DuplicateThresholds = field(default_factory=DuplicateThresholds)
    records: RecordLimits = field(default_factory=lambda: RecordLimits())
    storage: BlobStorage = field(default_factory=lambda: LocalStorage(Path("var/intake-files")))


@dataclass(frozen=True)
class RecordLimits:
    """The case file's records: the note edit window, the attachments' size and types (by content)."""

    note_edit_window: timedelta = timedelta(minutes=30)
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_types: frozenset[str] = frozenset(DEFAULT_ATTACHMENT_TYPES)
    pdf_font: Path = DEFAULT_FONT  # the CJK TrueType font the documents' PDFs are set in


Deps = Annotated[IntakeDeps, Depends(app_deps)]
