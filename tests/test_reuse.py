"""Sound reuse (real uv, pytest, nox; local index): a kept verdict is exactly the one a real
run would give. One test per way a verdict went stale, one per needless rerun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release
from projects import library
from test_verdicts import PY, TOOLS, acme, project, run

from compat.cli import main
from compat.matrix import load
from compat.plan import plan_for
from compat.report import load_known
from compat.results import Result, Status, load_all
from compat.sweep import run_cells


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_installed(*TOOLS)
    index_server.add(acme("1.0.0"))
    index_server.max_age = 0  # every resolution sees the index as it is now
    return index_server


def latest(root: Path, **options) -> Result:
    """One sweep of the `latest` cell, as `compat run` does it (no audit unless asked)."""
    matrix = load(root / "compat.toml")
    cells = [c for c in plan_for(matrix).cells if c.label == "latest"]
    options.setdefault("audit", 0)
    [result] = run_cells(matrix, cells, jobs=1, known=load_known(matrix).results, **options)
    return result


def verdicts(root: Path, change=None) -> tuple[tuple[Status, bool], tuple[Status, bool]]:
    """(status, reused) of a sweep, then — after ``change`` — of a plain re-run."""
    first = latest(root)
    if change:
        change()
    again = latest(root)
    return (first.status, first.reused), (again.status, again.reused)


def write(path: Path, text: str) -> None:
    """An edit as a person makes it: seconds after the last one. (Python's bytecode cache
    trusts a module's size and mtime in whole seconds: a same-size edit within the second
    of the previous one is missed by Python itself, whoever runs the tests.)"""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    later = max(path.stat().st_mtime_ns, before + 2_000_000_000)
    os.utime(path, ns=(later, later))


READS_DATA = """\
import json, pathlib

def test_acme():
    data = pathlib.Path(__file__).parent / "data" / "expected.json"
    assert json.loads(data.read_text()) == {"ok": True}
"""


def test_a_data_file_the_tests_read(index, tmp_path) -> None:
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": READS_DATA})
    write(root / "tests/data/expected.json", '{"ok": true}')
    change = lambda: write(root / "tests/data/expected.json", '{"ok": false}')  # noqa: E731
    assert verdicts(root, change) == ((Status.PASSED, False), (Status.FAILED, False))
    assert (
        "tests/data/expected.json"
        in load_known(load(root / "compat.toml")).results[f"compat-acme-latest-{PY}"].inputs
    )


def test_a_new_file_in_a_folder_the_tests_list(index, tmp_path) -> None:
    lists = "import os\n\ndef test_acme():\n    assert os.listdir('tests/data') == ['a.txt']\n"
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": lists})
    write(root / "tests/data/a.txt", "a")
    change = lambda: write(root / "tests/data/b.txt", "b")  # noqa: E731
    assert verdicts(root, change) == ((Status.PASSED, False), (Status.FAILED, False))


def test_a_helper_module_outside_the_test_paths(index, tmp_path) -> None:
    uses = "from helpers import check\n\ndef test_acme():\n    assert check.OK\n"
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": uses})
    write(root / "helpers/check.py", "OK = True\n")
    change = lambda: write(root / "helpers/check.py", "OK = False\n")  # noqa: E731
    assert verdicts(root, change) == ((Status.PASSED, False), (Status.FAILED, False))


def test_the_project_imported_from_the_working_tree(index, tmp_path) -> None:
    """install-project = false, as this repository's own matrix: the tests import the
    library from the checkout (the working folder is on sys.path)."""
    uses = "import mylib\n\ndef test_acme():\n    assert mylib.VALUE == 1\n"
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": uses})
    write(root / "mylib/__init__.py", "from .core import VALUE\n")
    write(root / "mylib/core.py", "VALUE = 1\n")
    change = lambda: write(root / "mylib/core.py", "VALUE = 2\n")  # noqa: E731
    assert verdicts(root, change) == ((Status.PASSED, False), (Status.FAILED, False))


ENVIRONMENT = """\
import os

def test_acme():
    assert os.environ.get("MODE") == "good"
    assert "NOT_PASSED" not in os.environ and "GH_PAT" not in os.environ
"""


def test_the_environment_is_an_allow_list_and_pass_env_is_keyed(
    index, tmp_path, monkeypatch
) -> None:
    root = project(
        tmp_path / "p",
        index,
        settings='pass-env = ["MODE"]\n',
        tests={"tests/test_acme.py": ENVIRONMENT},
    )
    monkeypatch.setenv("MODE", "good")
    for name, value in [
        ("NOT_PASSED", "x"),
        ("GH_PAT", "s3cr3t"),
        ("PYTEST_ADDOPTS", "-k nothing_matches"),
    ]:
        monkeypatch.setenv(name, value)  # none of these reaches the tests
    first = latest(root)
    assert first.status is Status.PASSED
    assert "good" not in json.dumps(first.key)  # the value only as a digest
    monkeypatch.setenv("MODE", "bad")
    again = latest(root)
    assert (again.status, again.reused) == (Status.FAILED, False)
    assert "a `pass-env` variable" in again.why


def test_a_pytest_ini_above_the_project_root(index, tmp_path) -> None:
    """A monorepo: pytest finds the ini file above the project, and the conftest beside it."""
    mono = tmp_path / "mono"
    mono.mkdir()
    subprocess.run(["git", "init", "-q", str(mono)], check=True)
    write(mono / "conftest.py", "import pytest\n\n@pytest.fixture\ndef shared():\n    return 1\n")
    uses = "def test_acme(shared):\n    assert shared == 1\n"
    root = project(mono / "pkg", index, tests={"tests/test_acme.py": uses})
    change = lambda: write(mono / "pytest.ini", "[pytest]\n")  # noqa: E731
    assert verdicts(root, change) == ((Status.FAILED, False), (Status.PASSED, False))
    assert (
        "../pytest.ini"
        in load_all(root / ".compat/results").results[f"compat-acme-latest-{PY}"].inputs
    )  # relative to the project: the same in every checkout


def test_a_run_with_extra_pytest_arguments_is_not_the_verdict(index, tmp_path, capsys) -> None:
    two = "def test_one():\n    assert True\n\ndef test_two():\n    assert False\n"
    root = project(
        tmp_path / "p",
        index,
        integrations='[integrations.acme]\npackage = "acme-sdk"\nselect = ""\n',
        tests={"tests/test_acme.py": two},
    )
    (root / "noxfile.py").write_text("import compat.nox\n\ncompat.nox.register()\n")
    stored = latest(root)
    assert stored.status is Status.FAILED
    path = root / f".compat/results/compat-acme-latest-{PY}.json"
    before = path.read_bytes()
    config = str(root / "compat.toml")
    assert main(["run", f"compat-acme-latest-{PY}", "--config", config, "--", "-k", "one"]) == 0
    assert "not stored as verdicts" in capsys.readouterr().out
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", f"compat-acme-latest-{PY}", "--", "-k", "one"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "not stored as the verdict" in done.stderr
    assert path.read_bytes() == before
    again = latest(root)
    assert (again.status, again.reused) == (Status.FAILED, True)


def test_a_record_that_contradicts_itself_is_refused(index, tmp_path, capsys) -> None:
    root = project(tmp_path / "p", index)
    assert latest(root).status is Status.PASSED
    assert run(root, "report") == 0
    shutil.rmtree(root / ".compat")  # a fresh clone: the committed JSON seeds reuse
    docs = root / "docs/compatibility-matrix.json"
    data = json.loads(docs.read_text())
    for cell in data["integrations"]["acme"]["cells"]:
        cell["status"] = "failed"  # hand-edited, its counts say otherwise
    docs.write_text(json.dumps(data))
    capsys.readouterr()
    again = latest(root)
    assert (again.status, again.reused) == (Status.PASSED, False)
    assert "the stored record was refused: status failed, but no test failed" in again.why
    assert "refused" in capsys.readouterr().err


FLAKY = """\
import pathlib

def test_acme():
    marker = pathlib.Path(__file__).parents[2] / "flaky-marker"  # outside the project
    if not marker.exists():
        marker.write_text("failed once")
        raise AssertionError("the first run fails")
"""


def test_a_flaky_test_is_named_and_never_reused(index, tmp_path) -> None:
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": FLAKY})
    first = latest(root)
    assert first.status is Status.FLAKY and not first.status.incompatible
    assert "tests/test_acme.py::test_acme failed, then passed when run again" in first.message
    assert run(root, "issues", "--dry-run") == 0  # never an issue
    again = latest(root)  # the next sweep runs it again
    assert (again.status, again.reused) == (Status.PASSED, False)


def test_a_file_uploaded_again_under_the_same_version(index, tmp_path) -> None:
    root = project(tmp_path / "p", index)
    change = lambda: index.reupload(acme("1.0.0", body="def greet():\n    return 'bye'\n"))  # noqa: E731
    assert verdicts(root, change) == ((Status.PASSED, False), (Status.FAILED, False))


def installed(index, tmp_path, modules: dict[str, str], tests: str) -> Path:
    """A library whose cells install it (``install-project = true``)."""
    root = tmp_path / "lib"
    library(root, ["acme-sdk>=1.0"], modules)
    project(root, index, pyproject="", tests={"tests/test_acme.py": tests})
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace("install-project = false", "install-project = true")
    )
    return root


USES_VALUE = "import mylib\n\ndef test_acme():\n    assert mylib.VALUE == 1\n"


def test_sources_in_a_folder_named_build(index, tmp_path) -> None:
    modules = {"mylib/__init__.py": "from .build.helper import VALUE\n"}
    modules["mylib/build/__init__.py"] = ""
    modules["mylib/build/helper.py"] = "VALUE = 1\n"
    root = installed(index, tmp_path, modules, USES_VALUE)
    change = lambda: write(root / "mylib/build/helper.py", "VALUE = 2\n")  # noqa: E731
    assert verdicts(root, change) == ((Status.PASSED, False), (Status.FAILED, False))


def test_the_installed_project_is_tested_not_the_working_tree(index, tmp_path) -> None:
    reads = "from importlib import resources\n\nVALUE = resources.read_text('mylib', 'v.txt')\n"
    root = installed(index, tmp_path, {"mylib/__init__.py": reads}, USES_VALUE)
    (root / "mylib/v.txt").write_text("1")  # in the tree, not in the wheel (only *.py)
    result = latest(root)
    assert result.status is Status.FAILED
    assert "site-packages/mylib/v.txt" in result.failures[0].message


# -- no needless work -----------------------------------------------------------------------


def test_a_readme_edit_reruns_nothing_when_the_project_is_installed(index, tmp_path) -> None:
    root = installed(index, tmp_path, {"mylib/__init__.py": "VALUE = 1\n"}, USES_VALUE)
    change = lambda: write(root / "README.md", "# edited\n")  # noqa: E731
    assert verdicts(root, change) == ((Status.PASSED, False), (Status.PASSED, True))


def test_metadata_write_reruns_nothing(index, tmp_path) -> None:
    uses = "from mylib.integrations import acme\n\ndef test_acme():\n    assert acme.OK\n"
    root = project(
        tmp_path / "p",
        index,
        integrations='[integrations.acme]\npackage = "acme-sdk"\n'
        'file = "mylib/integrations/acme.py"\n',
        tests={"tests/test_acme.py": uses},
    )
    write(root / "mylib/integrations/acme.py", '"""The acme integration."""\nOK = True\n')

    def change() -> None:
        assert run(root, "report") == 0 and run(root, "metadata", "--write") == 0
        assert "Compatibility:" in (root / "mylib/integrations/acme.py").read_text()

    assert verdicts(root, change) == ((Status.PASSED, False), (Status.PASSED, True))


def test_a_new_snapshot_date_with_the_same_pins_reruns_nothing(index, tmp_path) -> None:
    root = project(tmp_path / "p", index)
    assert run(root, "run", "--all", "--exclude-newer", "2099-01-01") == 0
    assert run(root, "run", "--all", "--exclude-newer", "2099-02-01") == 0
    assert all(r.reuses == 1 for r in load_all(root / ".compat/results").results.values())


def test_another_checkout_of_the_same_commit_reuses_the_committed_verdicts(index, tmp_path) -> None:
    root = installed(index, tmp_path, {"mylib/__init__.py": "VALUE = 1\n"}, USES_VALUE)
    assert latest(root).status is Status.PASSED and run(root, "report") == 0
    clone = tmp_path / "ci" / "checkout"
    shutil.copytree(root, clone, ignore=shutil.ignore_patterns(".compat"))
    again = latest(clone)
    assert (again.status, again.reused) == (Status.PASSED, True)
    assert not any(str(tmp_path) in part for part in [*again.inputs, *again.key.values()])


def test_caches_and_bytecode_are_not_inputs(index, tmp_path) -> None:
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": READS_DATA})
    write(root / "tests/data/expected.json", '{"ok": true}')

    def change() -> None:
        write(root / ".pytest_cache/v/cache/lastfailed", "{}")
        write(root / "tests/__pycache__/test_acme.cpython-311.pyc", "junk")
        write(root / "tests/data/__pycache__/x.pyc", "junk")

    assert verdicts(root, change) == ((Status.PASSED, False), (Status.PASSED, True))


def test_switching_back_reuses_a_verdict_seen_before(index, tmp_path) -> None:
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": READS_DATA})
    data = root / "tests/data/expected.json"
    write(data, '{"ok": true}')
    assert latest(root).status is Status.PASSED
    write(data, '{"ok": false}')  # another branch
    assert latest(root).status is Status.FAILED
    write(data, '{"ok": true}')  # back
    back = latest(root)
    assert (back.status, back.reused) == (Status.PASSED, True)


# -- what the recording follows ------------------------------------------------------------

SUBPROCESS = """\
import subprocess, sys

def test_acme():
    code = "print(open('tests/data/expected.json').read())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == '{"ok": true}'
"""


def test_a_python_subprocess_carries_the_recording(index, tmp_path) -> None:
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": SUBPROCESS})
    write(root / "tests/data/expected.json", '{"ok": true}')
    first = latest(root)
    assert first.status is Status.PASSED and "(project tree)" not in first.inputs
    write(root / "tests/data/expected.json", '{"ok": false}')
    assert (latest(root).status, False) == (Status.FAILED, False)


def test_a_non_python_subprocess_keys_the_whole_tree(index, tmp_path) -> None:
    cat = "import subprocess\n\ndef test_acme():\n    subprocess.run(['true'], check=True)\n"
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": cat})
    first = latest(root)
    assert first.status is Status.PASSED and "(project tree)" in first.inputs
    assert any("keyed by the whole project tree" in n and "'true'" in n for n in first.notes)
    change = lambda: write(root / "README.md", "# edited\n")  # noqa: E731
    assert verdicts(root, change)[1] == (Status.PASSED, False)


NETWORK = """\
import socket

def test_acme():
    try:
        socket.create_connection(("192.0.2.1", 9), timeout=0.01).close()
    except OSError:
        pass
"""


def test_a_cell_that_used_the_network_is_not_reused_unless_allowed(index, tmp_path) -> None:
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": NETWORK})
    first, again = latest(root), latest(root)
    assert first.status is Status.PASSED and not again.reused
    assert again.network == ["192.0.2.1:9"] and "network" in again.why
    config = root / "compat.toml"
    config.write_text(config.read_text().replace("audit = 0", "audit = 0\nreuse-networked = true"))
    assert latest(root).reused


def test_an_audit_that_disagrees_is_loud_and_stores_the_real_verdict(
    index, tmp_path, capsys
) -> None:
    root = project(tmp_path / "p", index)
    assert latest(root).status is Status.PASSED
    path = root / f".compat/results/compat-acme-latest-{PY}.json"
    record = json.loads(path.read_text())
    record.update(status="skipped", tests={"passed": 0, "failed": 0, "skipped": 1, "errors": 0})
    path.write_text(json.dumps(record))  # consistent with itself: only a real run can tell
    assert latest(root).reused  # the key cannot see it…
    capsys.readouterr()
    assert run(root, "run", f"compat-acme-latest-{PY}", "--audit", "all") == 2  # …the audit can
    captured = capsys.readouterr()
    assert "AUDIT: disagreed: the stored verdict was skipped" in captured.err
    assert "DISAGREED" in captured.out
    assert load_all(root / ".compat/results").results[f"compat-acme-latest-{PY}"].status is (
        Status.PASSED
    )


def test_a_new_release_of_a_dependency_reruns_with_the_new_files(index, tmp_path) -> None:
    index.add(Release("dep-lib", "1.0"))
    root = project(
        tmp_path / "p",
        index,
        integrations='[integrations.acme]\npackage = "acme-sdk"\nwith = ["dep-lib>=1"]\n',
    )
    change = lambda: index.add(Release("dep-lib", "1.1"))  # noqa: E731
    first, again = verdicts(root, change)
    assert first == (Status.PASSED, False) and again == (Status.PASSED, False)
    assert "dep-lib==1.1" in latest(root).freeze


def test_ci_plans_jobs_only_for_the_cells_that_must_run(index, tmp_path, capsys) -> None:
    """The weekly workflow's plan job: nothing changed, no cell job; one input changed, its
    cells; the audit's pick besides."""
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": READS_DATA})
    write(root / "tests/data/expected.json", '{"ok": true}')
    assert run(root, "run", "--all") == 0

    def planned() -> tuple[list[str], str]:
        capsys.readouterr()
        assert run(root, "plan", "--format", "github", "--groups", "4", "--needed") == 0
        out = capsys.readouterr()
        groups = json.loads(out.out)["include"]
        return sorted(s for g in groups for s in g["sessions"].split()), out.err

    assert planned()[0] == []  # an unchanged week starts no cell job
    write(root / "tests/data/expected.json", '{"ok": false}')
    sessions, why = planned()
    assert sessions == [f"compat-acme-latest-{PY}", f"compat-acme-min-{PY}"]
    assert "changed: tests/data/expected.json" in why
    write(root / "tests/data/expected.json", '{"ok": true}')
    config = root / "compat.toml"
    config.write_text(config.read_text().replace("audit = 0", "audit = 1"))
    sessions, why = planned()
    assert len(sessions) == 1 and f"{sessions[0]}: audit" in why


def test_tooling_in_a_listed_folder_is_not_an_input(index, tmp_path) -> None:
    """Code that lists the project (old crewai does) sees another checkout's virtualenvs and
    tool state: they are the machine's, not the project's."""
    lists = (
        "import mimetypes, os\n\ndef test_acme():\n    mimetypes.init()  # reads /etc/mime.types\n"
        "    assert 'tests' in os.listdir('.')\n"
    )
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": lists})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    write(root / ".gitignore", ".ruff_cache/\n")

    def change() -> None:
        write(root / ".ruff_cache/x", "")  # what git ignores: a fresh clone has none of it
        write(root / ".ci-venv/pyvenv.cfg", "home = /usr/bin\n")  # any virtualenv
        write(root / ".nox/x/y", "")
        write(root / "mylib.egg-info/PKG-INFO", "")

    assert verdicts(root, change) == ((Status.PASSED, False), (Status.PASSED, True))
    assert not [name for name in latest(root).inputs if name.startswith("/")]  # nor the OS
    write(root / "data.csv", "a")  # project content
    assert not latest(root).reused
