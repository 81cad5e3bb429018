"""The peers of benchmarks/peers.py, generated from a real plan, are valid: nox and tox list
one session or environment per cell (nothing is installed or run)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "peers.py"


@pytest.fixture(scope="module")
def peers():
    spec = importlib.util.spec_from_file_location("bench_peers", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def planned(peers, index_server, tmp_path):
    """The benchmark's project (2 packages, 2 versions each, 2 Pythons) and its plan's cells."""
    published, selected = peers.universe(packages=2, versions=4)
    index_server.add(*published)
    root = tmp_path / "project"
    peers.make_project(root, index_server.simple_url, selected, ["3.11", "3.12"])
    done = subprocess.run(
        [sys.executable, "-m", "compat", "plan", "--format", "json"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cells = json.loads(done.stdout)
    assert len(cells) == 8  # 1.0.0 and 1.1.0 of both, on 3.11 and 3.12
    return root, cells, index_server.simple_url


def test_the_noxfile_has_one_session_per_cell(peers, planned):
    root, cells, url = planned
    (root / "noxfile.py").write_text(peers.noxfile(cells, url, peers.TEST_REQUIRES))
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json"], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    listed = [(s["name"], s["python"], s["call_spec"]["version"]) for s in json.loads(done.stdout)]
    assert sorted(listed) == sorted((c["integration"], c["python"], c["version"]) for c in cells)


def test_the_tox_ini_has_one_environment_per_cell(peers, planned):
    if not peers.peers_installed():
        pytest.skip('tox and tox-uv are not installed (pip install -e ".[bench]")')
    root, cells, url = planned
    (root / "tox.ini").write_text(peers.tox_ini(cells, url, peers.TEST_REQUIRES))
    done = subprocess.run(
        [sys.executable, "-m", "tox", "config", "-k", "base_python", "deps", "commands"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    envs = done.stdout.split("[testenv:")[1:]
    assert sorted(e.split("]", 1)[0] for e in envs) == sorted(peers.tox_env(c) for c in cells)
    first = next(e for e in envs if e.startswith("alpha-1.0.0-py311]"))
    assert "base_python = python3.11" in first
    assert "alpha-sdk==1.0.0" in first and "pytest" in first
    assert "tests/test_smoke.py -k alpha" in first
