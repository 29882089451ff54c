"""The Prometheus binaries (Debian's ``prometheus`` package): skipped locally when missing, required in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: .ci/run installs Debian's prometheus package")
        pytest.skip(f"{name} not installed (apt-get install prometheus)")
    return path
