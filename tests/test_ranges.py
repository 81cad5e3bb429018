"""The declared-range edits the verdicts justify (compat/ranges.py): which ones, from the
report's rows, and their application to a pyproject.toml that keeps every other byte."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from compat.matrix import ConfigError, load
from compat.ranges import RangeError, apply, proposals
from compat.report import build_rows
from compat.results import Result, Status, session_name

PYS = ("3.11", "3.12")


def matrix_with(root: Path, requirement: str, settings: str = ""):
    (root / "tests").mkdir(parents=True, exist_ok=True)
    (root / "tests/test_acme.py").write_text("def test_acme():\n    pass\n")
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "mylib"\nversion = "1"\ndependencies = ["{requirement}"]\n'
    )
    (root / "compat.toml").write_text(
        f'[settings]\npython = ["3.11", "3.12"]\ntests = ["tests"]\n{settings}\n'
        '[integrations.acme]\npackage = "acme-sdk"\n'
    )
    return load(root / "compat.toml")


def cell(matrix, label: str, version: str, status: Status, python: str = "3.12") -> Result:
    integ = matrix.integration("acme")
    return Result(
        session=session_name("acme", label, python),
        integration="acme",
        label=label,
        package="acme-sdk",
        requested=version,
        python=f"{python}.1",
        status=status,
        installed=version,
        started="2026-11-30T00:00:00Z",
        in_declared_range=integ.declared.contains(version, python),
        declared=str(integ.declared.specifier(python)),
    )


def grid(matrix, cells: dict[tuple[str, str], list[Status]]):
    """(label, version) -> a status per Python of PYS: the rows of the report."""
    results = {}
    for (label, version), statuses in cells.items():
        for python, status in zip(PYS, statuses, strict=True):
            result = cell(matrix, label, version, status, python)
            results[result.session] = result
    return build_rows(matrix, results, None)


P, F, E = Status.PASSED, Status.FAILED, Status.ERROR


def test_a_cap_is_lifted_to_the_series_of_the_highest_release_that_passes(tmp_path):
    matrix = matrix_with(tmp_path, "acme-sdk>=1.0.0,<1.3")
    rows = grid(
        matrix,
        {
            ("min", "1.0.0"): [P, P],
            ("1.2", "1.2.0"): [P, P],
            ("1.3", "1.3.1"): [P, P],  # beyond the cap (†), passing
            ("latest", "1.4.0"): [P, P],
        },
    )
    [edit] = proposals(rows)
    assert (edit.kind, edit.old, edit.new) == ("cap-lift", "<1.3", "<1.5")
    assert [v for v, py, _ in edit.evidence if py == "3.12"] == ["1.3.1", "1.4.0"]
    # `<=` caps keep their style: up to exactly what was tested
    matrix = matrix_with(tmp_path, "acme-sdk>=1.0.0,<=1.2.0")
    rows = grid(matrix, {("min", "1.0.0"): [P, P], ("latest", "1.4.0"): [P, P]})
    assert [(e.old, e.new) for e in proposals(rows)] == [("<=1.2.0", "<=1.4.0")]


def test_the_lift_stops_below_a_failure_or_an_unjudged_cell(tmp_path):
    matrix = matrix_with(tmp_path, "acme-sdk>=1.0.0,<1.3")
    rows = grid(
        matrix,
        {("min", "1.0.0"): [P, P], ("1.3", "1.3.1"): [P, P], ("latest", "1.4.0"): [F, P]},
    )
    assert [(e.old, e.new) for e in proposals(rows)] == [("<1.3", "<1.4")]
    rows = grid(matrix, {("min", "1.0.0"): [P, P], ("latest", "1.3.1"): [E, P]})  # ❗
    assert rows[0].marks and proposals(rows) == []
    rows = grid(matrix, {("min", "1.0.0"): [P, P], ("latest", "1.3.1"): [F, F]})  # †
    assert proposals(rows) == []


def test_a_failing_floor_is_raised_to_the_lowest_version_that_passes(tmp_path):
    matrix = matrix_with(tmp_path, "acme-sdk>=1.0.0")
    rows = grid(
        matrix,
        {
            ("min", "1.0.0"): [P, F],
            ("1.1", "1.1.0"): [P, F],
            ("1.2", "1.2.0"): [P, P],
            ("latest", "1.3.0"): [P, P],
        },
    )
    [edit] = [e for e in proposals(rows) if e.old.startswith(">=")]
    assert (edit.kind, edit.old, edit.new) == ("raise-floor", ">=1.0.0", ">=1.2.0")
    assert "fails on Python 3.12" in edit.why
    # an unjudged floor (❗) is no reason; nor is a floor set in compat.toml
    rows = grid(matrix, {("min", "1.0.0"): [P, E], ("latest", "1.3.0"): [P, P]})
    assert proposals(rows) == []
    matrix = matrix_with(tmp_path, "acme-sdk>=1.0.0")
    (tmp_path / "compat.toml").write_text(
        (tmp_path / "compat.toml").read_text() + 'min = "1.0.0"\n'
    )
    matrix = load(tmp_path / "compat.toml")
    rows = grid(matrix, {("min", "1.0.0"): [P, F], ("latest", "1.3.0"): [P, P]})
    assert rows[0].marks and proposals(rows) == []


ODD = """\
# The project's own words stay as they are.
[project]
name = "mylib"
dependencies = [
  "requests >=2",        # http
  'acme-sdk >= 1.0.0 ,  <1.3 ; python_version >= "3.10"' ,   # literal, odd spacing
]

[project.optional-dependencies]
acme = [ "acme-sdk[fast]>=1.0.0,<1.3" ]   # the extra

[dependency-groups]
test = ["pytest", {include-group = "lint"}, \"\"\"acme-sdk>=1.0.0\"\"\"]
lint = ["ruff"]

[tool.other]
acme = "acme-sdk<1.3"   # not a requirement list: untouched
"""


def test_edits_keep_every_other_byte(tmp_path):
    matrix = matrix_with(tmp_path, "acme-sdk>=1.0.0,<1.3")
    (tmp_path / "pyproject.toml").write_text(ODD)
    matrix = load(tmp_path / "compat.toml")
    rows = grid(
        matrix,
        {("min", "1.0.0"): [P, F], ("1.1", "1.1.0"): [P, P], ("latest", "1.4.0"): [P, P]},
    )
    edits = proposals(rows)
    assert {(e.old, e.new) for e in edits} >= {("<1.3", "<1.5"), (">=1.0.0", ">=1.1.0")}
    text, applied = apply(ODD, edits)
    assert {(e.old, e.new) for e in applied} == {("<1.3", "<1.5"), (">=1.0.0", ">=1.1.0")}
    diff = [
        line
        for line in difflib.unified_diff(ODD.splitlines(), text.splitlines(), n=0, lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == [
        """-  'acme-sdk >= 1.0.0 ,  <1.3 ; python_version >= "3.10"' ,   # literal, odd spacing""",
        """+  'acme-sdk >= 1.1.0 ,  <1.5 ; python_version >= "3.10"' ,   # literal, odd spacing""",
        '-acme = [ "acme-sdk[fast]>=1.0.0,<1.3" ]   # the extra',
        '+acme = [ "acme-sdk[fast]>=1.1.0,<1.5" ]   # the extra',
        '-test = ["pytest", {include-group = "lint"}, """acme-sdk>=1.0.0"""]',
        '+test = ["pytest", {include-group = "lint"}, """acme-sdk>=1.1.0"""]',
    ]
    assert len(text) == len(ODD)  # nothing else moved, not even a newline
    assert apply(text, edits)[1] == []  # applied once: nothing left to change
    with pytest.raises(RangeError, match="not valid TOML"):
        apply("[project\n", edits)


def test_the_range_updates_setting_is_validated(tmp_path):
    assert matrix_with(tmp_path, "acme-sdk>=1.0").settings.range_updates is True
    assert (
        matrix_with(tmp_path, "acme-sdk>=1", "range-updates = false").settings.range_updates
        is False
    )
    with pytest.raises(
        ConfigError, match=r"compat.toml:4: settings.range-updates: expected true or false"
    ):
        matrix_with(tmp_path, "acme-sdk>=1.0", 'range-updates = "no"')
