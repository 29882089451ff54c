from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import DEV_PII_KEY, ServiceSettings
from shared.worktime import WorkSpan


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    service_name: str = "routing"
    port: int = 8102
    # members' contact data at rest (AES-256-GCM, base64 32 bytes)
    pii_key: str = DEV_PII_KEY
    # 销号: close a resolved case this many working days after resolution when no follow-up answer came
    close_after_days: int = Field(default=5, ge=1, le=60)
    # followup track (no hard resolve deadline): the review date fq.case.accepted.v1 carries, in working days
    followup_review_days: int = Field(default=30, ge=1, le=365)
    # the deadline scheduler: how often it looks for passed deadlines, and how many rows one transaction takes
    scheduler_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    scheduler_batch_size: int = Field(default=100, ge=1, le=5000)
    scheduler_enabled: bool = True
    # how often a replica checks whether another one saved new rules or calendar overrides
    rules_check_seconds: float = Field(default=1.0, ge=0, le=300)
    # a co-handling task's (协办) deadline from its opening, in the working-time span grammar (3d, 1d4h, today…)
    cohandling_span: str = "3d"

    @field_validator("cohandling_span")
    @classmethod
    def _span(cls, value: str) -> str:
        WorkSpan.parse(value)  # ValueError → the settings do not load
        return value

    def secret_fields(self) -> list[str]:
        return [*super().secret_fields(), "pii_key"]
