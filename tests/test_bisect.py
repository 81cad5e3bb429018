"""`compat bisect` end to end: real cells over the local test index."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from pkgindex import IndexServer
from test_cells import GREET, TOOLS, acme, make_project

from compat.cli import main

PY = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture
def project(index_server: IndexServer, tmp_path: Path, monkeypatch) -> Path:
    releases = [acme(f"1.{minor}.0", GREET if minor < 6 else "") for minor in range(10)]
    releases[3] = acme("1.3.0", requires=["missing-dependency>=1"])  # untestable: skipped
    index_server.add(*releases, acme("1.7.1", yanked=True))
    index_server.add_installed(*TOOLS)
    index_server.add(*__import__("test_cells").RELEASES[-1:])  # noisy-lib
    root = make_project(tmp_path / "proj", index_server)
    monkeypatch.chdir(root)
    return root


def test_bisect_finds_first_bad_release(project: Path, capsys) -> None:
    assert main(["bisect", "acme", "--good", "1.0.0", "--bad", "1.9.0"]) == 0
    out = capsys.readouterr().out
    assert "first bad version: 1.6.0" in out and "last good version: 1.5.0" in out
    assert "failing: tests/test_smoke.py::test_acme_greet" in out
    answer = json.loads((project / ".compat/results/bisect-acme.answer.json").read_text())
    candidates = 8  # 1.1 … 1.8, the yanked 1.7.1 excluded
    steps = [c for c in answer["cells"] if c["version"] not in ("1.0.0", "1.9.0")]
    assert len(steps) <= math.ceil(math.log2(candidates)) + 1 + len(answer["skipped"])
    assert "1.7.1" not in [c["version"] for c in answer["cells"]]
    results = list((project / ".compat/results").glob("compat-acme-bisect-*.json"))
    assert len(results) == len(answer["cells"])  # stored like any cell
    docs = (project / "docs/compatibility-matrix.md").read_text()
    assert "first bad version **1.6.0** (last good 1.5.0)" in docs


def test_bisect_skips_untestable_versions(project: Path, capsys) -> None:
    assert main(["bisect", "acme", "--good", "1.2.0", "--bad", "1.5.0", "--verify"]) == 1
    assert "the bad end 1.5.0 is not bad (passed)" in capsys.readouterr().out
    assert main(["bisect", "acme", "--good", "1.0.0", "--bad", "1.6.0"]) == 0
    out = capsys.readouterr().out
    assert "first bad version: 1.6.0" in out and "skipped (could not be tested): 1.3.0" in out


def test_bisect_defaults_from_stored_results(project: Path, capsys) -> None:
    assert main(["run", "compat-acme-min", "compat-acme-latest"]) == 1  # 1.0 passes, 1.9 fails
    capsys.readouterr()
    assert main(["bisect", "acme"]) == 0
    out = capsys.readouterr().out
    assert "1.0.0 → 1.9.0" in out and "first bad version: 1.6.0" in out
    answer = json.loads((project / ".compat/results/bisect-acme.answer.json").read_text())
    assert {"1.0.0", "1.9.0"}.isdisjoint(c["version"] for c in answer["cells"])  # ends were known


def test_bisect_errors(project: Path, capsys) -> None:
    assert main(["bisect", "acme", "--good", "1.5.0", "--bad", "1.5.0"]) == 2
    assert "must be older than" in capsys.readouterr().err
    assert main(["bisect", "acme", "--good", "1.0.5", "--bad", "1.9.0"]) == 2
    assert "1.0.5 does not exist on the index" in capsys.readouterr().err
    assert main(["bisect", "acmee"]) == 2
    assert "did you mean 'acme'" in capsys.readouterr().err
    assert main(["bisect", "acme", "--good", "abc"]) == 2
    assert (
        capsys.readouterr().err.strip() == "compat: error: --good 'abc': not a version (e.g. 1.4.2)"
    )
    assert main(["bisect", "acme"]) == 2  # nothing stored to start from
    assert "pass --good" in capsys.readouterr().err


def test_trusted_ends_bound_the_cells(project: Path, capsys) -> None:
    """Given ends are trusted like git bisect's: 5 releases in between, at most 3 cells."""
    assert main(["bisect", "acme", "--good", "1.4.0", "--bad", "1.9.0"]) == 0
    answer = json.loads((project / ".compat/results/bisect-acme.answer.json").read_text())
    assert answer["first_bad"] == "1.6.0" and len(answer["cells"]) <= math.ceil(math.log2(5 + 1))
    assert {"1.4.0", "1.9.0"}.isdisjoint(c["version"] for c in answer["cells"])


def test_default_ends_are_never_backwards(project: Path, capsys) -> None:
    """min fails, 1.5 passes, latest fails: the newest break is bisected, forwards."""
    results = project / ".compat/results"
    assert main(["run", "compat-acme-1.5", "compat-acme-latest"]) == 1
    min_result = json.loads(next(results.glob("compat-acme-latest-*.json")).read_text())
    min_result.update(session=min_result["session"].replace("latest", "min"), label="min",
                      requested="1.0.0", installed="1.0.0")  # fmt: skip
    (results / f"{min_result['session']}.json").write_text(json.dumps(min_result))
    capsys.readouterr()
    assert main(["bisect", "acme"]) == 0
    out = capsys.readouterr().out
    assert "1.5.0 → 1.9.0" in out and "first bad version: 1.6.0" in out


def test_nothing_to_bisect(project: Path, capsys) -> None:
    assert main(["run", "compat-acme-min", "compat-acme-1.5"]) == 0
    capsys.readouterr()
    assert main(["bisect", "acme"]) == 0
    assert "nothing to bisect" in capsys.readouterr().out
    assert not (project / ".compat/results/bisect-acme.answer.json").exists()  # no answer


def test_an_end_that_cannot_be_judged_says_so(project: Path, index_server, capsys) -> None:
    assert main(["plan"]) == 0  # the index pages are cached
    index_server.fail = True  # then the index goes down
    code = main(["bisect", "acme", "--good", "1.0.0", "--bad", "1.9.0", "--verify"])
    out = capsys.readouterr().out
    assert code == 2 and "the good end 1.0.0 could not be judged" in out
    assert "the package index could not be reached" in out and "fix:" in out
    assert not (project / ".compat/results/bisect-acme.answer.json").exists()


def test_a_later_pass_of_the_first_bad_version_drops_the_answer(project: Path, capsys) -> None:
    assert main(["bisect", "acme", "--good", "1.4.0", "--bad", "1.9.0"]) == 0
    docs = project / "docs/compatibility-matrix.md"
    assert "first bad version **1.6.0**" in docs.read_text()
    answer = json.loads((project / ".compat/results/bisect-acme.answer.json").read_text())
    [probe] = [c for c in answer["cells"] if c["version"] == "1.6.0"]
    stored = project / f".compat/results/{probe['session']}.json"
    data = json.loads(stored.read_text())
    data.update(status="passed", failures=[], started="2099-01-01T00:00:00Z")
    stored.write_text(json.dumps(data))
    assert main(["report"]) in (0, 1)
    assert "first bad version" not in docs.read_text()


@pytest.fixture
def failing_floor(index_server: IndexServer, tmp_path: Path, monkeypatch) -> Path:
    """acme-sdk 1.0–1.3 lack greet(): the declared floor 1.0.0 fails, 1.4.0 and up pass."""
    index_server.add(*(acme(f"1.{minor}.0", GREET if minor >= 4 else "") for minor in range(10)))
    index_server.add_installed(*TOOLS)
    index_server.add(*__import__("test_cells").RELEASES[-1:])  # noisy-lib
    root = make_project(tmp_path / "proj", index_server)
    monkeypatch.chdir(root)
    return root


def test_first_good_searches_a_failing_floor_upward(failing_floor: Path, capsys) -> None:
    assert main(["bisect", "acme", "--good", "1.9.0", "--bad", "1.0.0"]) == 0  # automatic
    out = capsys.readouterr().out
    assert "1.0.0 fails → 1.9.0 passes, upward for the lowest passing release" in out
    assert (
        "lowest passing version: 1.4.0" in out and "highest failing version below it: 1.3.0" in out
    )
    answer = json.loads((failing_floor / ".compat/results/bisect-acme.answer.json").read_text())
    assert answer["direction"] == "first-good" and answer["first_good"] == "1.4.0"
    assert len(answer["cells"]) <= math.ceil(math.log2(8 + 1))
    docs = (failing_floor / "docs/compatibility-matrix.md").read_text()
    assert "lowest passing version **1.4.0** (failing below it: 1.3.0)" in docs
    assert main(["bisect", "acme", "--first-good", "--good", "1.0.0", "--bad", "1.9.0"]) == 2
    assert "--bad 1.9.0 must be older than --good 1.0.0 (first good)" in capsys.readouterr().err


def test_a_failing_floor_is_bisected_upward_from_stored_results(
    failing_floor: Path, capsys
) -> None:
    assert main(["run", "compat-acme-min", "compat-acme-latest"]) == 1  # 1.0 fails, 1.9 passes
    capsys.readouterr()
    assert main(["bisect", "acme"]) == 0  # "nothing to bisect" before: nothing fails above
    out = capsys.readouterr().out
    assert "lowest passing version: 1.4.0" in out
    data = json.loads((failing_floor / "docs/compatibility-matrix.json").read_text())
    marks = {m["kind"]: m["text"] for m in data["integrations"]["acme"]["marks"]}
    assert marks["raise-floor"].startswith("raise the minimum to 1.4.0:")  # the probes count
