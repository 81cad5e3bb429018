"""Incremental sweeps and snapshots: a cell is run again exactly when an input of its
verdict changed; ``--exclude-newer`` shows the index as it was (real uv, local index)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release
from projects import library
from test_verdicts import PY, SMOKE, acme, project, run

from compat import environment, inputs
from compat.matrix import load
from compat.plan import plan_for
from compat.report import load_known
from compat.results import Status, load_all
from compat.runner import run_cell
from compat.sweep import run_cells

COUNTING = (
    "import pathlib\n\nimport acme_sdk\n\n\ndef test_acme():\n"
    "    project = pathlib.Path(__file__).parents[1]\n"
    "    with open(project.parent / f'runs-{project.name}.log', 'a') as log:  # outside it\n"
    "        log.write('run\\n')\n"
    "    assert acme_sdk.greet() == 'hi'\n"
)


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_installed("pytest", "pluggy", "iniconfig", "packaging", "pygments")
    index_server.add(acme("1.0.0", requires=["dep-lib>=1"]), Release("dep-lib", "1.0"))
    index_server.max_age = 0  # every resolution sees the index as it is now
    return index_server


def sweep(root: Path, *, rerun: bool = False):
    matrix = load(root / "compat.toml")
    plan = plan_for(matrix)
    return run_cells(
        matrix, plan.cells, jobs=1, known=load_known(matrix).results, rerun=rerun, audit=0
    )


def runs(root: Path) -> int:
    log = root.parent / f"runs-{root.name}.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
def root(index, tmp_path) -> Path:
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": COUNTING})
    first = sweep(root)  # min and latest: the same version, one cell each
    assert [(r.status, r.reused) for r in first] == [(Status.PASSED, False)] * 2
    return root


def reran(root: Path, **kw) -> bool:
    before = runs(root)
    results = sweep(root, **kw)
    assert all(r.status is Status.PASSED for r in results), results
    return runs(root) > before and not any(r.reused for r in results)


def test_nothing_changed_is_reused(root: Path, capsys) -> None:
    started = load_all(root / ".compat/results").results[f"compat-acme-min-{PY}"].started
    assert not reran(root)
    assert load_all(root / ".compat/results").results[f"compat-acme-min-{PY}"].started == started
    assert run(root, "run", "--all", "--audit", "0") == 0
    captured = capsys.readouterr()
    assert "2 cell(s): 2 unchanged, 0 run" in captured.out and "(unchanged)" in captured.err
    assert reran(root, rerun=True)


def test_a_new_transitive_release_reruns(root: Path, index) -> None:
    index.add(Release("dep-lib", "1.1"))
    assert reran(root)
    assert (
        "dep-lib==1.1" in load_all(root / ".compat/results").results[f"compat-acme-min-{PY}"].freeze
    )


def test_a_changed_test_file_reruns(root: Path) -> None:
    test = root / "tests/test_acme.py"
    test.write_text(test.read_text() + "\n# changed\n")
    assert reran(root)


def test_a_changed_conftest_reruns(root: Path) -> None:
    (root / "tests/conftest.py").write_text("# new\n")
    assert reran(root)


def test_a_changed_configuration_reruns(root: Path) -> None:
    config = root / "compat.toml"
    config.write_text(config.read_text() + "select = 'acme or greet'\n")
    assert reran(root)


def test_a_changed_requirement_is_applied_in_place(root: Path, index) -> None:
    index.add(Release("extra-lib", "1.0"))
    config = root / "compat.toml"
    config.write_text(config.read_text() + 'with = ["extra-lib"]\n')
    assert reran(root)
    freeze = load_all(root / ".compat/results").results[f"compat-acme-min-{PY}"].freeze
    assert "extra-lib==1.0" in freeze


def test_a_changed_python_patch_version_reruns(root: Path, monkeypatch) -> None:
    path, version = environment.find_python(PY, root)
    monkeypatch.setitem(environment._found, PY, (path, version + "1"))  # as after an upgrade
    assert reran(root)


def test_a_new_nox_compat_version_reruns(root: Path, monkeypatch) -> None:
    monkeypatch.setattr(inputs, "tool_digest", lambda: "99.0")
    assert reran(root)


def installed_library(index, tmp_path) -> Path:
    """A library whose cells install it (``install-project = true``), swept once."""
    root = tmp_path / "lib"
    library(root, ["acme-sdk>=1.0"], {"mylib/__init__.py": "VALUE = 1\n"})
    project(root, index, pyproject="", tests={"tests/test_acme.py": COUNTING})
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace("install-project = false", "install-project = true")
    )
    sweep(root)
    return root


def test_the_project_source_counts_when_it_is_installed(index, tmp_path) -> None:
    root = installed_library(index, tmp_path)
    assert not reran(root)
    (root / "mylib/__init__.py").write_text("VALUE = 2\n")
    assert reran(root)


def test_an_unresolvable_release_is_not_attempted_as_new(index, tmp_path) -> None:
    """The same unresolvable requirements as last time: the verdict is kept, not re-made."""
    index.add(acme("1.1.0", requires=["missing-dependency>=1"]))
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": SMOKE})
    matrix = load(root / "compat.toml")
    [cell] = [c for c in plan_for(matrix).cells if c.label == "latest"]
    first = run_cell(cell, matrix)
    assert first.status is Status.INSTALL_FAILED
    again = run_cell(cell, matrix, previous=first)
    assert again.reused and again.started == first.started and again.reuses == 1
    index.add(Release("missing-dependency", "1.0"))
    assert not run_cell(cell, matrix, previous=again).reused


def test_exclude_newer_hides_later_releases_from_plan_and_install(index, tmp_path, capsys) -> None:
    # Uploads: acme 1.0 and dep-lib 1.0 by the date; acme 1.1 and dep-lib 2.0 after it.
    index.add(acme("1.1.0", requires=["dep-lib>=1"]), Release("dep-lib", "2.0"))
    times = {f.filename: f.upload_time for p in index._projects.values() for f in p.values()}
    cutoff = times["dep_lib-1.0-py3-none-any.whl"].replace("T12:", "T13:")  # an hour later
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": SMOKE})
    assert run(root, "plan", "--format", "json", "--exclude-newer", cutoff) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {c["version"] for c in plan} == {"1.0.0"}
    assert run(root, "run", "--all", "--exclude-newer", cutoff) == 0
    result = load_all(root / ".compat/results").results[f"compat-acme-latest-{PY}"]
    assert result.requested == "1.0.0" and "dep-lib==1.0" in result.freeze
    assert result.snapshot == cutoff.replace(".000000", "")  # recorded
    assert run(root, "run", "--all", "--rerun") == 0  # without a date: today's index
    result = load_all(root / ".compat/results").results[f"compat-acme-latest-{PY}"]
    assert result.requested == "1.1.0" and "dep-lib==2.0" in result.freeze


def test_refresh_sees_a_release_the_cached_pages_do_not(index_server, tmp_path, capsys) -> None:
    index_server.add_installed("pytest", "pluggy", "iniconfig", "packaging", "pygments")
    index_server.add(acme("1.0.0"))  # pages stay fresh for 10 minutes, as PyPI's do
    root = project(tmp_path / "p", index_server, tests={"tests/test_acme.py": SMOKE})
    assert run(root, "run", "--all") == 0
    index_server.add(acme("1.1.0"))  # released a minute later
    assert run(root, "plan", "--format", "json") == 0
    assert "1.1.0" not in capsys.readouterr().out  # the stored plan and pages are fresh
    assert run(root, "run", "--all", "--refresh") == 0
    assert (
        load_all(root / ".compat/results").results[f"compat-acme-latest-{PY}"].requested == "1.1.0"
    )


def test_what_the_tool_writes_is_not_project_source(index, tmp_path) -> None:
    root = installed_library(index, tmp_path)
    assert run(root, "report") == 0  # writes docs/compatibility-matrix.md and .json
    assert not reran(root)
