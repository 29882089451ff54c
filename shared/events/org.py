"""Topic ``org-events``: the org hierarchy and its members, owned by routing."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.events.base import Event, Topic
from shared.events.case import Level


class OrgEvent(Event):
    topic: ClassVar[str] = Topic.ORG


Position = tuple[float, float]  # GeoJSON [longitude, latitude] (WGS-84 / GCJ-02 as the org data gives it)
LinearRing = Annotated[list[Position], Field(min_length=4, description="closed: the last position is the first")]


class PolygonGeometry(BaseModel):
    """A GeoJSON (RFC 7946) ``Polygon`` geometry: the outer ring first, each ring closed. An area, not personal data."""

    model_config = ConfigDict(frozen=True)

    type: Literal["Polygon"] = "Polygon"
    coordinates: list[LinearRing] = Field(min_length=1, description="rings of [lng, lat], the outer one first")

    @field_validator("coordinates")
    @classmethod
    def _closed(cls, rings: list[list[Position]]) -> list[list[Position]]:
        if any(ring[0] != ring[-1] for ring in rings):
            raise ValueError("each ring must end at its first position")
        return rings

    @classmethod
    def of_ring(cls, ring: list[list[float]] | None) -> PolygonGeometry | None:
        """The geometry of one outer ring ``[[lng, lat], ...]`` (how routing stores a unit's area); None for none."""
        return cls(coordinates=[[(float(p[0]), float(p[1])) for p in ring]]) if ring else None


class UnitUpserted(OrgEvent):
    ce_type: ClassVar[str] = "fq.org.unit_upserted.v1"
    description: ClassVar[str] = "A unit of the org hierarchy was created or changed."
    unit_id: str
    name: str
    level: Level
    parent_id: str | None
    path: list[str] = Field(description="ids from the root down to the unit itself")
    active: bool = True
    polygon: PolygonGeometry | None = Field(
        default=None, description="the unit's area as a GeoJSON Polygon geometry (grids have one); absent: none known")

    def key(self) -> str:
        return self.unit_id


class MemberUpserted(OrgEvent):
    ce_type: ClassVar[str] = "fq.org.member_upserted.v1"
    description: ClassVar[str] = (
        "A member (staff) was created or changed. Carries ids and roles only: contact data stays with "
        "routing and is read through its internal API."
    )
    member_id: str
    unit_id: str
    roles: list[str]
    forces: list[str] = Field(default_factory=list)
    active: bool = True

    def key(self) -> str:
        return self.member_id


class CalendarDayOverride(BaseModel):
    day: date
    is_workday: bool


class CalendarChanged(OrgEvent):
    ce_type: ClassVar[str] = "fq.org.calendar_changed.v1"
    description: ClassVar[str] = (
        "An admin changed the working-time calendar (a day overridden or restored, a year's holiday notice "
        "loaded). Carries the whole set of overrides, so the newest revision alone is the calendar; on top of "
        "China's official calendar (chinese_calendar) for the years it covers."
    )
    revision: int = Field(ge=0, description="grows with every change: apply only a revision newer than the last")
    overrides: list[CalendarDayOverride] = Field(description="every admin override, day → working day or not")
    loaded_years: list[int] = Field(description="years whose holiday notice an admin loaded (no weekday fallback)")

    def key(self) -> str:
        return "calendar"
