"""JSON Schemas (2020-12, as OpenAPI 3.1 embeds them) of what a 12345 platform sends, derived from its mapping.

The mapping (``intake_svc/data/hotline_mappings/*.yaml``) is the only source: the schema names the platform's own
fields (dotted sources become nested objects), their types, limits and code lists, and which are required. The
OpenAPI document of intake embeds them on the signed routes; ``docgen`` writes them into the 接口文档.

Pure functions only: no I/O besides loading the YAML files.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from intake_svc.hotline.mapping import MAPPINGS_DIR, FieldSpec, HotlineMapping, Section

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def mapping_names() -> list[str]:
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml"))


def load_all() -> list[HotlineMapping]:
    return [HotlineMapping.load(name) for name in mapping_names()]


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """One platform field: its code list when the mapping translates values, else its type and limits."""
    out: dict[str, Any]
    if spec.values is not None:
        out = {"enum": sorted(spec.values)}
        if spec.ignore_unmapped:  # any other value is accepted and dropped
            out = {"type": "string", "examples": sorted(spec.values)}
    elif spec.type == "int":
        out = {"type": "integer"}
        if spec.min is not None:
            out["minimum"] = spec.min
        if spec.max is not None:
            out["maximum"] = spec.max
    elif spec.type == "bool":
        out = {"type": "boolean"}
    elif spec.type == "datetime":
        # ISO 8601 with a UTC offset (a time without one is refused: timezone_required)
        out = {"type": "string", "format": "date-time", "pattern": r"(Z|[+\-]\d{2}:\d{2})$"}
    else:
        out = {"type": "string"}
        if spec.required:
            out["pattern"] = r"\S"  # not empty once trimmed
        if spec.max_length is not None:
            out["maxLength"] = spec.max_length
        if spec.pattern is not None:
            out["pattern"] = spec.pattern.pattern
    if spec.default is not None and spec.values is None:  # a translated field's default is ours, not a code
        out["default"] = spec.default
    if not spec.required:  # a null is read as absent
        out = {"anyOf": [out, {"type": "null"}]} if "enum" in out or "type" not in out else {
            **out, "type": [out["type"], "null"]}
    return out


def section_schema(section: Section, title: str) -> dict[str, Any]:
    """The object ``section`` reads, nested the way the platform's dotted field names are."""
    root: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for spec in section.fields:
        node, parts = root, spec.source.split(".")
        for part in parts[:-1]:
            child = node["properties"].setdefault(part, {"type": "object", "properties": {}, "required": []})
            if spec.required and part not in node["required"]:
                node["required"].append(part)
            node = child
        node["properties"][parts[-1]] = field_schema(spec)
        if spec.required:
            node["required"].append(parts[-1])
    _prune(root)
    return {"title": title, **root}


def _prune(node: dict[str, Any]) -> None:
    if node.get("type") != "object":
        return
    if not node.get("required"):
        node.pop("required", None)
    for child in node.get("properties", {}).values():
        _prune(child)


def order_schema(mapping: HotlineMapping) -> dict[str, Any]:
    return section_schema(mapping.order, f"{mapping.name}: {mapping.label}工单")


def message_schema(mapping: HotlineMapping, kind: str = "feedback") -> dict[str, Any]:
    """回访 (``feedback``) requires ``result``; 重办 and 催办 read the same fields without it."""
    schema = section_schema(mapping.message, f"{mapping.name}: {mapping.label}平台消息（{kind}）")
    if kind == "feedback":
        source = mapping.message.source_of("result")
        if "." not in source and source not in schema.get("required", []):
            schema["required"] = [*schema.get("required", []), source]
            spec = next(f for f in mapping.message.fields if f.target == "result")
            schema["properties"][source] = field_schema(dataclasses.replace(spec, required=True))
    return schema


def request_body(schemas: list[dict[str, Any]], example: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI request body: one mapping's schema, or any one of several (each client has its mapping)."""
    schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}
