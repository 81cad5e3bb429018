"""The `min` cell from a declared floor of every specifier shape, against the local test index."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release

from compat.cli import main

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
CLIENT = ["0.27.2", "0.28.1", "0.28.2", "0.29.0", "1.0.0"]  # 0.28.0 was never released


def project(tmp_path: Path, server: IndexServer, requirement: str, extra: str = "") -> Path:
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "tests/test_smoke.py").touch()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "plugin"\nversion = "1"\ndependencies = ["{requirement}"]\n'
    )
    (root / "compat.toml").write_text(
        f'[settings]\npython = ["{PY}"]\nindex-url = "{server.simple_url}"\n'
        f'tests = ["tests"]\n\n[integrations.client]\npackage = "client"\n{extra}'
    )
    return root


@pytest.mark.parametrize(
    "requirement, version, why",
    [
        ("client==0.28.*", "0.28.1", "lowest release the declared floor 0.28 admits"),
        ("client>=0.25,==0.28.*", "0.28.1", "lowest release the declared floor 0.28 admits"),
        ("client~=0.28.2", "0.28.2", "declared minimum"),
        ("client>0.28.1", "0.28.2", "lowest release the declared floor 0.28.1 admits"),
        ("client===0.29.0", "0.29.0", "declared minimum"),
        ("client>=0.28", "0.28.1", "lowest release the declared floor 0.28 admits"),
    ],
)
def test_min_cell_from_every_floor_shape(
    index_server: IndexServer, tmp_path: Path, capsys, requirement, version, why
) -> None:
    index_server.add(*(Release("client", v) for v in CLIENT))
    root = project(tmp_path, index_server, requirement)
    assert main(["plan", "--config", str(root / "compat.toml"), "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)
    first = cells[0]
    assert (first["label"], first["version"], first["in_declared_range"]) == ("min", version, True)
    assert first["why"] == f"{why} (pyproject.toml:4)"
    assert main(["plan", "--config", str(root / "compat.toml")]) == 0
    table = capsys.readouterr().out
    min_line = next(line for line in table.splitlines() if "-min-" in line)
    assert "beyond declared support" not in min_line


def test_an_explicit_min_is_taken_as_given(index_server: IndexServer, tmp_path: Path, capsys):
    index_server.add(*(Release("client", v) for v in CLIENT))
    root = project(tmp_path, index_server, "client==0.28.*", 'min = "0.27.2"\n')
    assert main(["plan", "--config", str(root / "compat.toml"), "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]
    assert (first["version"], first["in_declared_range"]) == ("0.27.2", False)
    assert first["why"] == "declared minimum (compat.toml:8)"
