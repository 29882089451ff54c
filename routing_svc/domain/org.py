"""The org hierarchy (五级网格): validating an import and computing each unit's path."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.case import Level

# The one level table: depth of each level, root first (a village is a community-level unit).
RANK: dict[Level, int] = {Level.DISTRICT: 0, Level.STREET: 1, Level.COMMUNITY: 2, Level.VILLAGE: 2, Level.GRID: 3,
                          Level.BUILDING: 4}

# Allowed parent levels for each level.
PARENT_LEVELS: dict[Level, set[Level | None]] = {
    Level.DISTRICT: {None},
    Level.STREET: {Level.DISTRICT, None},
    Level.COMMUNITY: {Level.STREET},
    Level.VILLAGE: {Level.STREET},
    Level.GRID: {Level.COMMUNITY, Level.VILLAGE},
    Level.BUILDING: {Level.GRID},
}


@dataclass(frozen=True)
class UnitSpec:
    id: str
    name: str
    level: Level
    parent_id: str | None


class OrgError(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.errors = errors


def compute_paths(new: list[UnitSpec], existing: dict[str, tuple[Level, list[str]]]) -> dict[str, list[str]]:
    """Root-to-unit id paths for ``new`` units, given units already stored (id → (level, path)).

    Raises ``OrgError`` naming each bad unit: unknown parent, wrong parent level, or a cycle.
    """
    by_id = {u.id: u for u in new}
    paths: dict[str, list[str]] = {}
    errors: list[dict[str, str]] = []

    def level_of(unit_id: str) -> Level | None:
        if unit_id in by_id:
            return by_id[unit_id].level
        return existing[unit_id][0] if unit_id in existing else None

    def resolve(unit: UnitSpec, trail: tuple[str, ...]) -> list[str] | None:
        if unit.id in paths:
            return paths[unit.id]
        if unit.id in trail:
            errors.append({"field": f"units[{unit.id}].parent_id", "reason": "the hierarchy has a cycle"})
            return None
        if unit.parent_id is None:
            path = [unit.id]
        elif unit.parent_id in by_id:
            parent_path = resolve(by_id[unit.parent_id], (*trail, unit.id))
            if parent_path is None:
                return None
            path = [*parent_path, unit.id]
        elif unit.parent_id in existing:
            path = [*existing[unit.parent_id][1], unit.id]
        else:
            errors.append({"field": f"units[{unit.id}].parent_id", "reason": f"unknown parent {unit.parent_id}"})
            return None
        parent_level = level_of(unit.parent_id) if unit.parent_id else None
        if parent_level not in PARENT_LEVELS[unit.level]:
            errors.append({"field": f"units[{unit.id}].level",
                           "reason": f"a {unit.level.value} cannot sit under a "
                                     f"{parent_level.value if parent_level else 'root'}"})
            return None
        paths[unit.id] = path
        return path

    for unit in new:
        resolve(unit, ())
    if errors:
        raise OrgError(errors)
    return paths
