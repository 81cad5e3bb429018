"""The pure rules of ``compat.attribution`` and how the store keeps re-read verdicts, as
tables of cases."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from compat.attribution import (
    common_failures,
    dropped_dependencies,
    known_distribution,
    missing_import,
    reattribute,
    shown,
)
from compat.results import Failure, Observed, Result, ResultError, Status, read, save

CONFTEST = """\
ImportError while loading conftest '/p/tests/conftest.py'.
tests/conftest.py:1: in <module>
    import mylib
<venv>/lib/python3.12/site-packages/mylib/__init__.py:3: in <module>
    import h11
E   ModuleNotFoundError: No module named 'h11'
"""
PLAIN_TRACEBACK = """\
Traceback (most recent call last):
  File "<venv>/lib/python3.9/site-packages/_pytest/config/__init__.py", line 1, in import_plugin
    __import__(importspec)
  File "<venv>/lib/python3.9/site-packages/mylib/plugin.py", line 2, in <module>
    from httpx._transports import Transport
ImportError: cannot import name 'Transport' from 'httpx._transports' (<venv>/lib/python3.9/site-packages/httpx/_transports/__init__.py)
"""


@pytest.mark.parametrize(
    ("text", "module", "name", "importer"),
    [
        (CONFTEST, "h11", "", "<venv>/lib/python3.12/site-packages/mylib/__init__.py"),
        (PLAIN_TRACEBACK, "httpx._transports", "Transport", "<venv>/lib/python3.9/site-packages/mylib/plugin.py"),
        ("E   ModuleNotFoundError: No module named 'yaml'\n", "yaml", "", ""),
        ("tests/test_a.py:1: in <module>\n    import x\nE   ModuleNotFoundError: No module named 'x.y'", "x.y", "", "tests/test_a.py"),
    ],
)  # fmt: skip
def test_missing_import(text, module, name, importer) -> None:
    found = missing_import(text)
    assert found is not None
    assert (found.module, found.name, found.importer) == (module, name, importer)


def test_no_missing_import() -> None:
    assert missing_import("E   AssertionError: assert 1 == 2\n") is None


@pytest.mark.parametrize(
    ("module", "dist"),
    [("yaml", "PyYAML"), ("yaml.constructor", "PyYAML"), ("google.protobuf.message", "protobuf"),
     ("PIL.Image", "Pillow"), ("h11", None), ("google.auth", None)],
)  # fmt: skip
def test_known_distribution(module, dist) -> None:
    assert known_distribution(module) == dist


def test_shown_hides_the_machine_paths() -> None:
    paths = {"/work/p": ".", "/work/p/.compat/venvs/a-min-3.12": "<venv>", "/usr/py": "<python>"}
    text = (
        "FileNotFoundError: '/work/p/tests/data.json' from "
        "/work/p/.compat/venvs/a-min-3.12/lib/x.py and /usr/py/lib/os.py; mylib @ file:///work/p"
    )
    assert shown(text, paths) == (
        "FileNotFoundError: 'tests/data.json' from <venv>/lib/x.py and <python>/lib/os.py; "
        "mylib @ ."
    )


def cell(label: str, version: str, status: Status, failures=(), python="3.12", **kw) -> Result:
    counts = {"passed": 0, "failed": len(failures), "skipped": 0, "errors": 0}
    return Result(
        session=f"compat-acme-{label}-{python}", integration="acme", label=label,
        package="acme-sdk", requested=version, python=python, status=status,
        installed=version, tests=counts, failures=list(failures), started="2026-01-01T00:00:00Z",
        **kw,
    )  # fmt: skip


ASYNC = Failure(
    "tests/test_a.py::test_x", "Failed: async def functions are not natively supported."
)
OTHER = Failure("tests/test_a.py::test_y", "AssertionError: assert 1 == 2")


@pytest.mark.parametrize(
    ("cells", "yours"),
    [
        # every version fails the same: yours
        ([cell("min", "1.0", Status.FAILED, [ASYNC]), cell("latest", "2.0", Status.FAILED, [ASYNC])],
         {"min", "latest"}),
        # ... on every Python too, an install failure aside
        ([cell("min", "1.0", Status.FAILED, [ASYNC]), cell("min", "1.0", Status.FAILED, [ASYNC], "3.11"),
          cell("1.5", "1.5", Status.INSTALL_FAILED), cell("latest", "2.0", Status.FAILED, [ASYNC])],
         {"min", "latest"}),
        # one version only: nothing to compare
        ([cell("min", "1.0", Status.FAILED, [ASYNC]), cell("min", "1.0", Status.FAILED, [ASYNC], "3.11")],
         set()),
        # one version passes: the failure is the upstream's
        ([cell("min", "1.0", Status.PASSED), cell("latest", "2.0", Status.FAILED, [ASYNC]),
          cell("1.5", "1.5", Status.FAILED, [ASYNC])], set()),
        # different failures
        ([cell("min", "1.0", Status.FAILED, [ASYNC]), cell("latest", "2.0", Status.FAILED, [ASYNC, OTHER])],
         set()),
        # a bisect probe does not decide
        ([cell("min", "1.0", Status.FAILED, [ASYNC]), cell("latest", "2.0", Status.FAILED, [ASYNC]),
          cell("bisect-1.5", "1.5", Status.PASSED)], {"min", "latest"}),
        # failures without a test list (pytest exited): nothing common to name
        ([cell("min", "1.0", Status.FAILED), cell("latest", "2.0", Status.FAILED)], set()),
    ],
)  # fmt: skip
def test_common_failures(cells, yours) -> None:
    changed = common_failures(cells)
    assert {r.label for r in changed} == yours
    for result in changed:
        assert result.status is Status.ERROR and result.observed == Observed(Status.FAILED, "", "")
        assert result.message.startswith(
            "fails on every tested version: your tests or configuration"
        )
        assert "pytest-asyncio" in result.hint


def test_common_failures_are_given_back() -> None:
    cells = [
        cell("min", "1.0", Status.FAILED, [OTHER]),
        cell("latest", "2.0", Status.FAILED, [OTHER]),
    ]
    yours = common_failures(cells)
    assert [r.status for r in yours] == [Status.ERROR, Status.ERROR]
    assert common_failures(yours) == []  # stable: read again, nothing changes
    now = [yours[0], cell("latest", "2.1", Status.PASSED)]
    back = common_failures(now)
    assert [(r.label, r.status, r.observed, r.failures) for r in back] == [
        ("min", Status.FAILED, None, [OTHER])
    ]


def freeze(*pins: str) -> list[str]:
    return ["acme-sdk==x", "pytest==9.0", *pins]


def test_dropped_dependency_needs_a_passing_cell_that_had_it() -> None:
    asked = []

    def provides(dist, version, module, name=""):
        asked.append((dist, version, module, name))
        return dist == "h11" and module == "h11"

    good = cell("min", "1.0", Status.PASSED, freeze=freeze("h11==0.14", "anyio==4"))
    bad = cell(
        "latest", "2.0", Status.ERROR, freeze=freeze(),
        message="`mylib/client.py` (your code) imports `h11`, which is not installed in the cell: "
        "ModuleNotFoundError: No module named 'h11'",
    )  # fmt: skip
    [changed] = dropped_dependencies([good, bad], provides)
    assert changed.status is Status.FAILED and changed.hint == ""
    assert changed.message == (
        "your code (`mylib/client.py`) imports `h11`, which acme-sdk 1.0 installed and 2.0 no "
        "longer does: declare it (add `h11` to your dependencies)"
    )
    assert ("h11", "0.14", "h11", "") in asked
    # No passing cell had it: not the upstream's doing.
    assert dropped_dependencies([bad, replace(good, freeze=freeze("anyio==4"))], provides) == []
    # Read again after the change: stable.
    assert dropped_dependencies([good, changed], provides) == []


def test_dropped_dependency_of_the_tests_goes_to_test_requires() -> None:
    good = cell("min", "1.0", Status.PASSED, freeze=freeze("pyyaml==6.0"))
    bad = cell(
        "latest", "2.0", Status.ERROR, freeze=freeze(),
        message="`tests/conftest.py` (your tests) imports `yaml`, which is not installed in the "
        "cell: ModuleNotFoundError: No module named 'yaml'",
    )  # fmt: skip
    [changed] = reattribute([good, bad], lambda d, v, m, n="": d == "pyyaml")
    assert changed.message == (
        "your tests (`tests/conftest.py`) import `yaml`, which acme-sdk 1.0 installed and 2.0 no "
        "longer does: declare it (add `pyyaml` to `test-requires`)"
    )


def test_an_unreadable_release_falls_back_to_the_name() -> None:
    good = cell("min", "1.0", Status.PASSED, freeze=freeze("h11==0.14", "anyio==4"))
    bad = cell(
        "latest",
        "2.0",
        Status.FAILED,
        [Failure("tests/test_a.py", "ModuleNotFoundError: No module named 'h11'")],
        freeze=freeze(),
    )
    [changed] = dropped_dependencies([good, bad], lambda *a: None)
    assert changed.message.startswith("your code imports `h11`, which acme-sdk 1.0 installed")


def test_the_store_keeps_a_re_read_verdict(tmp_path) -> None:
    """An error that re-reads a run replaces that run's red verdict; a plain error beside a
    judged verdict of the same version only marks it stale."""
    red = cell("min", "1.0", Status.FAILED, [OTHER])
    save(red, tmp_path)
    [yours, _] = common_failures([red, cell("latest", "2.0", Status.FAILED, [OTHER])])
    path = save(yours, tmp_path)
    kept = read(path)
    assert kept.status is Status.ERROR and kept.observed == Observed(Status.FAILED, "", "")
    unjudged = replace(
        red, status=Status.ERROR, message="index down", started="2026-02-01T00:00:00Z"
    )
    save(red, tmp_path)
    assert read(save(unjudged, tmp_path)).status is Status.FAILED  # stale, kept


def test_observed_is_checked_when_read(tmp_path) -> None:
    data = cell("min", "1.0", Status.ERROR).to_dict()
    data["observed"] = {"status": "exploded", "message": "", "hint": ""}
    path = tmp_path / "compat-acme-min-3.12.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match="observed: unknown status 'exploded'"):
        read(path)


PYTEST_CRASH = """\
Traceback (most recent call last):
  File "<venv>/lib/python3.12/site-packages/_pytest/assertion/rewrite.py", line 359, in _rewrite_test
    co = compile(tree, fn_, "exec", dont_inherit=True)
TypeError: required field "lineno" missing from alias
"""
PLUGIN = """\
Error while loading plugin "mylib".
<venv>/lib/python3.12/site-packages/mylib/__init__.py:1: in <module>
    import h11
E   ModuleNotFoundError: No module named 'h11'
"""


@pytest.mark.parametrize(
    ("code", "text", "owners", "status", "message", "hint"),
    [
        (1, PYTEST_CRASH, {"_pytest": ["pytest"]}, Status.FAILED,
         "pytest 6.1.0 fails before any test runs (in `_pytest`): TypeError: required field", ""),
        (1, PYTEST_CRASH, {}, Status.FAILED, "pytest did not finish (exit code 1): TypeError", ""),
        (3, PLUGIN, {"mylib": ["mylib"]}, Status.ERROR,
         "`mylib/__init__.py` (your code) imports `h11`, which is not installed in the cell", "add the distribution that provides `h11` to your dependencies"),
        (4, "ERROR: usage: pytest [options]\nerror: unrecognized arguments: --bogus\n", {}, Status.ERROR,
         "pytest could not run (exit code 4): error: unrecognized arguments: --bogus",
         "check `tests` (tests), `select` and your pytest configuration"),
        (4, CONFTEST, {"mylib": ["mylib"], "h11": ["h11"]}, Status.ERROR,
         "`mylib/__init__.py` (your code) imports `h11`, which h11 0.14 (installed) does not have", "h11 0.14 is installed, but without `h11`"),
    ],
)  # fmt: skip
def test_verdict_without_a_report(tmp_path, code, text, owners, status, message, hint) -> None:
    from compat import procs
    from compat.attribution import Installed, verdict
    from compat.matrix import load

    (tmp_path / "tests").mkdir()
    (tmp_path / "compat.toml").write_text(
        '[settings]\ntests = ["tests"]\n\n[integrations.pytest]\npackage = "pytest"\nmin = "6.1.0"\n'
    )
    result = cell("min", "6.1.0", Status.NOT_APPLICABLE, freeze=["pytest==6.1.0", "h11==0.14"])
    result.integration, result.package = "pytest", "pytest"
    installed = Installed(owners, ("pytest",), "mylib")
    verdict(result, None, procs.Output(code, text), load(tmp_path / "compat.toml"), installed)
    assert result.status is status
    assert result.message.startswith(message), result.message
    assert result.hint.startswith(hint), result.hint
