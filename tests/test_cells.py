"""Cells end to end: real uv, real nox, real pytest, against the local test index.

An invented integration `acme` whose releases pass, emit a deprecation, break a
contract, fail to install, skip everything, and exclude the running Python.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release

from compat.cli import main
from compat.matrix import load
from compat.plan import Cell
from compat.results import load_all, merge
from compat.runner import run_cell

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")

GREET = 'def greet():\n    return "hi"\n'
DEPRECATED_GREET = (
    "import warnings\n\n"
    "def greet():\n"
    '    warnings.warn("greet() is deprecated, use hello()", DeprecationWarning, stacklevel=2)\n'
    '    return "hi"\n'
)
CLIENT = "class Client:\n    def __init__(self, key):\n        self.key = key\n"


def acme(version: str, body: str = GREET, **kwargs) -> Release:
    return Release("acme-sdk", version, modules={"acme_sdk/__init__.py": body + CLIENT}, **kwargs)


RELEASES = [
    acme("1.0.0"),
    acme("1.1.0", DEPRECATED_GREET),
    acme("1.2.0", ""),  # greet() removed: a broken contract
    acme("1.3.0", requires=["missing-dependency>=1"]),  # cannot be installed
    acme("1.4.0", GREET + "SKIP_ALL = True\n"),
    acme("2.0.0", requires_python=">=3.99"),  # excludes every Python here
    # Unrelated packages whose deprecation warnings must not count:
    Release(
        "noisy-lib",
        "1.0",
        modules={
            "noisy_lib/__init__.py": "import warnings\n\ndef old():\n    warnings.warn('noisy', DeprecationWarning, stacklevel=2)\n"
        },
    ),
]

SMOKE = """
import acme_sdk
import noisy_lib
import pytest

pytestmark = pytest.mark.skipif(getattr(acme_sdk, "SKIP_ALL", False), reason="not for this release")


def test_acme_greet():
    noisy_lib.old()
    assert acme_sdk.greet() == "hi"


def test_acme_client():
    assert acme_sdk.Client("k").key == "k"


def test_unrelated():
    assert True
"""

EXPECTED = {
    "min": ("1.0.0", "passed"),
    "1.1": ("1.1.0", "deprecated"),
    "1.2": ("1.2.0", "failed"),
    "1.3": ("1.3.0", "install-failed"),
    "1.4": ("1.4.0", "skipped"),
    "latest": ("2.0.0", "not-applicable"),
}


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add(*RELEASES)
    index_server.add_installed(*TOOLS)
    return index_server


def make_project(root: Path, index: IndexServer, settings: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk>=1.0.0"]\n'
    )
    (root / "compat.toml").write_text(
        textwrap.dedent(
            f"""
            [settings]
            python = ["{PY}"]
            index-url = "{index.simple_url}"
            install-project = false
            tests = ["tests/test_smoke.py"]
            test-requires = ["pytest", "noisy-lib"]
            {settings}

            [settings.policy]
            minors = 5

            [integrations.acme]
            package = "acme-sdk"
            """
        )
    )
    (root / "tests").mkdir()
    (root / "tests/test_smoke.py").write_text(SMOKE)
    (root / "noxfile.py").write_text("import compat.nox\n\ncompat.nox.register()\n")
    (root / "docs").mkdir()
    (root / "docs/compatibility-matrix.md").write_text(
        "# Our matrix\n\nHand-written intro.\n\n<!-- compat:begin -->\nold\n<!-- compat:end -->\n\nHand-written footer.\n"
    )
    return root


def nox(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nox", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_nox_lists_one_session_per_cell(index: IndexServer, tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", index)
    listing = nox(project, "-l")
    assert listing.returncode == 0, listing.stderr
    for label in EXPECTED:
        assert f"compat-acme-{label}-{PY}" in listing.stdout
    for tool in ("matrix", "docs", "bisect", "upstream"):
        assert f"- {tool} ->" in listing.stdout


def test_matrix_sweep_statuses_results_docs(index: IndexServer, tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", index)
    done = nox(project, "-s", "matrix", "--", "-j", "3")
    assert done.returncode == 1, done.stdout + done.stderr  # incompatible cells found
    results = load_all(project / ".compat/results").results
    statuses = {r.label: (r.requested, r.status.value) for r in results.values()}
    assert statuses == EXPECTED

    passed = results[f"compat-acme-min-{PY}"]
    assert passed.installed == "1.0.0" and passed.tests["passed"] == 2  # -k acme
    assert passed.deprecations == []  # noisy-lib's warning is not upstream's
    assert any(line.startswith("acme-sdk==1.0.0") for line in passed.freeze)
    assert passed.python.startswith(PY)

    deprecated = results[f"compat-acme-1.1-{PY}"]
    assert [(d.category, d.message, d.source, d.attribution) for d in deprecated.deprecations] == [
        (
            "DeprecationWarning",
            "greet() is deprecated, use hello()",
            "tests/test_smoke.py:11",  # stacklevel=2: the caller's line
            "usage",
        )
    ]
    failed = results[f"compat-acme-1.2-{PY}"]
    assert failed.tests["failed"] == 1 and failed.tests["passed"] == 1
    assert failed.failures[0].test == "tests/test_smoke.py::test_acme_greet"
    assert "greet" in failed.failures[0].message
    install = results[f"compat-acme-1.3-{PY}"]
    assert "missing-dependency" in install.message and install.tests["failed"] == 0
    assert results[f"compat-acme-1.4-{PY}"].tests["skipped"] == 2

    text = (project / "docs/compatibility-matrix.md").read_text()
    assert text.startswith("# Our matrix\n\nHand-written intro.\n\n<!-- compat:begin -->")
    assert text.endswith("<!-- compat:end -->\n\nHand-written footer.\n") and "\nold\n" not in text
    assert f"| {PY} | 1.0.0 ✅ | 1.1.0 ⚠️ | 1.2.0 ❌ | 1.3.0 🚫 | 1.4.0 ⏭️ | 2.0.0 — |" in text
    assert "`tests/test_smoke.py::test_acme_greet`" in text
    assert (
        "`DeprecationWarning` `greet() is deprecated, use hello()` at `tests/test_smoke.py:11`"
        in text
    )
    assert "latest on the index, 2.0.0, was never tested" not in text  # it was: not-applicable
    summary = json.loads((project / "docs/compatibility-matrix.json").read_text())["integrations"][
        "acme"
    ]
    assert summary["lowest_passing"] == "1.0.0" and summary["highest_passing"] == "1.1.0"
    assert summary["status"] == "failed" and summary["latest_on_index"] == "2.0.0"

    before = (project / "docs/compatibility-matrix.md").read_bytes()
    rendered = nox(project, "-s", "docs")
    assert rendered.returncode == 0, rendered.stderr
    assert (project / "docs/compatibility-matrix.md").read_bytes() == before  # stable output


def test_single_session_exit_codes_and_posargs(index: IndexServer, tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", index)
    ok = nox(project, "-s", f"compat-acme-min-{PY}", "--", "-vv")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "test_smoke.py::test_acme_greet PASSED" in ok.stdout + ok.stderr  # -vv reached pytest
    # A run with pytest arguments is reported, never stored as the cell's verdict.
    assert not (project / f".compat/results/compat-acme-min-{PY}.json").exists()
    assert nox(project, "-s", f"compat-acme-min-{PY}").returncode == 0
    assert (
        json.loads((project / f".compat/results/compat-acme-min-{PY}.json").read_text())["status"]
        == "passed"
    )

    broken = nox(project, "-s", "compat-acme-1.2")
    assert broken.returncode == 1 and "failed" in broken.stderr
    skipped = nox(project, "-s", "compat-acme-1.4")
    assert skipped.returncode == 0 and "skipped" in skipped.stderr

    # The cell's one virtualenv is updated in place to exactly what the cell pins: a version
    # changed by hand and a package added by hand are undone on the next run.
    venv = project / f".compat/venvs/acme-min-{PY}"
    index.add(Release("stray-pkg", "1.0"))
    subprocess.run(
        ["uv", "pip", "install", "--python", str(venv / "bin/python"),
         "--default-index", index.simple_url, "acme-sdk==1.1.0", "stray-pkg"],
        check=True, capture_output=True,
    )  # fmt: skip
    again = nox(project, "-s", f"compat-acme-min-{PY}", "--", "--rerun")
    assert again.returncode == 0, again.stdout + again.stderr
    result = json.loads((project / f".compat/results/compat-acme-min-{PY}.json").read_text())
    assert result["installed"] == "1.0.0"
    assert not any(line.startswith("stray-pkg") for line in result["freeze"])


def acme_cell(version: str) -> Cell:
    """A cell outside the plan, for versions the policy would not select."""
    return Cell("acme", "max", "acme-sdk", version, PY, (f"acme-sdk=={version}",), "test",
                select="acme", tests=("tests/test_smoke.py",))  # fmt: skip


def test_wrong_version(index: IndexServer, tmp_path: Path) -> None:
    """`==1.6.0` admits the local version 1.6.0+patched (PEP 440): not what was asked for."""
    index.add(acme("1.6.0"), acme("1.6.0+patched"))
    project = make_project(tmp_path / "proj", index)
    result = run_cell(acme_cell("1.6.0"), load(project / "compat.toml"))
    assert (result.status.value, result.installed) == ("wrong-version", "1.6.0+patched")


def test_timeout_kills_the_cell(index: IndexServer, tmp_path: Path) -> None:
    index.add(acme("1.7.0", GREET + "import time\ntime.sleep(120)\n"))
    project = make_project(tmp_path / "proj", index, "timeout = 20")
    result = run_cell(acme_cell("1.7.0"), load(project / "compat.toml"))
    assert result.status.value == "timeout" and result.duration_s < 60
    assert "running the tests" in result.message
    leftover = subprocess.run(
        ["pgrep", "-f", str(project / ".compat")], capture_output=True, text=True
    )
    assert leftover.stdout == ""  # the whole process group is gone


def test_compat_run_and_report_merge(
    index: IndexServer, tmp_path: Path, monkeypatch, capsys
) -> None:
    project = make_project(tmp_path / "proj", index)
    monkeypatch.chdir(project)
    assert main(["run", "compat-acme-min", "-j", "1"]) == 0
    assert main(["run", "acme-nope"]) == 2
    assert main(["run"]) == 2
    # A result produced elsewhere (a CI artifact) merges in without losing any.
    elsewhere = tmp_path / "artifacts/compat-acme-1.2"
    elsewhere.mkdir(parents=True)
    stored = json.loads((project / f".compat/results/compat-acme-min-{PY}.json").read_text())
    foreign = {
        **stored,
        "session": f"compat-acme-1.2-{PY}",
        "label": "1.2",
        "requested": "1.2.0",
        "requirements": ["acme-sdk==1.2.0"],  # as a run of that cell records them
        "key": {},  # not the key of the min cell it was copied from
        "status": "failed",
    }
    (elsewhere / f"compat-acme-1.2-{PY}.json").write_text(json.dumps(foreign))
    assert len(merge([tmp_path / "artifacts"], project / ".compat/results").results) == 1
    assert main(["report"]) == 1
    text = (project / "docs/compatibility-matrix.md").read_text()
    assert f"| {PY} | 1.0.0 ✅ | not run | 1.2.0 ❌ |" in text
    assert "Hand-written footer." in text
    assert "latest on the index, 2.0.0, was never tested" in text
