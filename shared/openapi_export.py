"""Write the four services' OpenAPI documents to ``docs/openapi/<service>.json``.

    python -m shared.openapi_export           # write docs/openapi/
    python -m shared.openapi_export --check   # exit 1 if the committed documents are out of date (make lint)

The documents are built from the apps themselves (no database or broker is reached: nothing starts).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed documents differ")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [n for n, body in files.items()
                 if not (args.out / n).exists() or (args.out / n).read_text() != body]
        if stale:
            print(f"OpenAPI documents out of date: {stale}; run `make docs`")
            return 1
        print(f"OpenAPI documents up to date ({len(files)} files)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (args.out / name).write_text(body)
    print(f"wrote {len(files)} documents to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
