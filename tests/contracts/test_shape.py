"""The one shape (issue 14): every service has the same tree, no module imports in a circle, only shared/bus writes
the outbox, and no source file grows past ~400 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.support import ROOT

SERVICES = ("intake_svc", "routing_svc", "notify_svc", "analytics_svc")
PACKAGES = (*SERVICES, "shared", "services")
# the tree of ../shared/STYLE.md: files and folders every service has
TREE_FILES = ("app.py", "deps.py", "settings.py", "consumers.py", "schemas.py")
TREE_DIRS = ("api", "handlers", "domain", "store", "migrations")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """What ``name`` imports among our modules, anywhere in the file: a function's import and one under
    ``if TYPE_CHECKING`` count too (a circle hidden from the interpreter is still two modules that need each other)."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    out.add(sub)
                elif base in modules:
                    out.add(base)
    out.discard(name)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_in_a_circle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


_OUTBOX_INSERT = re.compile(r"INSERT\s+INTO\s+[\"\w.{}]*outbox\b", re.IGNORECASE)


def test_only_shared_bus_writes_the_outbox() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests") or rel.parts[:2] == ("shared", "bus") or "migrations" in rel.parts:
            continue
        if _OUTBOX_INSERT.search(path.read_text()):
            offenders.append(str(rel))
    assert offenders == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_one_tree(service: str) -> None:
    root = ROOT / service
    missing = [f for f in TREE_FILES if not (root / f).is_file()]
    missing += [f"{d}/" for d in TREE_DIRS if not (root / d).is_dir()]
    assert missing == [], f"{service} lacks {missing}"
    for d in TREE_DIRS:
        if d == "migrations":
            continue
        files = [p for p in (root / d).glob("*.py") if p.name != "__init__.py"]
        assert files, f"{service}/{d}/ holds no module"


def test_no_source_file_is_over_400_lines() -> None:
    long = []
    for pkg in (*SERVICES, "shared"):
        for path in (ROOT / pkg).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            n = len(path.read_text().splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(ROOT)}: {n}")
    assert long == []
