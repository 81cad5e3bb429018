"""Shared pytest fixtures.

The smoke tests under tests/integration run inside compat cells, where only pytest
and the upstream packages are installed: nothing here may import more at module level.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
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
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL", "GITHUB_TOKEN", "GH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
