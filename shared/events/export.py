"""Write every event's JSON schema and an AsyncAPI 3.0 document of all topics.

    python -m shared.events.export           # write docs/events/
    python -m shared.events.export --check   # exit 1 if the committed files are out of date (CI)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events import CATALOG, TOPICS
from shared.events.base import TOPIC_DESCRIPTIONS, Topic
from shared.generated import write_or_check

OUT = Path(__file__).resolve().parents[2] / "docs" / "events"

_CE_HEADERS = {
    "type": "object",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time", "ce_partitionkey", "content-type"],
    "properties": {
        "ce_id": {"type": "string", "description": "unique event id (dedupe key together with ce_source)"},
        "ce_source": {"type": "string", "description": "producing service, e.g. /fengqiao/intake"},
        "ce_type": {"type": "string", "description": "fq.<aggregate>.<event>.v<N>"},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_partitionkey": {"type": "string", "description": "aggregate id; equals the Kafka key"},
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
    },
}


def event_schemas() -> dict[str, dict[str, Any]]:
    out = {}
    for ce_type, cls in sorted(CATALOG.items()):
        schema = cls.model_json_schema()
        schema["$id"] = f"https://fengqiao.example/events/{ce_type}.json"
        schema["title"] = ce_type
        schema["description"] = cls.description
        schema["x-topic"] = cls.topic
        schema["x-version"] = cls.version()
        out[ce_type] = schema
    return out


def consumed_events() -> dict[str, list[str]]:
    """service → the ce_types its event map (``<package>.consumers.CONSUMERS``) handles. Imported lazily: the
    services depend on shared, not the other way round, except for writing this document."""
    from services.registry import SERVICES

    by_class = {cls: ce_type for ce_type, cls in CATALOG.items()}
    out = {}
    for svc in SERVICES:
        module = __import__(f"{svc.package}.consumers", fromlist=["CONSUMERS"])
        out[svc.name] = sorted(by_class[cls] for cls in module.CONSUMERS)
    return out


def asyncapi() -> dict[str, Any]:
    schemas = event_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in TOPICS:
        names = [t for t, cls in CATALOG.items() if cls.topic == topic]
        channel_msgs = {}
        for ce_type in sorted(names):
            mid = ce_type.replace(".", "_")
            messages[mid] = {
                "name": ce_type,
                "title": ce_type,
                "summary": CATALOG[ce_type].description,
                "contentType": "application/json",
                "headers": _CE_HEADERS,
                "payload": {"$ref": f"{ce_type}.json"},
                "bindings": {"kafka": {"key": {"type": "string", "description": "aggregate id"}}},
            }
            channel_msgs[mid] = {"$ref": f"#/components/messages/{mid}"}
        for name, description in ((topic, TOPIC_DESCRIPTIONS[topic]),
                                  (Topic.dlq(topic), f"Dead letters of {topic}: the original message "
                                   "plus fq_error* headers.")):
            cid = name.replace(".", "_").replace("-", "_")
            channels[cid] = {
                "address": name,
                "description": description,
                "messages": channel_msgs if name == topic else {},
                "bindings": {"kafka": {"topic": name}},
            }
        if channel_msgs:
            operations[f"publish_{topic.replace('-', '_')}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{topic.replace('-', '_')}"},
                "messages": [{"$ref": f"#/channels/{topic.replace('-', '_')}/messages/{m}"}
                             for m in channel_msgs],
            }
    for service, consumed in consumed_events().items():
        for topic in TOPICS:
            mids = [ce_type.replace(".", "_") for ce_type in consumed if CATALOG[ce_type].topic == topic]
            if not mids:
                continue
            cid = topic.replace("-", "_").replace(".", "_")
            operations[f"{service}_receive_{cid}"] = {
                "action": "receive",
                "title": f"{service} consumes {topic}",
                "summary": f"The events of {topic} the {service} service handles (its consumers.py); it ignores "
                           "the others.",
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [{"$ref": f"#/channels/{cid}/messages/{m}"} for m in mids],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Fengqiao events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary content mode; JSON bodies. Generated by "
            "`python -m shared.events.export`; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "servers": {"kafka": {"host": "localhost:19092", "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
        "x-schemas": sorted(schemas),
    }


def render() -> dict[str, str]:
    files = {f"{t}.json": json.dumps(s, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
             for t, s in event_schemas().items()}
    files["asyncapi.json"] = json.dumps(asyncapi(), indent=2, ensure_ascii=False) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    return write_or_check(render, OUT, "event docs", argv, description=__doc__, prune="*.json")


if __name__ == "__main__":
    sys.exit(main())
