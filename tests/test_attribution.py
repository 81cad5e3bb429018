"""Whose fault, read across an integration's cells (real uv, pytest and the local index):
a dependency the upstream stopped installing is its break, a failure common to every
version is yours; the import hints name distributions; no absolute path is kept."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release
from projects import library
from test_verdicts import PY, acme, project, run, stored

from compat.results import Status, load_all, read

TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")
USES_TRANSPORT = "import acme_transport\n\n\ndef greet():\n    return acme_transport.NAME\n"


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_installed(*TOOLS)
    return index_server


def transport(version: str, body: str = "NAME = 'hi'\n") -> Release:
    return Release("acme-transport", version, modules={"acme_transport/__init__.py": body})


def installed_project(root, index, modules: dict[str, str], tests: dict[str, str], **kw):
    """A project installed into its cells (install-project = true) that declares only
    ``acme-sdk>=1.0``."""
    library(root, ["acme-sdk>=1.0"], modules)
    project(root, index, pyproject="", tests=tests, **kw)
    config = root / "compat.toml"
    config.write_text(config.read_text().replace("install-project = false", ""))
    return root


def test_a_dependency_the_upstream_stopped_installing_is_its_break(index, tmp_path) -> None:
    """The issue's case: the library imports a transport it never declared (acme-sdk pulled
    it in); acme-sdk 2.0.0 no longer does. Users installing 2.0.0 break: red, explained —
    whether the import fails in a conftest (pytest never reports) or in a test module."""
    index.add(
        acme("1.0.0", requires=["acme-transport"]),
        acme("1.1.0", requires=["acme-transport"]),
        acme("2.0.0"),
        transport("1.0"),
    )
    root = installed_project(
        tmp_path / "p",
        index,
        {"mylib/__init__.py": "", "mylib/client.py": USES_TRANSPORT},
        {
            "tests/conftest.py": "import mylib.client\n",
            "tests/test_acme.py": "import mylib.client\n\n\ndef test_acme():\n    assert mylib.client.greet() == 'hi'\n",
        },
    )
    assert run(root, "run", "--all") == 1
    results = stored(root)
    assert results["min"].status is Status.PASSED and results["1.1"].status is Status.PASSED
    latest = results["latest"]
    assert latest.status is Status.FAILED and latest.counts_against
    assert latest.message == (
        "your code (`mylib/client.py`) imports `acme_transport`, which acme-sdk 1.1.0 installed "
        "and 2.0.0 no longer does: declare it (add `acme-transport` to your dependencies)"
    )
    assert "check `tests`" not in latest.hint
    # The same when a test module imports it (a collection error): the two agree.
    (root / "tests/conftest.py").unlink()
    assert run(root, "run", "compat-acme-latest") == 1
    again = stored(root)["latest"]
    assert again.status is Status.FAILED and again.message == latest.message


def test_a_moved_name_and_a_missing_module_agree(index, tmp_path) -> None:
    """acme-sdk 2.0.0 requires acme-transport 2, which no longer has ``Session``: what your
    code imports from it went away with the upstream's change, as red as a dropped module."""
    index.add(
        acme("1.0.0", requires=["acme-transport<2"]),
        acme("2.0.0", requires=["acme-transport>=2"]),
        transport("1.0", "class Session:\n    pass\n"),
        transport("2.0", "class Client:\n    pass\n"),
    )
    root = installed_project(
        tmp_path / "p",
        index,
        {"mylib/__init__.py": "from acme_transport import Session\n"},
        {
            "tests/conftest.py": "import mylib\n",
            "tests/test_acme.py": "def test_acme():\n    pass\n",
        },
    )
    assert run(root, "run", "--all") == 1
    latest = stored(root)["latest"]
    assert latest.status is Status.FAILED
    assert latest.message == (
        "your code (`mylib/__init__.py`) imports `Session` from `acme_transport`, which "
        "acme-transport 1.0 (installed with acme-sdk 1.0.0) has and acme-transport 2.0 "
        "(installed with acme-sdk 2.0.0) does not: declare the versions of acme-transport your "
        "code works with (`acme-transport<2.0`)"
    )


def test_missing_module_hints_name_the_distribution(index, tmp_path) -> None:
    """A module that no cell has: not installed (the hint names the distribution that
    provides it), or installed without it (the fix is a bound) — both yours, never red."""
    index.add(
        acme("1.0.0", requires=["acme-transport"]), acme("1.1.0", requires=["acme-transport"])
    )
    index.add(transport("1.0"))
    root = project(
        tmp_path / "p",
        index,
        tests={
            "tests/conftest.py": "import yaml\n",
            "tests/test_acme.py": "def test_acme():\n    pass\n",
        },
    )
    assert run(root, "run", "--all") == 2
    for result in stored(root).values():
        assert result.status is Status.ERROR
        assert result.message.startswith(
            "`tests/conftest.py` (your tests) imports `yaml`, which is not installed in the cell"
        )
        assert result.hint == "add `PyYAML` (it provides `yaml`) to `test-requires`"
    (root / "tests/conftest.py").write_text("import acme_transport.legacy\n")
    assert run(root, "run", "--all") == 2
    for result in stored(root).values():
        assert result.status is Status.ERROR
        assert result.message.startswith(
            "`tests/conftest.py` (your tests) imports `acme_transport.legacy`, which "
            "acme-transport 1.0 (installed) does not have"
        )
        assert result.hint.startswith(
            "acme-transport 1.0 is installed, but without `acme_transport.legacy`"
        )
    # A module named like a distribution on the index: that one is named.
    index.add(Release("acme-helper", "1.0"))
    (root / "tests/conftest.py").write_text("import acme_helper\n")
    assert run(root, "run", "--all") == 2
    assert stored(root)["min"].hint == (
        "add `acme-helper` (the distribution of that name on the index; check that it "
        "provides `acme_helper`) to `test-requires`"
    )
    (root / "tests/conftest.py").write_text("import nowhere_to_be_found\n")
    assert run(root, "run", "--all") == 2
    assert stored(root)["min"].hint == (
        "add the distribution that provides `nowhere_to_be_found` to `test-requires`"
    )


ASYNC_TESTS = """\
import acme_sdk


async def test_greet():
    assert acme_sdk.greet() == "hi"


async def test_other():
    assert True
"""


def test_a_failure_on_every_version_is_yours(index, tmp_path, capsys) -> None:
    """Async tests without their plugin fail alike on every version: ❗ with the common
    error, stored so that the docs JSON's red verdict of the same run does not win."""
    index.add(acme("1.0.0"), acme("1.1.0"))
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": ASYNC_TESTS})
    assert run(root, "run", "--all") == 2
    results = stored(root)
    for result in results.values():
        assert result.status is Status.ERROR and result.observed is not None
        assert result.observed.status is Status.FAILED
        assert result.message.startswith(
            "fails on every tested version: your tests or configuration — the same 2 failure(s) "
            "on acme-sdk 1.0.0, 1.1.0: "
        )
        assert "async def functions are not natively supported" in result.message
        assert "pytest-asyncio" in result.hint
    captured = capsys.readouterr()
    out = captured.out
    assert "fails on every tested version" in out and "2 could not be judged (error)" in out
    assert (
        "❌ → ❗ error" in captured.err
        and "(read with the integration's other cells)" in captured.err
    )
    assert run(root, "report") == 0
    data = json.loads((root / "docs/compatibility-matrix.json").read_text())
    assert {c["status"] for c in data["integrations"]["acme"]["cells"]} == {"error"}
    grid = (root / "docs/compatibility-matrix.md").read_text().split("## acme")[1]
    assert "1.0.0 ❗" in grid and "❌" not in grid
    # The run again (nothing changed): the committed docs JSON holds the error, the store too.
    assert run(root, "run", "--all") == 2
    assert run(root, "report") == 0
    assert {c["status"] for c in json.loads(
        (root / "docs/compatibility-matrix.json").read_text()
    )["integrations"]["acme"]["cells"]} == {"error"}  # fmt: skip


def test_cells_run_apart_are_read_together_when_merged(index, tmp_path) -> None:
    """CI runs each group of cells in its own job: `compat report --merge` reads their
    artifacts together, as one sweep would."""
    index.add(acme("1.0.0"), acme("1.1.0"))
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": ASYNC_TESTS})
    artifacts = []
    for label in ("min", "latest"):  # two jobs, each with a checkout of its own
        job = tmp_path / f"job-{label}"
        shutil.copytree(root, job)
        assert run(job, "run", f"compat-acme-{label}-{PY}") == 1  # alone: a red cell
        artifacts.append(str(job / ".compat/results"))
    assert run(root, "report", "--merge", *artifacts) == 0
    assert {r.status for r in stored(root).values()} == {Status.ERROR}


def test_a_version_that_passes_gives_the_others_their_red_back(index, tmp_path) -> None:
    """Stored errors of a common failure become red again when a new version passes."""
    index.max_age = 0  # the plan sees the new release at once
    index.add(acme("1.0.0"), acme("1.1.0"))
    hello = "import acme_sdk\n\n\ndef test_acme():\n    assert acme_sdk.greet() == 'hello'\n"
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": hello})
    assert run(root, "run", "--all") == 2
    assert {r.status for r in stored(root).values()} == {Status.ERROR}
    index.add(acme("1.2.0", "def greet():\n    return 'hello'\n"))
    assert run(root, "run", "compat-acme-latest") == 0  # only 1.2.0 runs (and passes)
    results = stored(root)
    assert results["latest"].status is Status.PASSED and results["latest"].requested == "1.2.0"
    assert results["min"].status is Status.FAILED and results["min"].observed is None
    assert results["min"].message == "" and "hello" in results["min"].failures[0].message


def test_no_absolute_paths_in_results(index, tmp_path) -> None:
    index.add(acme("1.0.0"), acme("1.1.0", "def greet():\n    return open(__file__ + '.gone')\n"))
    tests = {
        "tests/test_acme.py": (
            "from pathlib import Path\nimport acme_sdk\n\n\n"
            "def test_acme():\n    acme_sdk.greet()\n    Path(__file__).with_name('data.json').read_text()\n"
        )
    }
    root = project(tmp_path / "p", index, tests=tests)
    assert run(root, "run", "--all") == 1
    venvs = root / ".compat/venvs"
    for path in sorted((root / ".compat/results").glob("*.json")):
        result = read(path)
        public = json.dumps(result.to_dict(public=True))
        assert str(root) not in public and str(root.resolve()) not in public, public
        assert str(venvs) not in result.log_tail and sys.prefix not in public
    failures = {r.label: r.failures for r in load_all(root / ".compat/results").results.values()}
    assert "tests/data.json" in failures["min"][0].message
    assert "<venv>/" in failures["latest"][0].message and "acme_sdk/__init__.py.gone" in (
        failures["latest"][0].message
    )


def test_a_dependency_of_yours_that_excludes_the_upstream(index, tmp_path) -> None:
    """A conflict with the project's own dependencies or a `with` entry is an error naming
    it, with a wider bound that a real resolution found."""
    index.add(
        acme("1.0.0"),
        acme("1.1.0", requires=["other-lib>=2"]),
        Release("other-lib", "1.0"),
        Release("other-lib", "2.0"),
        Release("acme-tools", "1.0", requires=["acme-sdk<1.1"]),
        Release("acme-tools", "2.0", requires=["acme-sdk>=1.1"]),
    )
    root = tmp_path / "p"
    library(root, ["acme-sdk>=1.0", "other-lib<2"], {"mylib/__init__.py": ""})
    project(root, index, pyproject="")
    config = root / "compat.toml"
    config.write_text(config.read_text().replace("install-project = false", ""))
    assert run(root, "run", "--all") == 2
    latest = stored(root)["latest"]
    assert latest.status is Status.ERROR
    assert latest.message.startswith(
        "`other-lib<2` (your dependencies (pyproject.toml)) cannot be installed with acme-sdk "
        "1.1.0 — "
    )
    assert latest.hint.startswith(
        "other-lib 2.0 installs with acme-sdk 1.1.0: widen your bound to `other-lib<=2.0`"
    )
    assert str(root) not in latest.message + latest.hint
    # A `with` entry that needs a newer upstream than the floor.
    shutil.rmtree(root / ".compat")
    library(root, ["acme-sdk>=1.0"], {"mylib/__init__.py": ""})
    config.write_text(config.read_text() + 'with = ["acme-tools>=2"]\n')
    assert run(root, "run", "--all") == 2
    low = stored(root)["min"]
    assert low.status is Status.ERROR
    assert low.message.startswith(
        "`acme-tools>=2` (`with` of [integrations.acme]) cannot be installed with acme-sdk 1.0.0"
    )
    assert low.hint == (
        "acme-tools 1.0 installs with acme-sdk 1.0.0: require it by version range — move it "
        'from `with` to `deps = { "<1.1.0" = '
        '["acme-tools<=1.0"], ">=1.1.0" = ["acme-tools>=2"] }` in [integrations.acme] — '
        "or widen it to `acme-tools>=1.0` if your tests work with both"
    )


def test_a_project_that_cannot_be_built_is_yours(index, tmp_path) -> None:
    index.add(acme("1.0.0"), acme("1.1.0"))
    root = installed_project(tmp_path / "p", index, {"mylib/__init__.py": ""}, {})
    backend = root / "_build/backend.py"
    backend.write_text(
        backend.read_text().replace(
            "def build_wheel(",
            "def build_wheel(*a, **k):\n    raise RuntimeError('no wheel today')\n\n\ndef _unused(",
        )
    )
    assert run(root, "run", "--all") == 2
    for result in stored(root).values():
        assert result.status is Status.ERROR
        assert result.message.startswith("the project itself could not be built or installed — ")
        assert "no wheel today" in result.message and str(root) not in result.message
        assert "fix the project's build" in result.hint


def test_a_distribution_that_cannot_be_built_is_whose_requirement_pulls_it(index, tmp_path) -> None:
    """An sdist that does not build: the upstream's when its own requirements need it,
    yours when only your test-requires do."""
    index.add(
        acme("1.0.0"),
        acme("1.1.0", requires=["brick"]),
        Release("brick", "1.0", sdist_only=True),  # no build backend: uv cannot build it
        Release("helper", "1.0", requires=["brick"]),
    )
    root = project(tmp_path / "p", index)
    assert run(root, "run", "--all") == 1
    upstream = stored(root)["latest"]
    assert upstream.status is Status.INSTALL_FAILED  # acme-sdk 1.1.0 needs it
    assert upstream.message.startswith(
        f"brick 1.0, which acme-sdk 1.1.0 requires, cannot be built on Python {PY} — "
    )
    assert str(Path.home()) + "/" not in upstream.message
    assert stored(root)["min"].status is Status.PASSED
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            'test-requires = ["pytest"]', 'test-requires = ["pytest", "helper"]'
        )
    )
    shutil.rmtree(root / ".compat")
    assert run(root, "run", "--all") == 2
    low = stored(root)["min"]
    assert low.status is Status.ERROR
    assert low.message.startswith(
        f"brick 1.0, which your requirements need (not acme-sdk 1.0.0), cannot be built on Python {PY}"
    )
    assert low.hint.startswith("bound brick in the requirement that pulls it in")
    assert stored(root)["latest"].status is Status.INSTALL_FAILED
