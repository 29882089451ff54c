"""Declarative field mappings per city format (``intake_svc/data/hotline_mappings/*.yaml``).

A mapping turns the platform's JSON into our canonical fields and our callbacks into the platform's JSON.
Errors name the field as the platform spells it (``caller.phone``), so its developers can fix their side.

Pure functions only: no I/O besides loading the YAML files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from intake_svc.hotline.domain import CallbackAction

MAPPINGS_DIR = Path(__file__).resolve().parents[1] / "data" / "hotline_mappings"
TYPES = ("str", "int", "bool", "datetime")
_MISSING = object()


class MappingError(ValueError):
    """A mapping file that cannot be used (raised at startup, never for a request)."""


@dataclass(frozen=True)
class FieldSpec:
    target: str
    source: str
    type: str = "str"
    required: bool = False
    default: Any = None
    values: dict[str, Any] | None = None
    ignore_unmapped: bool = False
    max_length: int | None = None
    pattern: re.Pattern[str] | None = None
    min: int | None = None
    max: int | None = None

    @classmethod
    def parse(cls, target: str, raw: dict[str, Any]) -> FieldSpec:
        unknown = set(raw) - {"from", "type", "required", "default", "values", "unmapped", "max_length", "pattern",
                              "min", "max"}
        if unknown or "from" not in raw:
            raise MappingError(f"field {target}: needs 'from'; unknown keys {sorted(unknown)}")
        kind = raw.get("type", "str")
        if kind not in TYPES:
            raise MappingError(f"field {target}: type must be one of {TYPES}")
        return cls(target=target, source=str(raw["from"]), type=kind, required=bool(raw.get("required", False)),
                   default=raw.get("default"), values={str(k): v for k, v in raw["values"].items()}
                   if raw.get("values") else None, ignore_unmapped=raw.get("unmapped") == "ignore",
                   max_length=raw.get("max_length"),
                   pattern=re.compile(raw["pattern"]) if raw.get("pattern") else None,
                   min=raw.get("min"), max=raw.get("max"))


def _lookup(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return _MISSING
        doc = doc[part]
    return doc


def _problem(spec: FieldSpec, reason: str, code: str) -> dict[str, str]:
    return {"field": spec.source, "reason": reason, "code": code}


def _convert(spec: FieldSpec, raw: Any) -> tuple[Any, dict[str, str] | None]:
    if spec.values is not None:
        key = str(raw) if not isinstance(raw, bool) else str(raw).lower()
        if key in spec.values:
            return spec.values[key], None
        if spec.ignore_unmapped:
            return spec.default, None
        return None, _problem(spec, f"unknown value {raw!r}; expected one of {sorted(spec.values)}", "unknown_value")
    if spec.type == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            return None, _problem(spec, "must be an integer", "int_type")
        if (spec.min is not None and raw < spec.min) or (spec.max is not None and raw > spec.max):
            return None, _problem(spec, f"must be between {spec.min} and {spec.max}", "out_of_range")
        return raw, None
    if spec.type == "bool":
        if not isinstance(raw, bool):
            return None, _problem(spec, "must be true or false", "bool_type")
        return raw, None
    if not isinstance(raw, str):
        return None, _problem(spec, "must be a string", "string_type")
    value = raw.strip()
    if spec.type == "datetime":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None, _problem(spec, "must be an ISO 8601 time", "datetime_type")
        if parsed.tzinfo is None:
            return None, _problem(spec, "needs a UTC offset, e.g. 2026-11-01T08:41:15+08:00", "timezone_required")
        return parsed, None
    if spec.required and not value:
        return None, _problem(spec, "must not be empty", "missing")
    if spec.max_length is not None and len(value) > spec.max_length:
        return None, _problem(spec, f"at most {spec.max_length} characters", "string_too_long")
    if spec.pattern is not None and not spec.pattern.fullmatch(value):
        return None, _problem(spec, f"must match {spec.pattern.pattern}", "string_pattern_mismatch")
    return value, None


@dataclass(frozen=True)
class Section:
    fields: tuple[FieldSpec, ...]

    def apply(self, doc: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """The canonical fields of ``doc`` and the problems found (each naming the platform's field)."""
        if not isinstance(doc, dict):
            return {}, [{"field": "body", "reason": "must be a JSON object", "code": "object_type"}]
        out: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        for spec in self.fields:
            raw = _lookup(doc, spec.source)
            if raw is _MISSING or raw is None:
                if spec.required:
                    errors.append(_problem(spec, "required", "missing"))
                out[spec.target] = spec.default
                continue
            value, error = _convert(spec, raw)
            if error:
                errors.append(error)
            else:
                out[spec.target] = value
        return out, errors

    def source_of(self, target: str) -> str:
        return next((f.source for f in self.fields if f.target == target), target)


@dataclass(frozen=True)
class HotlineMapping:
    name: str
    label: str
    order: Section
    message: Section
    actions: dict[str, str]
    callback_fields: dict[str, str] = field(default_factory=dict)

    def callback_body(self, canonical: dict[str, Any]) -> dict[str, Any]:
        """Our callback in the platform's words: action codes translated, fields renamed, unmapped ones left out."""
        values = {**canonical, "action": self.actions[canonical["action"]]}
        return {name: values[key] for key, name in self.callback_fields.items() if values.get(key) is not None}

    @classmethod
    def parse(cls, doc: dict[str, Any]) -> HotlineMapping:
        try:
            def section(key: str) -> Section:
                return Section(tuple(FieldSpec.parse(t, raw) for t, raw in (doc.get(key) or {}).items()))

            order, message = section("order"), section("message")
            callback = doc.get("callback") or {}
            mapping = cls(name=str(doc["name"]), label=str(doc.get("label", doc["name"])), order=order,
                          message=message, actions={str(k): str(v) for k, v in callback["actions"].items()},
                          callback_fields={str(k): str(v) for k, v in callback["fields"].items()})
        except (KeyError, TypeError, AttributeError) as exc:
            raise MappingError(f"invalid hotline mapping: {exc!r}") from exc
        missing = {"order_no", "request_type", "title", "description", "caller_name", "address"} - {
            f.target for f in order.fields}
        if missing:
            raise MappingError(f"mapping {mapping.name}: order lacks {sorted(missing)}")
        actions = {a.value for a in CallbackAction} - set(mapping.actions)
        if actions:
            raise MappingError(f"mapping {mapping.name}: callback actions lack {sorted(actions)}")
        return mapping

    @classmethod
    def load(cls, name: str, directory: Path = MAPPINGS_DIR) -> HotlineMapping:
        path = directory / f"{name}.yaml"
        if not path.is_file():
            raise MappingError(f"no hotline mapping {name!r} in {directory}")
        return cls.parse(yaml.safe_load(path.read_text(encoding="utf-8")))
