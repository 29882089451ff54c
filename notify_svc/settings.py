from __future__ import annotations

from datetime import time

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    port: int = 8103

    # owners of contact data, reached with a service token (notify mints one, or set service_token)
    routing_url: str = "http://127.0.0.1:8102"
    intake_url: str = "http://127.0.0.1:8101"
    service_token: str | None = None
    contact_timeout_seconds: float = 5.0

    # consumer: gather the events arriving within this many ms into one transaction (see README, notify bench)
    consumer_batch_wait_ms: int = 20

    # delivery worker
    worker_poll_seconds: float = 1.0
    worker_batch_size: int = 50
    delivery_max_attempts: int = 6
    delivery_backoff_seconds: float = 30.0
    delivery_backoff_max_seconds: float = 3600.0
    send_timeout_seconds: float = 10.0
    # per recipient and channel (inbox is never limited)
    rate_limit_count: int = 20
    rate_limit_window_seconds: int = 3600
    # no SMS to citizens in this window (Asia/Shanghai); queued to its end
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)

    # email (SMTP)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_use_tls: bool = False
    mail_from: str = "fengqiao@localhost"

    # SMS vendor (HTTP JSON)
    sms_url: str | None = None
    sms_api_key: str | None = None
    sms_signature: str = "枫桥"

    # satisfaction survey (回访)
    survey_secret: str | None = None  # defaults to a key derived from jwt_secret
    survey_days: int = 7  # no answer within this many days → unreached
    public_base_url: str = "http://127.0.0.1:8103"

    # reminders (催办) at these fractions of each deadline's working time
    reminder_fractions: tuple[float, ...] = (0.5, 0.8)
    # an agreement's 履行 reminders: at these fractions of the working time from signing to the deadline
    performance_reminder_fractions: tuple[float, ...] = (0.8, 1.0)

    def secret_fields(self) -> list[str]:
        return [*super().secret_fields(), *(["survey_secret"] if self.survey_secret else [])]
