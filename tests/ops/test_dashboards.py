"""The Grafana dashboard and the alert rules read only metrics our services expose, in PromQL promtool parses."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from tests.ops.promtool import binary
from tests.support import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "fengqiao-operations.json"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "fengqiao.rules.yml"
# being added to shared/observability.py alongside this change (consumer degradation, DLQ depth)
ANNOUNCED = {"fq_consumer_degraded", "fq_dlq_messages"}
PROMQL_WORDS = {"sum", "max", "min", "rate", "increase", "histogram_quantile", "and", "or", "vector"}


def _exposed() -> set[str]:
    """Series names the code registers: Counter → _total, Histogram → _bucket/_sum/_count, Gauge as is."""
    names = {"up"}
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for kind, name in re.findall(r'\b(Counter|Gauge|Histogram)\(\s*"(fq_[a-z0-9_]+)"', path.read_text()):
            base = name.removesuffix("_total")
            names |= {"Counter": {base + "_total"}, "Gauge": {name},
                      "Histogram": {name + s for s in ("_bucket", "_sum", "_count")}}[kind]
    return names


def _metrics_in(expr: str) -> set[str]:
    bare = re.sub(r'"[^"]*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\bby \([^)]*\)|\boffset \w+", " ", bare)  # matchers, ranges, grouping
    return {w for w in re.findall(r"(?<![\w.])[a-z_][a-z0-9_]*", bare) if w not in PROMQL_WORDS}


def _dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 12 and len({p["id"] for p in dash["panels"]}) == len(dash["panels"])
    return exprs


def test_the_dashboard_and_the_rules_read_only_exposed_metrics() -> None:
    exposed = _exposed()
    assert {"fq_consumer_lag", "fq_http_requests_total", "fq_scheduler_actions_total",
            "fq_hotline_callbacks_undelivered", "fq_calendar_missing_year"} <= exposed, sorted(exposed)
    rule_exprs = [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    for expr in _dashboard_exprs() + rule_exprs:
        unknown = _metrics_in(expr) - exposed - ANNOUNCED
        assert not unknown, f"{expr!r} reads {unknown}, which no service exposes"


def test_promtool_parses_every_dashboard_expression(tmp_path: Path) -> None:
    promtool = binary("promtool")
    rules = [{"record": f"dashboard:panel_{i}",
              "expr": e.replace("$service", ".*").replace("${datasource}", "")}
             for i, e in enumerate(_dashboard_exprs())]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    r = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and f"SUCCESS: {len(rules)} rules found" in r.stdout, r.stdout + r.stderr
