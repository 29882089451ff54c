"""The four services, in one list the runner, the tests and the bench share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analytics_svc.settings import AnalyticsSettings
from intake_svc.settings import IntakeSettings
from notify_svc.settings import NotifySettings
from routing_svc.settings import RoutingSettings
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    package: str
    settings_cls: type[ServiceSettings]

    @property
    def schema(self) -> str:
        return self.name

    @property
    def factory(self) -> str:
        return f"{self.package}.app:create_app"

    @property
    def migrations(self) -> Path:
        return ROOT / self.package / "migrations"


SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("intake", "intake_svc", IntakeSettings),
    ServiceInfo("routing", "routing_svc", RoutingSettings),
    ServiceInfo("notify", "notify_svc", NotifySettings),
    ServiceInfo("analytics", "analytics_svc", AnalyticsSettings),
)

DEMO_ORG = Path(__file__).parent / "data" / "org_demo.json"
