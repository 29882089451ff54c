from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import DEV_PII_KEY, ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    service_name: str = "routing"
    port: int = 8102
    # members' contact data at rest (AES-256-GCM, base64 32 bytes)
    pii_key: str = DEV_PII_KEY
    # skeleton deadlines in wall-clock hours (the routing issue moves them into rules and working time)
    accept_hours: float = 2.0
    resolve_hours: float = 72.0

    def secret_fields(self) -> list[str]:
        return [*super().secret_fields(), "pii_key"]
