from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import DEV_PII_KEY, ServiceSettings
from shared.worktime import DEFAULT_HOURS_TEXT, parse_hours


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    service_name: str = "routing"
    port: int = 8102
    # members' contact data at rest (AES-256-GCM, base64 32 bytes)
    pii_key: str = DEV_PII_KEY
    # skeleton deadlines in wall-clock hours (the routing issue moves them into rules and working time)
    accept_hours: float = 2.0
    resolve_hours: float = 72.0
    # working hours of the working-time calendar (Asia/Shanghai), comma-separated intervals
    work_hours: str = DEFAULT_HOURS_TEXT
    # how often a replica checks whether another one saved new rules or calendar overrides
    rules_check_seconds: float = Field(default=1.0, ge=0, le=300)

    @field_validator("work_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        parse_hours(v)
        return v

    def secret_fields(self) -> list[str]:
        return [*super().secret_fields(), "pii_key"]
