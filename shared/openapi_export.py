"""Write the four services' OpenAPI documents to ``docs/openapi/<service>.json``.

    python -m shared.openapi_export           # write docs/openapi/
    python -m shared.openapi_export --check   # exit 1 if the committed documents are out of date (make lint)

The documents are built from the apps themselves (no database or broker is reached: nothing starts).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.generated import write_or_check

OUT = Path(__file__).resolve().parents[1] / "docs" / "openapi"


def documents() -> dict[str, dict[str, Any]]:
    from services.registry import SERVICES

    out = {}
    for svc in SERVICES:
        module = __import__(f"{svc.package}.app", fromlist=["create_app"])
        out[svc.name] = module.create_app().openapi()
    return out


def render() -> dict[str, str]:
    return {f"{name}.json": json.dumps(doc, indent=2, ensure_ascii=False) + "\n" for name, doc in documents().items()}


def main(argv: list[str] | None = None) -> int:
    return write_or_check(render, OUT, "OpenAPI documents", argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
