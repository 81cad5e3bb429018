"""The generated runtime-notices module: its text, its comparator, and real installations.

The end-to-end tests build uv virtualenvs from the local test index with the invented
upstream ``acme-sdk`` at a known-bad, a good and an untested version, and run the generated
module there — a Python without nox-compat, packaging or anything but the standard library.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from packaging.version import Version
from pkgindex import IndexServer, Release

from compat.notices import NoticesError, render, update_file
from compat.support import KnownIssue, Support, Upcoming

REASON = "AttributeError: 'Agent' object has no attribute 'run'"
ACME = Support(
    integration="acme",
    package="acme-sdk",
    declared=">=1.0.0",
    lowest_passing="1.0.0",
    highest_passing="1.3.0",
    last_tested="1.3.0",
    last_tested_on="2026-11-25",
    pythons=("3.11",),
    passing=("1.0.0", "1.1.2", "1.3.0"),
    known_issues=(
        KnownIssue("1.1.0", "deprecated", "DeprecationWarning: greet() is deprecated", ("3.11",)),
        KnownIssue("1.2.0", "failed", f"tests/test_smoke.py::test_agent: {REASON}", ("3.11",)),
    ),
    next_breaking=(
        Upcoming("2.0.0rc1", "TypeError: Client() takes no arguments", "prerelease cell"),
        Upcoming("1.4.0", "release notes: removes greet()", "release alert"),
    ),
)


def load(source: str, tmp_path: Path, installed: str | None):
    """The generated module imported here, with the installed version stubbed."""
    path = tmp_path / "_compat_notices.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"notices_{abs(hash(source))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._installed = lambda package: installed
    return module


def check(module, name: str = "acme", **kwargs) -> tuple[str | None, list]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message = module.check(name, **kwargs)
    return message, caught


# -- the generated text ------------------------------------------------------------------------


def test_the_module_is_stdlib_only_python38_and_formatter_stable(tmp_path: Path):
    source = render([ACME], category="RuntimeWarning")
    tree = ast.parse(source, feature_version=(3, 8))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert imported <= {"__future__", "warnings", "importlib", "re", "builtins", "os", "sys"}
    assert 'CATEGORY = "RuntimeWarning"' in source
    assert render([ACME], category="RuntimeWarning") == source  # deterministic
    path = tmp_path / "notices.py"
    path.write_text(source)
    ruff = shutil.which("ruff")
    if ruff:
        for length in ("79", "88", "100"):
            result = subprocess.run(
                [ruff, "format", "--check", "--line-length", length, "--no-cache", str(path)],
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stdout + result.stderr


def test_facts_known_bad_versions_and_advice(tmp_path: Path):
    module = load(render([ACME]), tmp_path, None)
    facts = module.TESTED["acme"]
    assert facts["passing"] == ("1.0.0", "1.1.2", "1.3.0")
    assert facts["known_bad"] == {
        "1.2.0": (f"tests/test_smoke.py::test_agent: {REASON}", "1.1.2 or >= 1.3.0"),
        "2.0.0rc1": ("TypeError: Client() takes no arguments", "1.3.0"),  # a failing pre cell
    }  # deprecated 1.1.0 warns by itself; an untested release alert is no verdict


@pytest.mark.parametrize(
    ("passing", "advice"),
    [
        (("1.0.0", "1.1.2", "1.3.0"), "1.1.2 or >= 1.3.0"),
        (("1.0.0", "1.1.2"), "1.1.2"),
        (("1.3.0", "1.4.0"), ">= 1.3.0"),
        ((), ""),
    ],
)
def test_advice_names_the_passing_versions_around_the_bad_one(tmp_path, passing, advice):
    facts = Support(**{**ACME.__dict__, "passing": passing, "next_breaking": ()})
    module = load(render([facts]), tmp_path, None)
    assert module.TESTED["acme"]["known_bad"]["1.2.0"][1] == advice


@pytest.mark.parametrize(
    "category", ["", "Warning()", "ValueError", "NotAThing", "mylib..Warn", "1abc"]
)
def test_bad_categories_are_refused(category):
    with pytest.raises(NoticesError, match="warning category"):
        render([ACME], category=category)


def test_outside_text_cannot_break_the_module(tmp_path: Path):
    nasty = KnownIssue("1.2.0", "failed", 'x"""\\\n\x1b[31m"; import os; os.exit(1) #', ())
    facts = Support(**{**ACME.__dict__, "known_issues": (nasty,)})
    module = load(render([facts], module_doc='Doc """ with \\ backslash'), tmp_path, "1.2.0")
    message, _ = check(module)
    assert '"; import os; os.exit(1) #' in message and "\x1b" not in message
    assert module.__doc__.startswith("Doc ''' with \\ backslash")


# -- behaviour ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        ("1.3.0", None),  # tested and passing: the fast path
        ("1.1.2", None),
        ("1.1.5", None),  # inside the tested range, not known to fail
        ("1.2.0", f"acme-sdk 1.2.0 is known to fail with this library "
                  f"(tests/test_smoke.py::test_agent: {REASON}); use 1.1.2 or >= 1.3.0"),
        ("1.2", "acme-sdk 1.2 is known to fail"),  # the same version, spelled shorter
        ("v1.2.0.0", "acme-sdk v1.2.0.0 is known to fail"),
        ("2.0.0rc1", "acme-sdk 2.0.0rc1 is known to fail with this library (TypeError"),
        ("2.0.0", "acme-sdk 2.0.0 is newer than the versions tested with this library "
                  "(1.0.0 - 1.3.0); it may work"),
        ("1.3.0.post1", "is newer than"),
        ("0.9.9", "acme-sdk 0.9.9 is older than the versions tested"),
        ("1.0.0rc1", "is older than"),
        ("1.3.0+local", None),  # local labels are ignored
        ("not a version", None),
        (None, None),  # not installed
    ],
)  # fmt: skip
def test_what_check_says(tmp_path: Path, installed, expected):
    module = load(render([ACME]), tmp_path, installed)
    message, caught = check(module)
    if expected is None:
        assert message is None and caught == []
    else:
        assert expected in message
        assert [(w.category, str(w.message)) for w in caught] == [(UserWarning, message)]
        assert caught[0].filename == __file__  # stacklevel: the caller of check()


def test_warns_once_per_process_and_ignores_unknown_integrations(tmp_path: Path):
    module = load(render([ACME]), tmp_path, "1.2.0")
    assert check(module)[1] and check(module) == (None, [])
    assert check(module, "nope") == (None, [])


def test_the_category_chosen_at_generation_or_by_the_caller(tmp_path: Path, monkeypatch):
    (tmp_path / "mylib_warnings.py").write_text("class CompatWarning(UserWarning):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = load(render([ACME], category="mylib_warnings.CompatWarning"), tmp_path, "1.2.0")
    assert "mylib_warnings" not in sys.modules  # imported only when a warning is due
    _, caught = check(module)
    monkeypatch.delitem(sys.modules, "mylib_warnings")
    assert caught[0].category.__name__ == "CompatWarning"
    module = load(render([ACME], category="RuntimeWarning"), tmp_path, "1.2.0")
    assert check(module)[1][0].category is RuntimeWarning
    module = load(render([ACME], category="RuntimeWarning"), tmp_path, "1.2.0")
    assert check(module, category=FutureWarning)[1][0].category is FutureWarning
    module = load(render([ACME], category="gone_module.Warn"), tmp_path, "1.2.0")
    assert check(module)[1][0].category is UserWarning  # never break the import over it


VERSIONS = [
    "1.0.dev0", "1.0.dev1", "1.0a1.dev1", "1.0a1", "1.0a1.post1.dev1", "1.0a1.post1", "1.0a2",
    "1.0b1", "1.0rc1", "1.0c2", "1.0", "1.0.post1.dev1", "1.0.post1", "1.0-2", "1.0.1", "1.1",
    "1.10", "2!0.1", "1.0.0.0.1", "1.0ALPHA3", "1.0-preview4", "1.0.rev5", "1.0r6",
]  # fmt: skip


def test_the_comparator_orders_like_packaging(tmp_path: Path):
    module = load(render([ACME]), tmp_path, None)
    ours = sorted(VERSIONS, key=module._key)
    assert [Version(v) for v in ours] == sorted(Version(v) for v in VERSIONS)
    assert module._key("1.0") == module._key("1.0.0") == module._key("v1.0.0+abc")
    assert module._key("1.0.0") != module._key("1.0.0.post0")


def test_the_installed_version_from_dist_info_names_else_importlib_metadata(
    tmp_path: Path, monkeypatch
):
    source = render([ACME])
    path = tmp_path / "_compat_notices.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("notices_installed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    first, second = tmp_path / "first", tmp_path / "second"
    (first / "Acme.SDK-1.2.0.dist-info").mkdir(parents=True)  # an old tool's spelling
    (second / "acme_sdk-1.3.0.dist-info").mkdir(parents=True)
    (second / "acme_sdk_extra-9.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(first), str(second)])
    assert module._installed("acme-sdk") == "1.2.0"  # the first on sys.path, like imports
    monkeypatch.setattr(sys, "path", [str(second)])
    assert module._installed("acme_sdk") == "1.3.0"
    eggs = tmp_path / "eggs"
    (eggs / "acme_sdk.egg-info").mkdir(parents=True)  # no version in the name: ask metadata
    (eggs / "acme_sdk.egg-info/PKG-INFO").write_text(
        "Metadata-Version: 2.1\nName: acme-sdk\nVersion: 1.1.0\n"
    )
    monkeypatch.setattr(sys, "path", [str(eggs)])
    assert module._installed("acme-sdk") == "1.1.0"
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing")])
    assert module._installed("acme-sdk") is None


def test_update_file_for_check_and_write(tmp_path: Path):
    path = tmp_path / "mylib/_compat_notices.py"
    source = render([ACME])
    update = update_file(path, source, "mylib/_compat_notices.py")
    assert (
        update.changed and update.old is None and "+++ b/mylib/_compat_notices.py" in update.diff()
    )
    update.write()
    assert path.read_text() == source and not update_file(path, source).changed


# -- real installations ------------------------------------------------------------------------


def acme(version: str) -> Release:
    return Release("acme-sdk", version)


SCRIPT = """
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import _compat_notices
    message = _compat_notices.check("acme")
    again = _compat_notices.check("acme")
print(json.dumps({
    "message": message,
    "again": again,
    "warnings": [[w.category.__name__, str(w.message)] for w in caught],
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("compat", "packaging")),
    "metadata": "importlib.metadata" in sys.modules,
}))
"""


def venv(path: Path, python: str, index: IndexServer, version: str) -> Path:
    created = subprocess.run(
        ["uv", "venv", "--no-project", "--python", python, str(path)],
        capture_output=True,
        text=True,
    )
    if created.returncode != 0:
        pytest.skip(f"no Python {python} for uv: {created.stderr.strip()[-200:]}")
    installed = subprocess.run(
        ["uv", "pip", "install", "--python", str(path / "bin/python"),
         "--index-url", index.simple_url, f"acme-sdk=={version}"],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return path / "bin/python"


def run_check(python: Path, folder: Path) -> dict:
    done = subprocess.run(
        [str(python), "-c", SCRIPT, str(folder)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("python", [f"{sys.version_info.major}.{sys.version_info.minor}", "3.9"])
def test_in_a_real_environment_bad_warns_good_is_silent(
    index_server: IndexServer, tmp_path: Path, python: str
):
    index_server.add(*(acme(v) for v in ("1.0.0", "1.1.2", "1.2.0", "1.3.0", "2.0.0")))
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "_compat_notices.py").write_text(render([ACME], category="RuntimeWarning"))

    bad = run_check(venv(tmp_path / "bad", python, index_server, "1.2.0"), folder)
    expected = (
        f"acme-sdk 1.2.0 is known to fail with this library (tests/test_smoke.py::test_agent: "
        f"{REASON}); use 1.1.2 or >= 1.3.0"
    )
    assert bad == {
        "message": expected,
        "again": None,  # once per process
        "warnings": [["RuntimeWarning", expected]],
        "loaded": [],  # neither nox-compat nor packaging: the standard library only
        "metadata": False,  # the version came from the .dist-info folder's name
    }

    good = run_check(venv(tmp_path / "good", python, index_server, "1.3.0"), folder)
    assert good == {
        "message": None,
        "again": None,
        "warnings": [],
        "loaded": [],
        "metadata": False,
    }

    newer = run_check(venv(tmp_path / "newer", python, index_server, "2.0.0"), folder)
    assert newer["warnings"] == [
        [
            "RuntimeWarning",
            "acme-sdk 2.0.0 is newer than the versions tested with this library "
            "(1.0.0 - 1.3.0); it may work",
        ]
    ]
