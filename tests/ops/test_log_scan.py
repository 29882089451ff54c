"""Every log of a scripted run of the whole stack (tests/ops/logscan_run.py: cases with personal data, a reveal, a
search by name, a 12345 order and its callback, a webhook robot with an access_token) holds none of the secrets and
none of the personal data the run used: the services' stdout and stderr (structlog JSON, the standard library's
loggers, the access log), PostgreSQL's and the broker's logs. The 12345 simulator's log is the platform's, not ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.timeout(400)


def _forms(value: str) -> set[str]:
    """The ways a value can appear in a log line: as is, JSON-escaped, URL-encoded."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
            urllib.parse.quote(value), urllib.parse.quote_plus(value)}


def test_no_secret_and_no_personal_datum_in_any_log_of_a_scripted_run(tmp_path: Path) -> None:
    run_log = tmp_path / "services.log"
    with run_log.open("wb") as out:
        proc = subprocess.run([sys.executable, "-m", "tests.ops.logscan_run", str(tmp_path)], cwd=ROOT,
                              stdout=out, stderr=subprocess.STDOUT, timeout=360)
    text = run_log.read_text(errors="replace")
    assert proc.returncode == 0 and "LOGSCAN RUN COMPLETE" in text, text[-5000:]
    access = [json.loads(line) for line in text.splitlines() if line.startswith('{"ts"') and '"fq.access"' in line]
    # the access log is there: route templates, the caller, the unit, never a value of the path or the query
    assert {"POST /api/v1/cases", "GET /api/v1/cases", "GET /api/v1/public/cases/{code}",
            "POST /api/v1/cases/{case_id}/parties/reveal"} <= {f"{a['method']} {a['route']}" for a in access}
    assert any(a["caller"] == "med-logscan" and a["unit"] == "S1" for a in access)
    assert all(set(a) >= {"service", "method", "route", "status", "duration_ms", "caller", "unit"} for a in access)

    needles: dict[str, str] = json.loads((tmp_path / "needles.json").read_text())
    logs = [p for p in tmp_path.rglob("*.log") if p.name != "sim.log" and p.is_file()]
    assert {p.name for p in logs} >= {"services.log", "postgres.log", "broker.log"}
    found = []
    for path in logs:
        content = path.read_text(errors="replace")
        for what, value in needles.items():
            for form in _forms(value):
                if form in content:
                    at = content.index(form)
                    found.append(f"{what} in {path.name}: …{content[max(at - 200, 0):at + 100]}…")
                    break
    assert not found, "\n\n".join(found)
