from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    service_name: str = "analytics"
    port: int = 8104
    # Consumer group of the projection. Unset: ``analytics-svc-<epoch>``, the epoch being written by the
    # migrations into the schema, so a dropped and re-migrated schema is replayed from the earliest offset.
    consumer_group: str | None = None
    # records per fetch: a partition's records of one fetch are folded and written in one transaction, so bigger
    # fetches mean fewer round trips per event when catching up
    consumer_max_records: int = 6000
    # the partitions of one fetch in concurrent transactions: decoding and folding one partition's batch overlaps
    # another's SQL; the rollup rebuilds stay one at a time (a transaction-level advisory lock)
    consumer_concurrent_partitions: bool = True
    # spikes (分析研判): a grid's daily count of a category at least ``hotspot_ratio`` × its mean daily count
    # over the previous ``hotspot_baseline_days`` days, and at least ``hotspot_min_count`` cases
    emit_alerts: bool = True
    hotspot_min_count: int = 5
    hotspot_ratio: float = 3.0
    hotspot_baseline_days: int = 28
    dashboard_refresh_seconds: int = 60
    # origins (``https://portal.example``) of the pages allowed to frame the big screen and hand it fresh tokens by
    # ``postMessage`` (a wall screen's embedding page); none by default: only the dashboard's own origin
    dashboard_embed_origins: list[str] = Field(default_factory=list)

    @field_validator("dashboard_embed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        bad = [o for o in origins if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?", o)]
        if bad:
            raise ValueError(f"not an origin (scheme://host[:port], no path): {bad}")
        return origins
    export_max_rows: int = 200_000
