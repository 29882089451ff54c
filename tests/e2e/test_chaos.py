"""`make chaos`, short: the whole stack with two replicas of each service under every kind of fault (kill -9,
SIGSTOP, broker amnesia, PostgreSQL stopped 15 s), checked against the harness's ledger (bench/chaos). Deselect with
``-m "not chaos"``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.chaos


@pytest.mark.timeout(900)
def test_a_short_chaos_run_loses_doubles_and_strands_nothing(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.chaos", "--seconds", "75", "--rate", "0.8",
                          "--order-rate", "0.25", "--settle", "180", "--drain", "180",
                          "--var-dir", str(tmp_path / "var")], cwd=ROOT, capture_output=True, text=True, timeout=880)
    out = run.stdout + run.stderr
    for kind in ("kill -9 replica", "SIGSTOP replica", "broker restart", "PostgreSQL stop"):
        assert f"{kind} x0" not in out and f"{kind} x" in out, out  # every kind of fault was injected
    assert run.returncode == 0, out
