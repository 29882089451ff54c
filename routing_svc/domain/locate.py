"""Locating a case: explicit grid id, else the unit whose polygon holds the point, else the longest address
keyword, else the street centre's triage queue (with the reason)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shapely import prepared
from shapely.geometry import Point, Polygon

from routing_svc.domain.org import RANK
from shared.events.case import Level


def polygon_of(ring: Sequence[Sequence[float]] | None) -> Any:
    """A prepared shapely polygon from ``[[lng, lat], ...]`` (None when absent or degenerate)."""
    if not ring or len(ring) < 4:
        return None
    poly = Polygon([(float(p[0]), float(p[1])) for p in ring])
    return prepared.prep(poly) if poly.is_valid and not poly.is_empty else None


@dataclass(frozen=True)
class UnitInfo:
    id: str
    name: str
    level: Level
    parent_id: str | None
    path: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    polygon: Any = None  # a prepared shapely polygon (lng, lat), or None
    leaders: tuple[tuple[str, str], ...] = ()  # the unit's responsible leaders (三级责任): (member id, title)


class LocateMethod(StrEnum):
    GRID_ID = "grid_id"
    POLYGON = "polygon"
    ADDRESS_KEYWORD = "address_keyword"
    TRIAGE = "triage"  # no method worked: the street centre's triage queue
    GIVEN = "given"  # the dry run was given the unit


@dataclass(frozen=True)
class Located:
    unit: UnitInfo
    method: LocateMethod
    explanation: str
    building: UnitInfo | None = None  # when the case was placed in a building (楼栋), which resolved to ``unit``
    keyword: str | None = None  # the unit's address keyword that matched (ADDRESS_KEYWORD)


def grid_of(u: UnitInfo, units: Mapping[str, UnitInfo]) -> UnitInfo:
    """A building resolves to its grid (buildings only locate; they do not handle cases)."""
    if u.level == Level.BUILDING and u.parent_id in units:
        return units[u.parent_id]  # type: ignore[index]
    return u


def _building(u: UnitInfo) -> UnitInfo | None:
    return u if u.level == Level.BUILDING else None


def _street_of(unit_id: str | None, units: dict[str, UnitInfo]) -> UnitInfo | None:
    u = units.get(unit_id) if unit_id else None
    if u is None:
        return None
    for uid in reversed(u.path):
        if uid in units and units[uid].level == Level.STREET:
            return units[uid]
    return None


def locate(grid_id: str | None, address: str | None, units: dict[str, UnitInfo], *,
           lat: float | None = None, lng: float | None = None, received_unit_id: str | None = None) -> Located | None:
    """The unit a case belongs to, by the first method that works; None only when no street exists."""
    if grid_id and grid_id in units and units[grid_id].level in (Level.GRID, Level.BUILDING):
        u = grid_of(units[grid_id], units)
        return Located(u, LocateMethod.GRID_ID, f"grid given at intake: {u.id} {u.name}", _building(units[grid_id]))
    point_street: UnitInfo | None = None
    point_unit: UnitInfo | None = None  # a community or village holding the point, when no grid does
    if lat is not None and lng is not None:
        point = Point(lng, lat)
        inside = [u for u in units.values() if u.polygon is not None and u.polygon.covers(point)]
        if inside:
            deepest = max(inside, key=lambda u: (RANK[u.level], u.id))
            point_street = _street_of(deepest.id, units)
            if RANK[deepest.level] >= RANK[Level.GRID]:
                u = grid_of(deepest, units)
                return Located(u, LocateMethod.POLYGON,
                               f"point ({lat:.5f}, {lng:.5f}) lies in {deepest.id} → {u.id} {u.name}",
                               _building(deepest))
            if deepest.level in (Level.COMMUNITY, Level.VILLAGE):
                point_unit = deepest
    if address:
        best: tuple[int, str, UnitInfo] | None = None
        for u in units.values():
            for kw in u.keywords:
                if kw and kw in address and (best is None or len(kw) > best[0] or
                                             (len(kw) == best[0] and RANK[u.level] > RANK[best[2].level])):
                    best = (len(kw), kw, u)
        if best is not None:
            _, kw, matched = best
            u = grid_of(matched, units)
            return Located(u, LocateMethod.ADDRESS_KEYWORD, f"address keyword '{kw}' → {u.id} {u.name}",
                           _building(matched), keyword=kw)
    if point_unit is not None:
        return Located(point_unit, LocateMethod.POLYGON, f"point ({lat:.5f}, {lng:.5f}) lies in no grid but in "
                                              f"{point_unit.id} {point_unit.name}")
    reasons = []
    if grid_id:
        reasons.append(f"grid id {grid_id} unknown")
    if lat is not None and lng is not None:
        reasons.append("the point lies in no community or grid" if point_street else "the point lies in no unit")
    if address:
        reasons.append("no address keyword matched")
    reason = "; ".join(reasons) or "no location given"
    street = point_street or _street_of(received_unit_id, units)
    if street is None:
        streets = sorted((u for u in units.values() if u.level == Level.STREET), key=lambda u: u.id)
        street = streets[0] if streets else None
    if street is None:
        return None
    return Located(street, LocateMethod.TRIAGE, f"{reason}: street centre triage queue {street.id} {street.name}")
