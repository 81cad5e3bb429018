"""Find the first upstream release that broke an integration, by running real cells.

Binary search over the releases strictly between a good and a bad version. The ends are
trusted as ``git bisect`` trusts them — given ones, and stored judged verdicts — so a search
over n releases runs at most ⌈log2(n+1)⌉ cells (``verify`` runs the ends first). Releases
that cannot be tested (``install-failed``, ``skipped``, ``not-applicable``, ``error``) are
skipped the way ``git bisect skip`` does, and the answer says so. Only a found answer is
stored; a later passing run of its first-bad version drops it from the docs.

Upward (``first_good``, or automatically when the bad version is the older one, or when
nothing fails above the highest pass but a failing floor lies below the lowest one): the
lowest passing release above a failing one — how far to raise a failing minimum.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from compat import procs, view
from compat.errors import Interrupted
from compat.fileio import write_atomic
from compat.matrix import ConfigError, Integration
from compat.plan import Cell, Plan
from compat.results import Result, ResultError, Status, read_answer, save
from compat.runner import now, run_cell


def is_bad(status: Status) -> bool:
    """A verdict that marks a release as broken for bisecting (it installed and failed)."""
    return status.incompatible and status is not Status.INSTALL_FAILED


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
    unjudged: bool = False  # the problem is an end that could not be judged (exit 2)
    nothing: bool = False  # no stored failure above the highest passing version
    found_at: str = ""
    direction: str = "first-bad"  # or "first-good": upward from a failing (older) version
    first_good: str | None = None  # first-good: the lowest passing release above `bad`
    last_bad: str | None = None  # first-good: the highest failing release below it

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, origin: str) -> Answer:
        """A checked answer (``compat.results.read_answer``); ``ResultError`` otherwise."""
        return cls(**read_answer(data, origin))


def answer_path(results_dir: Path, integration: str) -> Path:
    return results_dir / f"bisect-{integration}.answer.json"


def load_answer(results_dir: Path, integration: str) -> Answer | None:
    path = answer_path(results_dir, integration)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultError(f"{path}: not a bisect answer ({exc})") from None
    return Answer.from_dict(data, str(path))


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
        in_declared_range=integ.declared.contains(version, python),
        declared=str(integ.declared.specifier(python)),
    )


def _version(text: str, flag: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ConfigError(f"{flag} {text!r}: not a version (e.g. 1.4.2)") from None


def run(
    plan: Plan,
    name: str,
    known: dict[str, Result],
    *,
    good: str | None = None,
    bad: str | None = None,
    python: str | None = None,
    verify: bool = False,
    first_good: bool = False,
    echo: Callable[[str], None] = print,
) -> Answer:
    """Bisect integration ``name``; ``known`` are the stored results (by session).

    ``first_good``: search upward from a failing version to the lowest passing one (also
    chosen when ``bad`` is older than ``good``, or when only a failing floor is stored)."""
    matrix = plan.matrix
    integ = matrix.integration(name)
    python = python or integ.python[0]
    if python not in integ.python:
        raise ConfigError(f"--python {python}: {name} is tested on {', '.join(integ.python)}")
    project = plan.projects[integ.package]
    verdicts = {
        r.version: r
        for r in sorted(known.values(), key=lambda r: r.started)
        if r.integration == integ.name and r.python_xy == python and r.status.judged
    }
    good_v = _version(good, "--good") if good else None
    bad_v = _version(bad, "--bad") if bad else None
    for flag, version in (("--good", good_v), ("--bad", bad_v)):
        if version is not None and project.release(version) is None:
            raise ConfigError(f"{flag}: {integ.package} {version} does not exist on the index")
    passing = sorted(v for v, r in verdicts.items() if r.status.passing)
    failing = sorted(v for v, r in verdicts.items() if is_bad(r.status))
    upward = first_good or (good_v is not None and bad_v is not None and bad_v < good_v)
    if not upward and good_v is None and bad_v is None and passing:
        upward = not any(v > passing[-1] for v in failing) and any(
            v < passing[0] for v in failing
        )  # nothing broke above the highest pass, but a floor below the lowest one fails
    if upward:
        good_v, bad_v = _upward_ends(integ, python, passing, failing, good_v, bad_v)
        if good_v <= bad_v:
            raise ConfigError(f"--bad {bad_v} must be older than --good {good_v} (first good)")
    if good_v is None:
        below = [v for v in passing if bad_v is None or v < bad_v]
        if not below:
            raise ConfigError(
                f"no stored passing version of {integ.package} on Python {python} to start "
                f"from: pass --good, or run `compat run {name}` first"
            )
        good_v = below[-1]
    if bad_v is None:
        above = [v for v in failing if v > good_v]
        if not above:
            answer = Answer(
                integ.name, integ.package, python, str(good_v), str(good_v), nothing=True
            )
            answer.problem = (
                f"nothing to bisect: no stored failure of {integ.package} on Python {python} "
                f"above the passing {good_v}"
            )
            return answer
        bad_v = above[0]
    if good_v >= bad_v and not upward:
        raise ConfigError(f"--good {good_v} must be older than --bad {bad_v}")

    answer = Answer(integ.name, integ.package, python, str(good_v), str(bad_v))
    if upward:
        answer.direction = "first-good"

    def probe(version: Version) -> Result:
        cell = bisect_cell(integ, str(version), python)
        echo(f"bisect: testing {integ.package} {version} on Python {python} …")
        result = run_cell(cell, matrix, previous=known.get(cell.session))
        save(result, matrix.results_dir)
        answer.cells.append(
            {"session": cell.session, "version": str(version), "status": result.status.value}
        )
        echo(f"bisect: {integ.package} {version}: {result.status}")
        return result

    with procs.interruptible(), view.sweep(matrix):
        ends = {good_v: verdicts.get(good_v), bad_v: verdicts.get(bad_v)}
        if verify:
            ends = {v: probe(v) for v in ends}
        for version, expected in ((good_v, "good"), (bad_v, "bad")):
            result = ends[version]
            if result is None:
                continue  # a given end without a stored verdict: trusted
            if not result.status.judged:
                answer.problem = (
                    f"the {expected} end {version} could not be judged: {result.message}"
                    + (f" (fix: {result.hint})" if result.hint else "")
                )
                answer.unjudged = True
                return answer
            ok = result.status.passing if expected == "good" else is_bad(result.status)
            if not ok:
                answer.problem = f"the {expected} end {version} is not {expected} ({result.status})"
                return answer
        bad_end = ends[bad_v]
        answer.failures = [asdict(f) for f in bad_end.failures] if bad_end else []
        low, high = sorted((good_v, bad_v))
        _search(answer, integ, project, low, high, probe, matrix.settings.prereleases)
        if procs.stopping():
            raise Interrupted(procs.stop_signal())
    _finish(answer, plan, integ)
    return answer


def _upward_ends(
    integ: Integration,
    python: str,
    passing: list[Version],
    failing: list[Version],
    good: Version | None,
    bad: Version | None,
) -> tuple[Version, Version]:
    """(good, bad) of an upward search: given, else the lowest stored pass above the bad
    end and the highest stored failure below the good one."""
    if good is None:
        above = [v for v in passing if bad is None or v > bad]
        if not above:
            raise ConfigError(
                f"no stored passing version of {integ.package} on Python {python} above the "
                f"failing one: pass --good, or run `compat run {integ.name}` first"
            )
        good = above[0]
    if bad is None:
        below = [v for v in failing if v < good]
        if not below:
            raise ConfigError(
                f"no stored failing version of {integ.package} on Python {python} below the "
                f"passing {good}: pass --bad"
            )
        bad = below[-1]
    return good, bad


def _search(answer, integ, project, low, high, probe, prereleases: bool) -> None:
    """Binary search strictly between ``low`` and ``high``: for the first bad release above a
    good ``low``, or (``first-good``) for the first good one above a bad ``low``."""
    upward = answer.direction == "first-good"
    exclude = integ.versions
    candidates = [
        r.version
        for r in project.releases
        if low < r.version < high
        and not r.yanked
        and (prereleases or not r.version.is_prerelease)
        and (exclude is None or exclude.contains(r.version, prereleases=True))
        and r.admits(answer.python)
    ]
    lo, hi = -1, len(candidates)  # candidates[lo] is like `low`, candidates[hi] like `high`
    skipped: set[int] = set()
    while True:
        untested = [i for i in range(lo + 1, hi) if i not in skipped]
        if not untested:
            break
        middle = (lo + hi) / 2
        index = min(untested, key=lambda i: (abs(i - middle), i))
        result = probe(candidates[index])
        if result.status.passing:
            hi, lo = (index, lo) if upward else (hi, index)
        elif is_bad(result.status):
            hi, lo = (hi, index) if upward else (index, lo)
            answer.failures = [asdict(f) for f in result.failures]
        else:
            skipped.add(index)
            answer.skipped.append(str(candidates[index]))
    answer.found = True
    above = str(candidates[hi]) if hi < len(candidates) else str(high)
    below = str(candidates[lo]) if lo >= 0 else str(low)
    if upward:
        answer.first_good, answer.last_bad = above, below
    else:
        answer.first_bad, answer.last_good = above, below
    answer.suspects = [str(candidates[i]) for i in sorted(skipped) if lo < i < hi]
    if answer.suspects:
        answer.suspects.append(above)


def _finish(answer: Answer, plan: Plan, integ: Integration) -> None:
    """Store a found answer (with where to read about the first bad release)."""
    answer.found_at = now()
    version = answer.first_good if answer.direction == "first-good" else answer.first_bad
    if integ.repo:
        answer.notes_url = f"https://github.com/{integ.repo}/releases?q={version}"
    elif "pypi.org" in plan.matrix.settings.index_url:
        answer.notes_url = f"https://pypi.org/project/{integ.package}/{version}/"
    path = answer_path(plan.matrix.results_dir, integ.name)
    write_atomic(path, json.dumps(answer.to_dict(), indent=2) + "\n")


def describe(answer: Answer) -> str:
    lines = [
        f"bisect {answer.integration} ({answer.package}) on Python {answer.python}: "
        + (
            f"{answer.bad} fails → {answer.good} passes, upward for the lowest passing release"
            if answer.direction == "first-good"
            else f"{answer.good} → {answer.bad}"
        )
    ]
    if answer.nothing:
        return answer.problem or "nothing to bisect"
    if answer.problem:
        lines.append(f"not a good→bad range: {answer.problem}")
    else:
        first = "first good" if answer.direction == "first-good" else "first bad"
        if answer.suspects:
            lines.append(f"{first} is one of: {', '.join(answer.suspects)} (untestable in between)")
        if answer.direction == "first-good":
            lines.append(f"lowest passing version: {answer.first_good}")
            lines.append(f"highest failing version below it: {answer.last_bad}")
        else:
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


def exit_code(answer: Answer) -> int:
    if answer.unjudged:
        return 2
    return 1 if answer.problem and not answer.nothing else 0
