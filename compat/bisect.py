"""Find the first upstream release that broke an integration, by running real cells.

Binary search over the releases strictly between a good and a bad version:
at most ⌈log2(n)⌉+1 cells for n candidates, more only when candidates cannot be
tested (``install-failed``, ``not-applicable``): those are skipped the way
``git bisect skip`` does, and the answer says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from packaging.version import Version

from compat.fileio import write_atomic
from compat.matrix import ConfigError, Integration
from compat.plan import Cell, Plan
from compat.results import Result, load_all, python_xy, save
from compat.runner import run_cell, venv_dir

GOOD = {"passed", "deprecated"}
BAD = {"failed", "timeout", "wrong-version"}


@dataclass
class Answer:
    integration: str
    package: str
    python: str
    good: str
    bad: str
    found: bool = False
    first_bad: str | None = None
    last_good: str | None = None
    skipped: list[str] = field(default_factory=list)  # untestable candidates
    suspects: list[str] = field(default_factory=list)  # could be first bad (skips in the way)
    failures: list[dict] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # every cell run: session, version, status
    notes_url: str | None = None
    problem: str | None = None  # why the range is not good→bad
    found_at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def answer_path(results_dir: Path, integration: str) -> Path:
    return results_dir / f"bisect-{integration}.answer.json"


def load_answer(results_dir: Path, integration: str) -> dict | None:
    path = answer_path(results_dir, integration)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def bisect_cell(integ: Integration, version: str, python: str) -> Cell:
    label = "bisect-" + re.sub(r"[^\w.]", "-", version)
    return Cell(
        integration=integ.name,
        label=label,
        package=integ.package,
        version=version,
        python=python,
        requirements=tuple(integ.requirements(version)),
        why="bisect step",
        select=integ.select,
        tests=integ.tests,
    )


def _stored(results: dict[str, Result], integ: Integration, python: str) -> list[Result]:
    return [
        r
        for r in results.values()
        if r["integration"] == integ.name
        and python_xy(r["python"]) == python
        and r.get("requested")
    ]


def run(
    plan: Plan,
    name: str,
    *,
    good: str | None = None,
    bad: str | None = None,
    python: str | None = None,
    echo: Callable[[str], None] = print,
) -> Answer:
    """Bisect integration ``name``; results of every cell are stored like any other."""
    matrix = plan.matrix
    integ = matrix.integration(name)
    python = python or integ.python[0]
    project = plan.projects[integ.package]
    results = load_all(matrix.results_dir)
    stored = _stored(results, integ, python)
    if good is None:
        passing = [Version(r["requested"]) for r in stored if r["status"] in GOOD]
        good = str(max(passing)) if passing else integ.min
    if bad is None:
        failing = [Version(r["requested"]) for r in stored if r["status"] in BAD]
        bad = str(min(failing)) if failing else plan.latest(integ)
    good_v, bad_v = Version(good), Version(bad)
    if good_v >= bad_v:
        raise ConfigError(f"--good {good} must be older than --bad {bad}")
    for version in (good, bad):
        if project.release(version) is None:
            raise ConfigError(f"{integ.package} {version} does not exist on the index")

    answer = Answer(integ.name, integ.package, python, good, bad)
    known = {Version(r["requested"]): r["status"] for r in stored}

    def status_of(version: Version) -> str:
        cell = bisect_cell(integ, str(version), python)
        echo(f"bisect: testing {integ.package} {version} on Python {python} …")
        result = run_cell(cell, matrix, venv=venv_dir(matrix, cell))
        save(result, matrix.results_dir)
        answer.cells.append(
            {"session": cell.session, "version": str(version), "status": result["status"]}
        )
        echo(f"bisect: {integ.package} {version}: {result['status']}")
        if result["status"] in BAD:
            answer.failures = result["failures"]
        return result["status"]

    good_status = known.get(good_v) or status_of(good_v)
    bad_status = known.get(bad_v) or status_of(bad_v)
    if good_status not in GOOD:
        answer.problem = f"the good end {good} is not good ({good_status})"
    elif bad_status not in BAD:
        answer.problem = f"the bad end {bad} is not bad ({bad_status})"
    if answer.problem:
        return _finish(answer, plan, integ)
    if not answer.failures:  # the bad end's status came from a stored result
        answer.failures = next(
            (r["failures"] for r in stored if Version(r["requested"]) == bad_v), []
        )

    exclude = integ.versions
    candidates = [
        r.version
        for r in project.releases
        if good_v < r.version < bad_v
        and not r.yanked
        and (matrix.settings.prereleases or not r.version.is_prerelease)
        and (exclude is None or exclude.contains(r.version, prereleases=True))
        and r.admits(python)
    ]
    lo, hi = -1, len(candidates)  # candidates[lo] is good, candidates[hi] is bad
    skipped: set[int] = set()
    while True:
        untested = [i for i in range(lo + 1, hi) if i not in skipped]
        if not untested:
            break
        middle = (lo + hi) / 2
        index = min(untested, key=lambda i: (abs(i - middle), i))
        status = status_of(candidates[index])
        if status in GOOD:
            lo = index
        elif status in BAD:
            hi = index  # answer.failures now are those of candidates[hi]
        else:
            skipped.add(index)
            answer.skipped.append(str(candidates[index]))
    answer.found = True
    answer.first_bad = str(candidates[hi]) if hi < len(candidates) else bad
    answer.last_good = str(candidates[lo]) if lo >= 0 else good
    answer.suspects = [str(candidates[i]) for i in sorted(skipped) if lo < i < hi]
    if answer.suspects:
        answer.suspects.append(answer.first_bad)
    return _finish(answer, plan, integ)


def _finish(answer: Answer, plan: Plan, integ: Integration) -> Answer:
    answer.found_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if answer.first_bad:
        if integ.repo:
            answer.notes_url = f"https://github.com/{integ.repo}/releases?q={answer.first_bad}"
        elif "pypi.org" in plan.matrix.settings.index_url:
            answer.notes_url = f"https://pypi.org/project/{integ.package}/{answer.first_bad}/"
    path = answer_path(plan.matrix.results_dir, integ.name)
    write_atomic(path, json.dumps(answer.to_dict(), indent=2) + "\n")
    return answer


def describe(answer: Answer) -> str:
    lines = [
        f"bisect {answer.integration} ({answer.package}) on Python {answer.python}: {answer.good} → {answer.bad}"
    ]
    if answer.problem:
        lines.append(f"not a good→bad range: {answer.problem}")
    else:
        if answer.suspects:
            lines.append(
                f"first bad is one of: {', '.join(answer.suspects)} (untestable in between)"
            )
        lines.append(f"first bad version: {answer.first_bad}")
        lines.append(f"last good version: {answer.last_good}")
        if answer.skipped:
            lines.append(f"skipped (could not be tested): {', '.join(answer.skipped)}")
        for failure in answer.failures[:5]:
            lines.append(f"  failing: {failure['test']}: {failure['message']}")
        if answer.notes_url:
            lines.append(f"release notes: {answer.notes_url}")
    lines.append(
        "cells run: " + (", ".join(f"{c['version']} {c['status']}" for c in answer.cells) or "none")
    )
    return "\n".join(lines)
