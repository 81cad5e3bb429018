"""Honest verdicts, end to end (real uv, nox, pytest, local index): a red cell means the
upstream broke the project, and anything else says what it is and how to fix it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release
from projects import library

from compat.cli import main
from compat.matrix import load
from compat.report import load_known
from compat.results import Status, load_all

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")
SMOKE = "import acme_sdk\n\n\ndef test_acme():\n    assert acme_sdk.greet() == 'hi'\n"


def acme(version: str, body: str = "def greet():\n    return 'hi'\n", **kw) -> Release:
    return Release("acme-sdk", version, modules={"acme_sdk/__init__.py": body}, **kw)


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_installed(*TOOLS)
    return index_server


def project(
    root: Path,
    index: IndexServer | None,
    *,
    settings: str = "",
    integrations: str = '[integrations.acme]\npackage = "acme-sdk"\n',
    pyproject: str = '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk>=1.0"]\n',
    tests: dict[str, str] | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    for path, source in (tests or {"tests/test_acme.py": SMOKE}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(source))
    index_line = f'index-url = "{index.simple_url}"' if index else ""
    (root / "compat.toml").write_text(
        f'[settings]\npython = ["{PY}"]\n{index_line}\ntests = ["tests"]\n'
        f'test-requires = ["pytest"]\ninstall-project = false\n'
        f"audit = 0  # the tests of audits pass --audit\n{settings}\n"
        f"[settings.policy]\nminors = 5\n\n{integrations}"
    )
    return root


def run(root: Path, *args: str) -> int:
    return main([*args, "--config", str(root / "compat.toml")])


def stored(root: Path) -> dict:
    return {r.label: r for r in load_all(root / ".compat/results").results.values()}


def test_missing_interpreter_is_an_error_with_its_fix(index, tmp_path, capsys) -> None:
    index.add(acme("1.0.0"), acme("1.1.0"))
    root = project(tmp_path / "p", index, settings="")
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(f'python = ["{PY}"]', f'python = ["{PY}", "3.99"]')
    )
    assert run(root, "run", "--all") == 2
    out = capsys.readouterr()
    results = load_all(root / ".compat/results").results
    missing = [r for r in results.values() if r.python_xy == "3.99"]
    assert len(missing) == 2 and all(r.status is Status.ERROR for r in missing)
    assert missing[0].message == "Python 3.99 was not found"
    assert "uv python install 3.99" in missing[0].hint and "uv python install 3.99" in out.err
    assert all(r.status is Status.PASSED for r in results.values() if r.python_xy == PY)
    # Never incompatible: no [Compat] issue, and the integration is not red.
    assert run(root, "issues", "--dry-run") == 0
    assert "0 issue(s)" in capsys.readouterr().out
    assert run(root, "report") == 0
    summary = json.loads((root / "docs/compatibility-matrix.json").read_text())["integrations"]
    assert summary["acme"]["status"] == "error" and summary["acme"]["python"] == [PY]
    # A single nox session says the same, and fails instead of skipping.
    (root / "noxfile.py").write_text("import compat.nox\n\ncompat.nox.register()\n")
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "compat-acme-min-3.99"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1 and "uv python install 3.99" in done.stderr + done.stdout


def test_min_lowers_only_the_integration(index, tmp_path, capsys) -> None:
    """The project's own dependency floor (brittle 1.0, broken) is not what min tests."""
    index.add(
        acme("1.0.0"),
        acme("1.1.0"),
        Release("brittle", "1.0", modules={"brittle/__init__.py": "raise ImportError('old')\n"}),
        Release("brittle", "2.0"),
        Release("helper-lib", "0.5", requires=["extra-dep; extra == 'fast'"]),
        Release("helper-lib", "0.9", requires=["extra-dep; extra == 'fast'"]),
        Release("extra-dep", "1.0"),
    )
    root = tmp_path / "p"
    library(root, ["acme-sdk>=1.0", "brittle>=1.0"], {"mylib/__init__.py": "import brittle\n"})
    project(
        root,
        index,
        pyproject="",
        settings="",
        integrations='[integrations.acme]\npackage = "acme-sdk"\nwith = ["helper-lib[fast]>=0.5"]\n',
        tests={
            "tests/test_acme.py": "import mylib\nimport acme_sdk\n\ndef test_acme():\n    assert acme_sdk.greet()\n"
        },
    )
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace("install-project = false", "install-project = true")
    )
    assert run(root, "run", "compat-acme-min") == 0, capsys.readouterr()
    result = stored(root)["min"]
    assert result.status is Status.PASSED
    assert "brittle==2.0" in result.freeze and "helper-lib==0.5" in result.freeze
    assert "extra-dep==1.0" in result.freeze  # the floor keeps the `with` entry's extra
    assert result.resolution == {
        "integration": "lowest-direct", "test-requires": "highest", "project": "highest",
    }  # fmt: skip


def test_declared_cap(index, tmp_path, capsys) -> None:
    index.add(
        *(acme(f"1.{m}.0") for m in range(4)), acme("1.4.0", "def greet():\n    return 'no'\n")
    )
    pyproject = (
        '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk>=1.0,<=1.2.0"]\n'
    )
    root = project(tmp_path / "p", index, pyproject=pyproject)
    assert run(root, "plan") == 0
    plan = capsys.readouterr().out
    assert f"compat-acme-max-{PY}" in plan and "1.2.0" in plan
    assert "beyond declared support: acme-sdk<=1.2.0,>=1.0" in plan
    assert run(root, "run", "--all") == 0  # the only failure is beyond the cap
    assert stored(root)["latest"].status is Status.FAILED
    assert run(root, "report") == 0
    data = json.loads((root / "docs/compatibility-matrix.json").read_text())["integrations"]["acme"]
    marks = {m["kind"]: m["text"] for m in data["marks"]}
    assert marks["cap-lift"] == "cap `<=1.2.0` could be lifted: 1.3.0 passes (1.4.0 fails)"
    assert data["status"] == "passed"
    assert run(root, "issues", "--dry-run") == 0


def test_cells_beyond_the_cap_install_with_the_project(index, tmp_path, capsys) -> None:
    """install-project = true (the default): the project's own cap would make every cell
    beyond it unresolvable; the cell's pin overrides it, says so, and the cap-lift mark
    appears."""
    index.add(
        *(acme(f"1.{m}.0") for m in range(4)),
        acme("1.4.0", "def greet():\n    return 'no'\n"),
        acme("1.5.0rc1"),
    )
    root = tmp_path / "p"
    library(root, ["acme-sdk>=1.0,<1.3"], {"mylib/__init__.py": "import acme_sdk\n"})
    project(
        root,
        index,
        pyproject="",
        settings="prereleases = true",
        tests={
            "tests/test_acme.py": "import mylib\n\n\ndef test_acme():\n    assert mylib.acme_sdk.greet() == 'hi'\n"
        },
    )
    config = root / "compat.toml"
    config.write_text(config.read_text().replace("install-project = false", ""))
    assert run(root, "run", "--all") == 0, capsys.readouterr()
    results = stored(root)
    assert results["max"].status is Status.PASSED and not results["max"].notes
    assert results["1.3"].status is Status.PASSED
    assert results["pre"].status is Status.PASSED and results["pre"].installed == "1.5.0rc1"
    latest = results["latest"]
    assert latest.status is Status.FAILED and not latest.in_declared_range
    note = (
        "installed with the project although it declares acme-sdk<1.3,>=1.0: the project's "
        "bound was overridden for this cell (beyond declared support)"
    )
    assert note in latest.notes and results["pre"].notes == [note]
    assert any(line.startswith("mylib @ ") or line.startswith("mylib==") for line in latest.freeze)
    assert run(root, "report") == 0
    data = json.loads((root / "docs/compatibility-matrix.json").read_text())["integrations"]["acme"]
    marks = {m["kind"]: m["text"] for m in data["marks"]}
    assert marks["cap-lift"] == "cap `<1.3` could be lifted: 1.3.0, 1.5.0rc1 pass (1.4.0 fails)"


def test_index_down_between_runs_keeps_the_verdicts(index, tmp_path, capsys, monkeypatch) -> None:
    index.add(acme("1.0.0"), acme("1.1.0"))
    root = project(tmp_path / "p", index)
    assert run(root, "run", "--all") == 0
    assert run(root, "report") == 0
    before = (root / "docs/compatibility-matrix.md").read_text()
    index.fail = True
    # The pages the last sweep saw stand in for the index: the cells are judged, and it says so.
    assert run(root, "run", "--all", "--rerun", "--refresh") == 0
    assert "using the cached index page" in capsys.readouterr().err
    # Without them, nothing can be judged: the verdicts are kept.
    monkeypatch.setenv("COMPAT_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert run(root, "run", "--all", "--rerun") == 2
    err = capsys.readouterr().err
    assert "the package index could not be reached" in err and "fix:" in err
    kept = stored(root)
    assert kept["min"].status is Status.PASSED and kept["min"].stale is not None
    assert run(root, "report") == 0
    after = (root / "docs/compatibility-matrix.md").read_text()
    grid = after.split("## acme")[1]
    assert (
        "1.0.0 ✅ stale" in grid
        and "1.1.0 ✅ stale" in grid
        and "❌" not in grid
        and "🚫" not in grid
    )
    assert before != after


def test_private_index_from_uv_configuration_only(index, tmp_path, monkeypatch, capsys) -> None:
    index.add(acme("1.0.0"))
    config_home = tmp_path / "xdg"
    (config_home / "uv").mkdir(parents=True)
    (config_home / "uv/uv.toml").write_text(f'[pip]\nindex-url = "{index.simple_url}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    root = project(tmp_path / "p", None)
    matrix = load(root / "compat.toml")
    assert matrix.settings.index.url == index.simple_url and not matrix.settings.index.explicit
    assert run(root, "run", "--all") == 0
    assert "--default-index" not in " ".join(stored(root)["latest"].log_tail.split())


def test_install_failures_say_whose_requirements(index, tmp_path, capsys) -> None:
    index.add(
        acme("1.0.0"),
        acme("1.1.0", requires=["missing-dependency>=1"]),
        acme("1.2.0", requires=["other-lib>=2"]),
        Release("other-lib", "1.0"),
        Release("other-lib", "2.0"),
    )
    root = project(tmp_path / "p", index, settings="")
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            'test-requires = ["pytest"]', 'test-requires = ["pytest", "other-lib<2"]'
        )
    )
    assert run(root, "run", "--all") == 2
    results = stored(root)
    own = results["1.1"]
    assert own.status is Status.INSTALL_FAILED
    assert own.message.startswith(
        "acme-sdk 1.1.0 cannot be installed on this index: its own requirements"
    )
    assert "missing-dependency" in own.message and not own.message.endswith("…")
    # 1.2.0 installs, but not with `other-lib<2` of test-requires: yours, not the upstream's.
    conflict = results["latest"]
    assert conflict.status is Status.ERROR
    assert conflict.message.startswith(
        "`other-lib<2` (`test-requires`) cannot be installed with acme-sdk 1.2.0"
    )
    assert "other-lib 2.0 installs with acme-sdk 1.2.0" in conflict.hint
    assert 'deps = { ">1.0.0" = ["other-lib<=2.0"], "<=1.0.0" = ["other-lib<2"] }' in conflict.hint


def test_a_test_requirement_that_needs_a_newer_upstream_is_yours(index, tmp_path, capsys) -> None:
    """The issue's case: `pytest>=8.0` declared, `test-requires = ["pytest-asyncio>=1,<2"]`
    (which needs pytest>=8.2): the min cell is ❗ with a fix found by a real resolution, not
    🚫 and never "raise the minimum"."""
    index.add(
        acme("1.0.0"),
        acme("1.1.0"),
        acme("1.2.0"),
        Release("acme-helper", "0.8", requires=["acme-sdk>=1.0"]),
        Release("acme-helper", "0.9", requires=["acme-sdk>=1.0"]),
        Release("acme-helper", "1.0", requires=["acme-sdk>=1.2"]),
    )
    root = project(tmp_path / "p", index)
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            'test-requires = ["pytest"]', 'test-requires = ["pytest", "acme-helper>=1,<2"]'
        )
    )
    assert run(root, "run", "--all") == 2
    results = stored(root)
    assert results["latest"].status is Status.PASSED
    for label in ("min", "1.1"):
        cell = results[label]
        assert cell.status is Status.ERROR, cell
        assert cell.message.startswith(
            f"`acme-helper>=1,<2` (`test-requires`) cannot be installed with acme-sdk "
            f"{cell.requested} — "
        )
        entry = 'deps = { "<1.2.0" = ["acme-helper<=0.9"], ">=1.2.0" = ["acme-helper>=1,<2"] }'
        assert f"acme-helper 0.9 installs with acme-sdk {cell.requested}" in cell.hint
        assert entry in cell.hint and "`acme-helper<2,>=0.9`" in cell.hint
    assert run(root, "report") == 0  # nothing incompatible
    grid = (root / "docs/compatibility-matrix.md").read_text().split("## acme")[1]
    assert "raise the minimum" not in grid and "🚫" not in grid and "1.0.0 ❗" in grid
    # The fix as the hint gives it: every cell installs and passes.
    config.write_text(
        config.read_text().replace('"acme-helper>=1,<2"]', "]")
        + '\ndeps = { "<1.2.0" = ["acme-helper<=0.9"], ">=1.2.0" = ["acme-helper>=1,<2"] }\n'
    )
    assert run(root, "run", "--all") == 0, capsys.readouterr()
    fixed = stored(root)
    assert {r.status for r in fixed.values()} == {Status.PASSED}
    assert "acme-helper==0.8" in fixed["min"].freeze  # min lowers `deps` too
    assert "acme-helper==0.9" in fixed["1.1"].freeze
    assert "acme-helper==1.0" in fixed["latest"].freeze


def test_unexpected_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch) -> None:
    import compat.cli

    root = project(tmp_path / "p", None)

    def boom(args):  # a bug anywhere below the boundary
        raise RuntimeError("kaput")

    monkeypatch.setattr(compat.cli, "load_plan", boom)
    assert run(root, "plan") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RuntimeError: kaput" in err and "--debug" in err
    assert main(["plan", "--debug", "--config", str(root / "compat.toml")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_broken_pipe_prints_no_traceback(index, tmp_path) -> None:
    index.add(*(acme(f"1.{m}.0") for m in range(30)))
    root = project(tmp_path / "p", index)
    done = subprocess.run(
        f"{sys.executable} -m compat plan --format json --config {root / 'compat.toml'} | head -c 10",
        shell=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr


def test_known_verdicts_survive_a_fresh_clone(index, tmp_path, capsys) -> None:
    index.add(acme("1.0.0"), acme("1.1.0"))
    root = project(tmp_path / "p", index)
    assert run(root, "run", "--all") == 0 and run(root, "report") == 0
    committed = (root / "docs/compatibility-matrix.md").read_text()
    import shutil

    shutil.rmtree(root / ".compat")  # a fresh clone has no results dir
    assert run(root, "report") == 0
    assert (root / "docs/compatibility-matrix.md").read_text() == committed
    assert len(load_known(load(root / "compat.toml")).results) == 2
    # ... and, as a CI runner that starts empty, reuses the committed verdicts.
    shutil.rmtree(root / ".compat")
    capsys.readouterr()
    assert run(root, "run", "--all") == 0
    assert "2 cell(s): 2 unchanged, 0 run" in capsys.readouterr().out


def test_each_cell_is_judged_by_its_own_tests(index, tmp_path, capsys) -> None:
    index.add(
        acme("1.0.0"),
        acme("1.1.0"),
        Release("beta-sdk", "1.0.0", modules={"beta_sdk/__init__.py": "VALUE = 1\n"}),
    )
    tests = {
        "tests/test_acme.py": SMOKE,
        "tests/test_beta.py": "import beta_sdk\n\n\ndef test_beta():\n    assert beta_sdk.VALUE\n",
    }
    integrations = (
        '[integrations.acme]\npackage = "acme-sdk"\n\n'
        '[integrations.beta]\npackage = "beta-sdk"\nmin = "1.0.0"\n'
    )
    root = project(tmp_path / "p", index, integrations=integrations, tests=tests)
    assert run(root, "run", "--all") == 0
    results = load_all(root / ".compat/results").results
    acme_min = results[f"compat-acme-min-{PY}"]
    assert acme_min.status is Status.PASSED and acme_min.tests["passed"] == 1
    assert any("tests/test_beta.py" in note and "beta_sdk" in note for note in acme_min.notes)
    assert results[f"compat-beta-min-{PY}"].status is Status.PASSED
    # A collection error in the cell's own tests still fails it.
    (root / "tests/test_acme.py").write_text(
        "import acme_sdk.gone\n\n\ndef test_acme():\n    pass\n"
    )
    assert run(root, "run", "compat-acme-min") == 1
    failed = load_all(root / ".compat/results").results[f"compat-acme-min-{PY}"]
    assert failed.status is Status.FAILED and "acme_sdk.gone" in failed.failures[0].message


DEPRECATING = """\
import warnings
from warnings import warn


def old():
    warn("old() is deprecated, use new()", DeprecationWarning, stacklevel=2)
    return 1


class Client:
    def __init__(self):
        old()  # the upstream's own use of its deprecated API


def greet():
    return "hi"
"""


def test_deprecations_are_attributed(index, tmp_path, capsys) -> None:
    index.add(acme("1.0.0", DEPRECATING), acme("1.1.0", DEPRECATING))
    tests = {
        "tests/conftest.py": "import acme_sdk  # imports the upstream before any plugin hook\n",
        "tests/test_acme.py": (
            "import acme_sdk\n\n\ndef test_client():\n    acme_sdk.Client()\n\n\n"
            "def test_old():\n    assert acme_sdk.old() == 1\n"
        ),
    }
    root = project(tmp_path / "p", index, tests=tests)
    assert run(root, "run", "--all") == 0
    result = stored(root)["latest"]
    assert result.status is Status.DEPRECATED
    by = {d.attribution: d for d in result.deprecations}
    assert by["usage"].source == "tests/test_acme.py:9"  # the test calls old()
    assert by["internal"].source.endswith("acme_sdk/__init__.py:12")  # Client() calls old()
    # Only the upstream's own use: recorded and shown, not ⚠️ (unless asked for).
    (root / "tests/test_acme.py").write_text(
        "import acme_sdk\n\n\ndef test_client():\n    acme_sdk.Client()\n"
    )
    assert run(root, "run", "--all") == 0
    quiet = stored(root)["latest"]
    assert quiet.status is Status.PASSED and [d.attribution for d in quiet.deprecations] == [
        "internal"
    ]
    assert run(root, "report") == 0
    assert "upstream-internal, not counted" in (root / "docs/compatibility-matrix.md").read_text()
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            "install-project = false", 'install-project = false\ndeprecations = "all"'
        )
    )
    assert run(root, "run", "--all") == 0
    assert stored(root)["latest"].status is Status.DEPRECATED


def test_unresolvable_test_requires_are_an_error_not_a_red_cell(index, tmp_path, capsys) -> None:
    index.add(acme("1.0.0"), acme("1.1.0"))
    root = project(tmp_path / "p", index)
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            'test-requires = ["pytest"]', 'test-requires = ["pytest", "no-such-helper==9.9"]'
        )
    )
    assert run(root, "run", "--all") == 2
    results = load_all(root / ".compat/results").results.values()
    assert {r.status for r in results} == {Status.ERROR}
    assert all("test-requires" in r.hint for r in results)
    assert all("no-such-helper" in r.message for r in results)
    assert run(root, "issues", "--dry-run") == 0  # nothing filed upstream


def test_an_upstream_that_breaks_pytest_start_up_is_red(index, tmp_path, capsys) -> None:
    """A pytest plugin (from test-requires) imports the upstream, which fails to import on
    this Python: pytest cannot start, and it is the upstream's doing."""
    broken = "import cgi_removed_in_this_python  # noqa\n"
    index.add(
        acme("1.0.0"),
        acme("1.1.0", broken),
        Release(
            "acme-pytest",
            "1.0",
            modules={"acme_pytest/__init__.py": "import acme_sdk\n"},
            entry_points={"pytest11": {"acme": "acme_pytest"}},
        ),
    )
    root = project(tmp_path / "p", index)
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            'test-requires = ["pytest"]', 'test-requires = ["pytest", "acme-pytest"]'
        )
    )
    assert run(root, "run", "--all") == 1
    results = stored(root)
    assert results["min"].status is Status.PASSED
    assert results["latest"].status is Status.FAILED
    assert "acme-sdk 1.1.0 fails before any test runs (in `acme_sdk`)" in results["latest"].message
    assert "cgi_removed_in_this_python" in results["latest"].message
