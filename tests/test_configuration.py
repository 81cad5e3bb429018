"""The page describes the current configuration: real cells, then compat.toml or pyproject.toml
change, and the stored verdicts are no longer shown as those cells' verdicts."""

from __future__ import annotations

import sys
from pathlib import Path

from pkgindex import IndexServer
from test_cells import RELEASES, TOOLS, make_project

from compat.cli import main

PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_a_changed_configuration_is_not_yet_run(
    index_server: IndexServer, tmp_path: Path, monkeypatch, capsys
) -> None:
    index_server.add(*RELEASES)
    index_server.add_installed(*TOOLS)
    root = make_project(tmp_path / "proj", index_server)
    monkeypatch.chdir(root)
    assert main(["run", f"compat-acme-min-{PY}"]) == 0
    docs = root / "docs/compatibility-matrix.md"
    assert main(["report"]) == 0
    assert f"| {PY} | 1.0.0 ✅ |" in docs.read_text()  # the key's configuration agrees

    config = root / "compat.toml"
    config.write_text(config.read_text() + 'select = "acme and not slow"\n')
    assert main(["report"]) == 0
    text = docs.read_text()
    assert f"| {PY} | not yet run |" in text
    assert "was made under another compat.toml configuration" in text

    config.write_text(config.read_text().replace('select = "acme and not slow"\n', ""))
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("acme-sdk>=1.0.0", "acme-sdk>=0.9,<3"))
    assert main(["report"]) == 0
    text = docs.read_text()
    assert f"| {PY} | not yet run |" in text and "was made under declared `>=1.0.0`" in text
    assert "| `<3,>=0.9` (pyproject.toml:4) |" in text
