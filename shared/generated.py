"""Generated documents kept in the repository (event schemas, OpenAPI, the 12345 interface document): one command
line for all of them — write the files, or ``--check`` that the committed ones are current (``make lint``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path


def write_or_check(render: Callable[[], dict[str, str]], out: Path, what: str, argv: Sequence[str] | None = None,
                   *, description: str | None = None, prune: str | None = None) -> int:
    """``render`` returns file name → content. ``prune``: a glob of files in ``out`` that must not exist unless
    rendered (removed on write, reported stale on check)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail if the committed files differ")
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    files = render()
    extra = [p.name for p in args.out.glob(prune) if p.name not in files] if prune else []
    if args.check:
        stale = [n for n, body in files.items()
                 if not (args.out / n).exists() or (args.out / n).read_text(encoding="utf-8") != body]
        if stale or extra:
            print(f"{what} out of date: {stale + extra}; run `make docs`")
            return 1
        print(f"{what} up to date ({len(files)} files)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in extra:
        (args.out / name).unlink()
    for name, body in files.items():
        (args.out / name).write_text(body, encoding="utf-8")
    print(f"wrote {len(files)} files to {args.out}")
    return 0
