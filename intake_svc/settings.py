from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from intake_svc.domain.records import DEFAULT_ATTACHMENT_TYPES
from intake_svc.hotline.config import HotlineClient
from shared.settings import DEV_INDEX_KEY, DEV_PII_KEY, ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    port: int = 8101
    # AES-256-GCM keys for parties' personal data at rest: "kid:base64,kid2:base64"; the current one seals
    pii_keys: str = f"k1:{DEV_PII_KEY}"
    pii_current_key: str = "k1"
    # HMAC key of the blind index used to recognise the same applicant (phone / ID number); never rotate casually
    blind_index_key: str = DEV_INDEX_KEY
    # duplicates: open cases of the same applicant or address within the window, compared by description
    dedup_window_days: int = 30
    dedup_link_similarity: float = 0.5  # at or above: linked automatically
    dedup_suggest_similarity: float = 0.3  # at or above: suggested to staff
    dedup_same_matter_similarity: float = 0.2  # same applicant, address and category: linked at or above this
    # citizen progress page: requests per client address per window (per replica)
    public_rate_limit: int = 10
    public_rate_window_seconds: float = 60.0
    # 12345 hotline clients by client id, as JSON: INTAKE_HOTLINE_CLIENTS='{"qinglan-12345": {"secret": "...",
    # "callback_url": "https://.../callbacks", "callback_secret": "...", "mapping": "qinglan", "unit_id": "S1"}}'
    hotline_clients: dict[str, HotlineClient] = Field(default_factory=dict)
    hotline_skew_seconds: int = 300  # accepted clock difference of a signed request (±)
    hotline_callback_timeout_seconds: float = 10.0
    hotline_callback_backoff_seconds: float = 5.0  # first retry delay; doubles per attempt
    hotline_callback_backoff_max_seconds: float = 900.0
    hotline_callback_max_attempts: int = 12  # then the callback is parked as failed until an admin retries it
    hotline_sender_poll_seconds: float = 1.0
    # the case file's records: how long the author may still edit a note (each edit a version)
    note_edit_window_minutes: float = 30.0
    # attachments: the largest file and the types allowed, as the file's content (magic bytes) tells them
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    attachment_types: list[str] = Field(default_factory=lambda: list(DEFAULT_ATTACHMENT_TYPES))
    # the CJK font (TrueType/TTC) the 协议书 and 登记表 PDFs are set in: Debian's fonts-wqy-zenhei by default
    pdf_font: str = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
    # where attachments' bytes live: "local" (a directory; the embedded default) or "s3" (any S3-compatible store)
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: str = "./var/intake-files"
    s3_endpoint_url: str | None = None  # None: AWS itself; e.g. https://minio.internal:9000
    s3_bucket: str = "fengqiao-intake"
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None  # None: the client's own chain (env, instance role)
    s3_secret_access_key: str | None = None

    def secret_fields(self) -> list[str]:
        return [*super().secret_fields(), "pii_keys", "blind_index_key"]

    def pii_keyring(self) -> dict[str, str]:
        pairs = (item.split(":", 1) for item in self.pii_keys.split(",") if item.strip())
        return {kid.strip(): key.strip() for kid, key in pairs}
