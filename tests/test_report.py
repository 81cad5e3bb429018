"""The docs page and its JSON: markers, hostile text, merging, facts and marks (no cells run)."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from compat.cli import main
from compat.markdown import BEGIN, END, HEADER, PageError, code, fence, replace_block
from compat.matrix import load
from compat.report import ReportError, build_rows, load_known, support, write_docs
from compat.results import Deprecation, Failure, Result, Status, save

BLOCK = f"{BEGIN}\ngenerated\n{END}\n"
HOSTILE = (
    "boom <!-- compat:end --> <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "[click](javascript:alert(1)) ![t](https://evil.example/t.png) \x1b[31mred\x1b]0;t\x07 "
    "@maintainer owner/repo#1 ``` `` `"
)


def project(tmp_path: Path, integration: str = "", pyproject: str = "") -> Path:
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "tests/test_smoke.py").write_text("def test_acme():\n    pass\n")
    (root / "pyproject.toml").write_text(
        pyproject or '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk>=1.0"]\n'
    )
    (root / "compat.toml").write_text(
        textwrap.dedent(
            """
            [settings]
            python = ["3.11", "3.12"]
            tests = ["tests/test_smoke.py"]
            index-url = "http://127.0.0.1:9/simple"

            [integrations.acme]
            package = "acme-sdk"
            """
        )
        + integration
    )
    return root


def result(label: str, version: str, python: str = "3.11", status=Status.PASSED, **kw) -> Result:
    """A record as a run under the default project's configuration makes it."""
    return Result(
        f"compat-acme-{label}-{python}", "acme", label, "acme-sdk", version, python + ".1",
        status=status, installed=kw.pop("installed", version),
        started=kw.pop("started", "2026-11-20T10:00:00Z"),
        requirements=kw.pop("requirements", [f"acme-sdk=={version}"]),
        declared=kw.pop("declared", ">=1.0"), **kw,
    )  # fmt: skip


def page(tmp_path: Path, results: list[Result], **kw) -> tuple[str, dict]:
    matrix = load(project(tmp_path, **kw) / "compat.toml")
    write_docs(matrix, {r.session: r for r in results}, None)
    text = matrix.docs_path.read_text()
    return text, json.loads(matrix.docs_path.with_suffix(".json").read_text())


# -- markers ------------------------------------------------------------------------------------


def test_absent_file_gets_a_short_header() -> None:
    assert replace_block(None, BLOCK) == HEADER + BLOCK


def test_file_without_markers_keeps_its_text_and_gets_the_block() -> None:
    assert replace_block("# Ours\n\nNotes.\n", BLOCK) == "# Ours\n\nNotes.\n\n" + BLOCK


def test_regeneration_replaces_only_between_markers() -> None:
    text = f"intro\n{BEGIN}\nold\n{END}\noutro\n"
    once = replace_block(text, BLOCK)
    assert once == f"intro\n{BLOCK}outro\n" and replace_block(once, BLOCK) == once


@pytest.mark.parametrize(
    "text, lines",
    [
        (f"hand\n{BEGIN}\nmore hand text\n", f"{BEGIN} on line 2"),  # a lone begin marker
        (f"{END}\nx\n{BEGIN}\n", "before the begin marker"),
        (f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n", f"{BEGIN} on line 3"),
    ],
)
def test_malformed_markers_leave_the_file_byte_identical(tmp_path: Path, text, lines) -> None:
    with pytest.raises(PageError, match=re.escape(lines)):
        replace_block(text, BLOCK)
    root = project(tmp_path)
    docs = root / "docs/compatibility-matrix.md"
    docs.parent.mkdir()
    docs.write_bytes(text.encode())
    assert main(["report", "--config", str(root / "compat.toml")]) == 2
    assert docs.read_bytes() == text.encode()
    assert not docs.with_suffix(".json").exists()


def test_markers_quoted_in_code_are_not_markers() -> None:
    text = f"Use `{BEGIN}` to mark.\n\n```\n{END}\n```\n{BEGIN}\nold\n{END}\ntail\n"
    assert replace_block(text, BLOCK) == f"Use `{BEGIN}` to mark.\n\n```\n{END}\n```\n{BLOCK}tail\n"


# -- hostile text -------------------------------------------------------------------------------


def test_code_and_fence_cannot_be_escaped() -> None:
    span = code(HOSTILE)
    ticks = re.match(r"`+", span).group(0)
    assert span.endswith(ticks) and ticks not in span[len(ticks) : -len(ticks)]
    assert "\x1b" not in span and "\x07" not in span and "<!--" not in span and "-->" not in span
    block = fence(HOSTILE + "\n```\n" + END)
    opening = block.split("\n", 1)[0]
    assert block.count(opening) == 2 and END not in block


def test_hostile_upstream_text_never_changes_the_page(tmp_path: Path) -> None:
    bad = result(
        "latest", "2.0.0", status=Status.FAILED, message=HOSTILE,
        failures=[Failure(HOSTILE, HOSTILE + "\n# heading\n" + END)],
        deprecations=[Deprecation(HOSTILE, HOSTILE, HOSTILE)],
    )  # fmt: skip
    text, _ = page(tmp_path, [result("min", "1.0.0"), bad])
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    # Outside code spans there is no HTML, link or image from the message.
    outside = re.sub(r"(`+)(?:(?!\1).)+\1", "", text)
    for needle in ("<script", "<img", "javascript:", "](https://evil", "\x1b", "\n# heading"):
        assert needle not in outside
    root = tmp_path / "proj"
    matrix = load(root / "compat.toml")
    for _ in range(2):  # byte-identical re-renders: the page never grows
        write_docs(matrix, {r.session: r for r in [result("min", "1.0.0"), bad]}, None)
        assert matrix.docs_path.read_text() == text


# -- the committed JSON is an input -------------------------------------------------------------


def test_fresh_clone_and_partial_runs_keep_committed_verdicts(tmp_path: Path, capsys) -> None:
    old = [result("min", "1.0.0"), result("latest", "2.0.0", status=Status.FAILED)]
    text, data = page(tmp_path, old)
    root = tmp_path / "proj"
    matrix = load(root / "compat.toml")
    assert data["integrations"]["acme"]["cells"][0]["started"] == "2026-11-20"  # no run timings
    assert "freeze" not in data["integrations"]["acme"]["cells"][0]
    # A fresh clone: no results dir; the report renders what the JSON holds.
    assert main(["report", "--config", str(root / "compat.toml"), "--offline"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "exit 1: 1 cell incompatible inside the declared range: compat-acme-latest-3.11 "
        "(acme-sdk 2.0.0: failed) (details in the page; `compat issues` files them)"
    )
    assert matrix.docs_path.read_text() == text
    # A partial run: one cell again (newer), the other committed verdict stays.
    save(result("latest", "2.0.0", started="2026-11-21T09:00:00Z"), matrix.results_dir)
    write_docs(matrix, load_known(matrix).results, None)
    after = matrix.docs_path.read_text()
    assert "| 3.11 | 1.0.0 ✅ | 2.0.0 ✅ |" in after
    # Nothing new: rendering again gives the same bytes.
    write_docs(matrix, load_known(matrix).results, None)
    assert matrix.docs_path.read_text() == after


def test_a_corrupt_committed_json_is_never_rendered_over(tmp_path: Path) -> None:
    root = project(tmp_path)
    docs_json = root / "docs/compatibility-matrix.json"
    docs_json.parent.mkdir()
    docs_json.write_text('{"integrations": {"acme": {"cells": [{"schema": 1, "session"')
    with pytest.raises(ReportError, match="compatibility-matrix.json"):
        load_known(load(root / "compat.toml"))
    assert main(["report", "--config", str(root / "compat.toml"), "--offline"]) == 2
    assert not (root / "docs/compatibility-matrix.md").exists()


@pytest.mark.parametrize(
    "content, says",
    [
        ('{"schema": 1, "session": "compat-acme-min-3.11"', "not valid JSON"),
        ('{"schema": 7}', "unknown schema 7"),
        (
            '{"schema": 1, "session": "compat-acme-min-3.11", "integration": "acme"}',
            "label: missing",
        ),
        (None, "unknown status 'exploded'"),
    ],
)
def test_unreadable_results_are_named_and_skipped(tmp_path: Path, capsys, content, says) -> None:
    root = project(tmp_path)
    matrix = load(root / "compat.toml")
    save(result("min", "1.0.0"), matrix.results_dir)
    bad = matrix.results_dir / "compat-acme-latest-3.11.json"
    if content is None:
        data = result("latest", "2.0.0").to_dict()
        content = json.dumps({**data, "status": "exploded"})
    bad.write_text(content)
    assert main(["report", "--config", str(root / "compat.toml"), "--offline"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and says in err
    assert "| 3.11 | 1.0.0 ✅ |" in matrix.docs_path.read_text()


def test_md_and_json_are_written_both_or_neither(tmp_path: Path, read_only) -> None:
    root = project(tmp_path)
    matrix = load(root / "compat.toml")
    write_docs(matrix, {}, None)
    md_before = matrix.docs_path.read_bytes()
    read_only(matrix.docs_path.with_suffix(".json"))
    with pytest.raises(ReportError, match="neither was changed"):
        write_docs(matrix, {"x": result("min", "1.0.0")}, None)
    assert matrix.docs_path.read_bytes() == md_before


# -- facts and marks ----------------------------------------------------------------------------


def test_details_once_across_pythons_in_label_order(tmp_path: Path) -> None:
    failing = {"status": Status.FAILED, "failures": [Failure("tests/t.py::test_x", "boom")]}
    results = [
        result("latest", "2.0.0", "3.11", **failing),
        result("latest", "2.0.0", "3.12", **failing),
        result("min", "1.0.0", "3.11", **failing),
    ]
    text, _ = page(tmp_path, results)
    details = [line for line in text.splitlines() if line.startswith("- ❌")]
    assert details == [
        "- ❌ `min` acme-sdk 1.0.0 on Python 3.11: failed",
        "- ❌ `latest` acme-sdk 2.0.0 on Python 3.11, 3.12: failed",
    ]
    assert text.count("`tests/t.py::test_x`") == 2


def test_cap_lift_and_raise_floor_marks(tmp_path: Path) -> None:
    pyproject = (
        '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk>=1.0,<=1.3.0"]\n'
    )
    inside = {"declared": ">=1.0,<=1.3.0"}
    beyond = {"in_declared_range": False, **inside}
    results = [
        result("min", "1.0.0", status=Status.FAILED, failures=[Failure("t", "old API")], **inside),
        result("1.2", "1.2.0", **inside),
        result("max", "1.3.0", **inside),
        result("1.5", "1.5.0", **beyond),
        result("latest", "1.6.0", status=Status.FAILED, **beyond),
    ]
    text, data = page(tmp_path, results, pyproject=pyproject)
    kinds = {m["kind"]: m["text"] for m in data["integrations"]["acme"]["marks"]}
    assert kinds["raise-floor"].startswith("raise the minimum to 1.2.0")
    assert kinds["cap-lift"] == "cap `<=1.3.0` could be lifted: 1.5.0 passes (1.6.0 fails)"
    assert "| 3.11 | 1.0.0 ❌ | 1.2.0 ✅ | 1.3.0 ✅ | 1.5.0 ✅† | 1.6.0 ❌† |" in text
    summary = data["integrations"]["acme"]
    assert summary["status"] == "failed"  # the failing floor is inside the range
    assert (summary["lowest_passing"], summary["highest_passing"]) == ("1.2.0", "1.3.0")
    facts = support(
        build_rows(load(tmp_path / "proj/compat.toml"), {r.session: r for r in results}, None)[0]
    )
    assert [i.version for i in facts.known_issues] == ["1.0.0"]  # 1.6.0 is beyond the cap


def test_failures_beyond_the_declared_range_are_informational(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk>=1.0,<2"]\n'
    beyond = {"in_declared_range": False, "declared": ">=1.0,<2"}
    results = [
        result("min", "1.0.0", declared=">=1.0,<2"),
        result("latest", "2.0.0", status=Status.FAILED, **beyond),
    ]
    text, data = page(tmp_path, results, pyproject=pyproject)
    assert data["integrations"]["acme"]["status"] == "passed"
    assert "beyond declared support `>=1.0,<2`: informational" in text
    assert main(["report", "--config", str(tmp_path / "proj/compat.toml"), "--offline"]) == 0


def test_errors_never_hide_a_judged_verdict(tmp_path: Path) -> None:
    root = project(tmp_path)
    matrix = load(root / "compat.toml")
    save(result("min", "1.0.0"), matrix.results_dir)
    error = result(
        "min", "1.0.0", status=Status.ERROR, message="Python 3.11 was not found",
        hint="uv python install 3.11", started="2026-11-22T00:00:00Z", installed=None,
    )  # fmt: skip
    save(error, matrix.results_dir)
    stored = load_known(matrix).results["compat-acme-min-3.11"]
    assert stored.status is Status.PASSED and stored.stale.message == "Python 3.11 was not found"
    write_docs(matrix, load_known(matrix).results, None)
    text = matrix.docs_path.read_text()
    assert "1.0.0 ✅ stale" in text and "`uv python install 3.11`" in text


def test_a_corrupt_bisect_answer_is_named(tmp_path: Path, capsys) -> None:
    root = project(tmp_path)
    matrix = load(root / "compat.toml")
    save(result("min", "1.0.0"), matrix.results_dir)
    (matrix.results_dir / "bisect-acme.answer.json").write_text(
        '{"integration": "acme", "good": "x"'
    )
    assert main(["report", "--config", str(root / "compat.toml"), "--offline"]) == 2
    assert "bisect-acme.answer.json" in capsys.readouterr().err
    assert "| 3.11 | 1.0.0 ✅ |" in matrix.docs_path.read_text()


# -- the current configuration ------------------------------------------------------------------

WIDENED = '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk==1.1.*"]\n'


def test_the_declared_column_comes_from_the_current_pyproject(tmp_path: Path) -> None:
    old = {"declared": ">=0.25", "in_declared_range": False}
    results = [
        result("min", "1.1.0", declared="==1.1.*"),
        result("min", "1.1.0", "3.12", **old),  # an older record, under another range
    ]
    text, data = page(tmp_path, results, integration='min = "1.1.0"\n', pyproject=WIDENED)
    summary = next(line for line in text.splitlines() if line.startswith("| [acme]"))
    assert "| `==1.1.*` (pyproject.toml:4) |" in summary  # not compat.toml, where `min` is
    assert ">=0.25" not in summary
    assert data["integrations"]["acme"]["declared"] == "==1.1.*"
    assert data["integrations"]["acme"]["declared_in"] == ["pyproject.toml:4"]


def test_records_of_another_configuration_are_not_the_cells_verdict(tmp_path: Path) -> None:
    old_range = {"declared": ">=0.25", "in_declared_range": False}
    results = [
        result("min", "1.1.0", declared="==1.1.*"),
        result("latest", "2.0.0", "3.11", Status.INSTALL_FAILED, message="no", **old_range),
        result(
            "latest",
            "2.0.0",
            "3.12",
            requirements=["acme-sdk==2.0.0", "gone<1"],
            declared="==1.1.*",
        ),  # fmt: skip
    ]
    text, data = page(tmp_path, results, pyproject=WIDENED)
    assert "| 3.11 | 1.1.0 ✅ | not yet run |" in text
    assert "| 3.12 | not run | not yet run |" in text
    assert "🚫" not in text.split("## acme")[1] and "✅†" not in text
    assert (
        "- `latest` acme-sdk 2.0.0 on Python 3.11: not yet run under the current configuration "
        "(the stored verdict, install-failed, was made under declared `>=0.25`; run "
        "`nox -s matrix` or `compat run`)"
    ) in text
    assert (
        "- `latest` acme-sdk 2.0.0 on Python 3.12: not yet run under the current configuration "
        "(the stored verdict, passed, was made under requirements `acme-sdk==2.0.0, gone<1`; "
        "run `nox -s matrix` or `compat run`)"
    ) in text
    assert data["integrations"]["acme"]["status"] == "passed"  # the old 🚫 is not counted
    root = tmp_path / "proj"
    assert main(["report", "--config", str(root / "compat.toml"), "--offline"]) == 0


def test_stale_marks_only_for_verdicts_of_the_same_configuration(tmp_path: Path) -> None:
    root = project(tmp_path, pyproject=WIDENED)
    matrix = load(root / "compat.toml")
    save(result("min", "1.1.0", declared="==1.1.*"), matrix.results_dir)
    save(result("latest", "2.0.0", status=Status.INSTALL_FAILED, declared=">=0.25",
                in_declared_range=False), matrix.results_dir)  # fmt: skip
    for label, version in (("min", "1.1.0"), ("latest", "2.0.0")):
        error = result(
            label, version, status=Status.ERROR, message="Python 3.11 was not found",
            hint="uv python install 3.11", started="2026-11-22T00:00:00Z", installed=None,
            declared="==1.1.*",
        )  # fmt: skip
        save(error, matrix.results_dir)
    write_docs(matrix, load_known(matrix).results, None)
    text = matrix.docs_path.read_text()
    assert "| 3.11 | 1.1.0 ✅ stale | 2.0.0 ❗† |" in text  # the old 🚫† is not shown as stale
    assert (
        "- ❗ `latest` acme-sdk 2.0.0 on Python 3.11: error — `Python 3.11 was not found`" in text
    )
    assert "🚫" not in text.split("## acme")[1]


def test_raise_the_minimum_uses_every_stored_verdict(tmp_path: Path) -> None:
    """0.28.0 passed in an earlier sweep under a label this plan no longer has."""
    from compat.plan import Cell, Plan

    root = project(tmp_path)
    matrix = load(root / "compat.toml")
    results = [
        result("min", "1.0.0", status=Status.FAILED, failures=[Failure("t", "old API")]),
        result("1.1", "1.1.0"),  # an earlier sweep's series label, not in this plan
        result("1.2", "1.2.0"),
        result("latest", "2.0.0"),
    ]
    cells = [
        Cell("acme", label, "acme-sdk", version, "3.11", (f"acme-sdk=={version}",), "",
             declared=">=1.0")
        for label, version in (("min", "1.0.0"), ("1.2", "1.2.0"), ("latest", "2.0.0"))
    ]  # fmt: skip
    write_docs(matrix, {r.session: r for r in results}, Plan(matrix, cells))
    data = json.loads(matrix.docs_path.with_suffix(".json").read_text())
    marks = {m["kind"]: m["text"] for m in data["integrations"]["acme"]["marks"]}
    assert marks["raise-floor"].startswith("raise the minimum to 1.1.0:")
    assert data["integrations"]["acme"]["lowest_passing"] == "1.1.0"
    text = matrix.docs_path.read_text()
    assert "| 3.11 | 1.0.0 ❌ | 1.2.0 ✅ | 2.0.0 ✅ |" in text  # the old label is no cell


def test_one_next_breaking_change_per_cause(tmp_path: Path) -> None:
    from compat.metadata import render_block

    why = (
        "ModuleNotFoundError: No module named 'transport'. acme-sdk 3.0.0rc1 no longer installs "
        "it; your code imports it, so declare it in your dependencies."
    )
    pre = [
        result("pre", "3.0.0rc1", python, Status.FAILED,
               failures=[Failure("tests/test_smoke.py::test_acme", why)])
        for python in ("3.11", "3.12", "3.13")
    ]  # fmt: skip
    root = project(tmp_path)
    rows = build_rows(load(root / "compat.toml"), {r.session: r for r in pre}, None)
    facts = support(rows[0])
    assert len(facts.next_breaking) == 1  # not once per Python
    block = render_block(facts)
    text = " ".join(block.split("Next Breaking Change:")[1].split())
    assert "declare it in your dependencies. (tests/test_smoke.py::test_acme)" in text
    assert "…" not in text


def test_records_of_another_compat_toml_are_not_the_cells_verdict(tmp_path: Path) -> None:
    """Another `select`, `tests` or `test-requires` is another cell: its key says so."""
    from compat.report import configuration

    root = project(tmp_path)
    matrix = load(root / "compat.toml")
    integ = matrix.integration("acme")
    now = result("min", "1.0.0")
    now.key = {"configuration": configuration(matrix, integ, now)}
    before = result("latest", "2.0.0", status=Status.FAILED, key={"configuration": "0" * 16})
    write_docs(matrix, {r.session: r for r in (now, before)}, None)
    text = matrix.docs_path.read_text()
    assert "| 3.11 | 1.0.0 ✅ | not yet run |" in text
    assert "❌" not in text.split("## acme")[1]
    assert "2.0.0 on Python 3.11: not yet run under the current configuration" in text
