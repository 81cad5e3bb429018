"""Fault injection: an index that refuses, errs, hangs, answers garbage or a login page, or
dies in the middle of a run; an index that sends no caching headers; no index at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pkgindex import IndexServer
from test_verdicts import PY, acme, project, run

from compat.results import Status, load_all


@pytest.fixture
def index(index_server: IndexServer, monkeypatch) -> IndexServer:
    index_server.add_installed("pytest", "pluggy", "iniconfig", "packaging", "pygments")
    index_server.add(acme("1.0.0"), acme("1.1.0"), acme("1.2.0"))
    index_server.hang_seconds = 4
    monkeypatch.setenv("COMPAT_INDEX_TIMEOUT", "1")
    return index_server


@pytest.mark.parametrize(
    "fault, says",
    [
        ("500", "answered 500"),
        ("refuse", "cannot reach"),
        ("hang", "cannot reach"),
        ("garbage", "the answer is not valid JSON"),
        ("empty", "the answer is not valid JSON"),
        ("shape", "not a PEP 691 project page"),
        ("login", "a login page?"),
    ],
)
def test_a_broken_index_is_one_clear_line(index, tmp_path, capsys, fault, says) -> None:
    root = project(tmp_path / "p", index)
    index.fault = fault
    assert run(root, "plan") == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    assert "minimum" not in err  # never "minimum does not exist" for a broken answer


def test_a_warm_cache_stands_in_and_says_so(index, tmp_path, capsys) -> None:
    root = project(tmp_path / "p", index)
    index.max_age = 0  # pages are cached, and stale at once
    assert run(root, "plan") == 0
    index.fault = "500"
    assert run(root, "plan", "--offline") == 0
    capsys.readouterr()
    assert run(root, "plan") == 0
    assert "using the cached index page" in capsys.readouterr().err


def test_no_cache_headers_still_fill_the_cache(index, tmp_path, capsys) -> None:
    index.cache_headers = False
    root = project(tmp_path / "p", index)
    assert run(root, "plan") == 0
    assert run(root, "plan", "--offline") == 0


def test_index_dies_mid_sweep(index, tmp_path, capsys, monkeypatch) -> None:
    root = project(tmp_path / "p", index)
    assert run(root, "run", "--all", "-j", "1") == 0
    monkeypatch.setenv("COMPAT_CACHE_DIR", str(tmp_path / "empty-cache"))  # no page to fall back on
    index.fault, index.fault_after = "refuse", len(index.requests) + 2
    assert run(root, "run", "--all", "--rerun", "-j", "1") == 2
    results = load_all(root / ".compat/results").results.values()
    assert {r.status for r in results} == {Status.PASSED}  # the judged verdicts stand
    assert any(r.stale is not None for r in results)


def test_nox_without_index_nor_cache(index, tmp_path) -> None:
    """`nox -l`, `-s docs` and the project's own sessions need no index."""
    root = project(tmp_path / "p", index)
    (root / "noxfile.py").write_text(
        "import nox\nimport compat.nox\n\ncompat.nox.register()\n\n\n"
        "@nox.session(python=False)\ndef lint(session):\n    session.log('linted')\n"
    )

    def nox(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "nox", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )

    index.fault = "refuse"
    listing = nox("-l")
    assert listing.returncode == 0, listing.stderr
    assert "cell sessions not registered" in listing.stderr and "- matrix" in listing.stdout
    assert nox("-s", "lint").returncode == 0
    assert nox("-s", "docs").returncode == 0
    # With a committed report, the cells are registered from it.
    index.fault = None
    assert run(root, "run", "--all") == 0 and run(root, "report") == 0
    index.fault = "refuse"
    import shutil

    shutil.rmtree(Path(__import__("os").environ["COMPAT_CACHE_DIR"]))  # a fresh clone:
    shutil.rmtree(root / ".compat")  # no cached pages, no stored plan, no results
    listing = nox("-l")
    assert listing.returncode == 0 and f"compat-acme-min-{PY}" in listing.stdout
    assert "from compatibility-matrix.json" in listing.stderr


def test_an_index_that_hangs_while_resolving_is_ours_not_a_timeout(
    index, tmp_path, capsys, monkeypatch
) -> None:
    """A stall while the environment is built is ❗ (the stored verdict kept, no issue, exit
    2); only tests that run too long are the upstream's `timeout`."""
    from pkgindex import Release

    index.add(Release("extra-lib", "1.0"))
    root = project(tmp_path / "p", index, settings="timeout = 3")
    assert run(root, "run", f"compat-acme-latest-{PY}") == 0
    config = root / "compat.toml"
    config.write_text(config.read_text() + 'with = ["extra-lib"]\n')  # a page not seen yet
    monkeypatch.setenv("COMPAT_INDEX_TIMEOUT", "30")
    index.hang_seconds, index.fault, index.fault_after = 20, "hang", len(index.requests)
    capsys.readouterr()
    assert run(root, "run", f"compat-acme-latest-{PY}") == 2
    out = capsys.readouterr()
    assert "the environment was not built within 3s (stalled while resolving" in out.err
    assert "timeout" not in out.out.split("\n")[0].split("—")[0]  # not the verdict
    kept = load_all(root / ".compat/results").results[f"compat-acme-latest-{PY}"]
    assert kept.status is Status.PASSED and kept.stale is not None
    assert run(root, "issues", "--dry-run") == 0  # never an issue
