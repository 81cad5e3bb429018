"""What a nox run prints: nox sets the root logger to DEBUG; the HTTP client's chatter stays out."""

from __future__ import annotations

from pathlib import Path

from pkgindex import IndexServer
from test_cells import RELEASES, TOOLS, make_project, nox


def test_no_http_client_debug_lines(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add(*RELEASES)
    index_server.add_installed(*TOOLS)
    project = make_project(tmp_path / "proj", index_server)
    done = nox(project, "-s", "docs")  # plans against the index: pages are fetched
    assert done.returncode == 0, done.stderr
    assert "Running session docs" in done.stderr
    for noise in ("urllib3", "Starting new HTTP connection", "cachecontrol"):
        assert noise not in done.stderr + done.stdout
