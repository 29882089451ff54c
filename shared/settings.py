"""Settings: one pydantic-settings class per service, with its own env prefix.

Resolution order for every field: explicit init kwargs, ``<PREFIX>FIELD`` (e.g. ``INTAKE_DATABASE_URL``),
then ``FQ_FIELD`` (shared by all services, e.g. ``FQ_JWT_SECRET``), then the defaults. The two
infrastructure addresses also honour the conventional unprefixed ``DATABASE_URL`` and
``KAFKA_BOOTSTRAP_SERVERS``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from shared.worktime import DEFAULT_HOURS_TEXT, parse_hours

DEV_JWT_SECRET = "fengqiao-dev-jwt-secret-change-me-0123456789"
DEV_PII_KEY = "ZmVuZ3FpYW8tZGV2LXBpaS1rZXktMzItYnl0ZXMhISE="  # base64 of 32 bytes, dev only
DEV_TRANSPORT_KEY = "ZmVuZ3FpYW8tZGV2LXRyYW5zcG9ydC1rZXktMzJieXQ="  # base64 of 32 bytes, dev only
DEV_INDEX_KEY = "ZmVuZ3FpYW8tZGV2LWJsaW5kLWluZGV4LWtleS0zMmI="  # base64 of 32 bytes, dev only

_UNPREFIXED = {"database_url", "kafka_bootstrap_servers"}


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class _UnprefixedInfraSource(EnvSettingsSource):
    """Reads only DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS from the plain environment."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k in _UNPREFIXED}


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set ``model_config`` with their own ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    service_name: str = "fengqiao"
    env: Environment = Environment.DEV
    host: str = "127.0.0.1"
    port: int = 8100
    log_level: str = "INFO"
    # working hours of the working-time calendar (Asia/Shanghai), comma-separated intervals; one setting
    # (FQ_WORK_HOURS) keeps routing's deadlines and notify's reminders on the same clock
    work_hours: str = DEFAULT_HOURS_TEXT
    log_json: bool = True
    # the access log (shared.observability.configure_access_log): a JSON line per request on the logger fq.access,
    # on stdout, or in access_log_file rotated daily and kept access_log_keep_days days (six months and more)
    access_log: bool = True
    access_log_file: str = ""
    access_log_keep_days: int = 190
    # proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's --forwarded-allow-ips syntax:
    # comma-separated addresses or networks, "*" for all); empty: none, the connection's address is the client's
    forwarded_allow_ips: str = ""
    # browser origins allowed to call the API cross-origin (FQ_CORS_ORIGINS, a JSON list): none by default, the
    # four services answer behind one origin (deploy/README.md's Ingress)
    cors_origins: list[str] = []

    database_url: str = "postgresql://postgres@127.0.0.1:15432/fengqiao"
    db_pool_size: int = 20

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_topic_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_metadata_max_age_ms: int = 3000

    # outbox relay
    outbox_poll_seconds: float = 1.0
    outbox_batch_size: int = 500
    outbox_retention_hours: float = 72.0
    outbox_health_check_seconds: float = 2.0
    # idempotent consumer
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 0.2
    consumer_backoff_max_seconds: float = 5.0
    consumer_session_timeout_ms: int = 10000
    consumer_batch_wait_ms: int = 0  # see shared.bus.consumer.ConsumerSettings.batch_wait_ms
    # the background parts this process runs: an API-only replica sets both false and a replica with both true
    # (e.g. the stack runner's "intake-events") publishes the outbox and consumes; any number of each may run
    run_relay: bool = True
    run_consumer: bool = True

    # auth (design section 8)
    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: str = "HS256"
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "fengqiao-dev"
    jwt_audience: str = "fengqiao"

    # key used to seal location text travelling between intake and routing inside events
    pii_transport_key: str = DEV_TRANSPORT_KEY

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        shared = EnvSettingsSource(settings_cls, env_prefix="FQ_")
        plain = _UnprefixedInfraSource(settings_cls, env_prefix="")
        return (init_settings, env_settings, shared, plain, file_secret_settings)

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> ServiceSettings:
        if self.env != Environment.DEV:
            for field in self.secret_fields():
                value = str(getattr(self, field))
                if any(dev in value for dev in (DEV_JWT_SECRET, DEV_PII_KEY, DEV_TRANSPORT_KEY, DEV_INDEX_KEY)):
                    raise ValueError(
                        f"{field} still has its development default; set it for env={self.env.value}"
                    )
        return self

    @field_validator("work_hours")
    @classmethod
    def _work_hours(cls, v: str) -> str:
        parse_hours(v)
        return v

    def secret_fields(self) -> list[str]:
        fields = ["pii_transport_key"]
        if self.jwt_jwks_url is None:
            fields.append("jwt_secret")
        return fields

