"""Shared pytest fixtures.

The smoke tests under tests/integration run inside compat cells, where only pytest
and the upstream packages are installed: nothing here may import more at module level.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fakegithub import FakeGitHub
    from pkgindex import IndexServer


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    """A started local package index (see ``pkgindex``), stopped after the test."""
    from pkgindex import IndexServer

    server = IndexServer(tmp_path / "index").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """No test reads the user's cache, index settings or downloads interpreters."""
    monkeypatch.setenv("COMPAT_CACHE_DIR", str(tmp_path_factory.mktemp("compat-cache")))
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    # No user or system configuration of uv or pip decides which index a test sees.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path_factory.mktemp("config-dirs")))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in (
        "UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL", "UV_CONFIG_FILE", "UV_NO_CONFIG",
        "GITHUB_TOKEN", "GH_TOKEN",
    ):  # fmt: skip
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def read_only() -> Iterator:
    """Make a file or folder read-only for real, even for root (``chattr +i``); undone after."""
    import shutil
    import subprocess

    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() == 0:
            if not shutil.which("chattr"):
                pytest.skip("running as root without chattr: cannot make a file read-only")
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            if done.returncode:
                pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)
        made.append(path)

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        else:
            path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture
def fake(monkeypatch) -> Iterator[FakeGitHub]:
    """A local fake GitHub API (``fakegithub``) with the repository ``me/mylib``; no waits."""
    from fakegithub import FakeGitHub

    from compat.github import GitHub

    with FakeGitHub() as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setattr(GitHub, "backoff", 0.0)
        server.add_repo("me/mylib")
        yield server
