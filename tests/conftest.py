"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pkgindex import IndexServer


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    """A started local package index (see ``pkgindex``), stopped after the test."""
    server = IndexServer(tmp_path / "index").start()
    try:
        yield server
    finally:
        server.stop()
