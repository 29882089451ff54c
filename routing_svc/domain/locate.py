"""Locating a case: explicit grid id, else the longest address keyword, else the street's triage queue."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.case import Level


@dataclass(frozen=True)
class UnitInfo:
    id: str
    name: str
    level: Level
    parent_id: str | None
    path: tuple[str, ...]
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Located:
    unit: UnitInfo
    method: str  # grid_id | address_keyword | triage
    explanation: str


def locate(grid_id: str | None, address: str | None, units: dict[str, UnitInfo]) -> Located | None:
    if grid_id and grid_id in units and units[grid_id].level == Level.GRID:
        u = units[grid_id]
        return Located(u, "grid_id", f"grid given at intake: {u.id} {u.name}")
    if address:
        best: tuple[int, str, UnitInfo] | None = None
        for u in units.values():
            for kw in u.keywords:
                if kw and kw in address and (best is None or len(kw) > best[0]):
                    best = (len(kw), kw, u)
        if best is not None:
            _, kw, u = best
            if u.level == Level.BUILDING and u.parent_id in units:  # a building resolves to its grid
                u = units[u.parent_id]
            return Located(u, "address_keyword", f"address keyword '{kw}' → {u.id} {u.name}")
    streets = sorted((u for u in units.values() if u.level == Level.STREET), key=lambda u: u.id)
    if streets:
        reason = "grid id unknown" if grid_id else "no address keyword matched" if address else "no location given"
        return Located(streets[0], "triage", f"{reason}: street centre triage queue {streets[0].id}")
    return None
