"""Verify new releases by running their cells: the evidence a release alert rests on.

Each release to verify gets the cells of its version: the plan's own (``latest``, ``pre``, a
series or ``max``) when the plan has that version, else a one-off probe per Python built as
``compat.bisect`` builds its probes. All of them run in one sweep through the engine
(``compat.sweep.run_cells``), reusing every stored verdict whose inputs did not change. When
a red release follows untested ones, ``compat.bisect`` finds the first bad release.
The decision — which priority, or none — is :meth:`Evidence.priority`; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TextIO

from packaging.version import Version

from compat import bisect
from compat.bisect import Answer, bisect_cell
from compat.errors import CompatError
from compat.index import IndexClient, Project
from compat.matrix import Integration, Matrix
from compat.plan import Cell, Plan, make_plan
from compat.results import Loaded, Result, Status
from compat.upstream.api import ApiTrace

# Red statuses that mean "installs fine, your tests fail": P0 on a stable release in range.
_BREAKS = (Status.FAILED, Status.TIMEOUT)


@dataclass
class Evidence:
    """What the cells of one release said (every Python), and the first bad release."""

    results: list[Result] = field(default_factory=list)
    culprit: Answer | None = None  # bisect's answer when untested releases came before

    @property
    def judged(self) -> list[Result]:
        return [r for r in self.results if r.status.judged]

    @property
    def errors(self) -> list[Result]:
        """Cells that could not be judged (``error``): never a reason for an alert."""
        return [r for r in self.results if not r.status.judged]

    @property
    def red(self) -> list[Result]:
        return [r for r in self.results if r.status.incompatible]

    @property
    def verified(self) -> bool:
        """At least one cell was judged: the evidence, not the notes, decides."""
        return bool(self.judged)

    def priority(self, version: Version, api: ApiTrace | None = None) -> str | None:
        """P0: a stable release inside the declared range installs but your tests fail;
        P1: red with a workaround (beyond the cap, a prerelease, not installable);
        P2: green, but your code calls what it deprecates or the API diff finds your uses;
        None: it passes (or nothing could be judged: then the evidence decides nothing)."""
        if self.red:
            stable_break = not version.is_prerelease and any(
                r.in_declared_range and r.status in _BREAKS for r in self.red
            )
            return "P0" if stable_break else "P1"
        if not self.verified:
            return None
        if any(r.in_declared_range and r.usage_deprecations for r in self.judged):
            return "P2"
        if api is not None and api.breakages:
            return "P2"
        return None

    def verdict(self) -> str:
        """One word or two for people: passes, fails, deprecated, not applicable, …"""
        if self.red:
            return "fails"
        if not self.verified:
            return "could not be judged"
        statuses = {r.status for r in self.judged}
        if statuses == {Status.NOT_APPLICABLE}:
            return "not applicable"
        if Status.SKIPPED in statuses:
            return "skipped"
        if Status.DEPRECATED in statuses:
            return "passes (deprecations)"
        return "passes"

    def per_python(self) -> str:
        """``3.11 passed, 3.12 failed`` (sorted by Python)."""
        return ", ".join(
            f"{r.python_xy} {r.status}"
            for r in sorted(self.results, key=lambda r: tuple(map(int, r.python_xy.split("."))))
        )

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict(),
            "cells": [
                {
                    "session": r.session,
                    "python": r.python_xy,
                    "status": r.status.value,
                    "reused": r.reused,
                    "in_declared_range": r.in_declared_range,
                    "failures": [f.test for f in r.failures],
                    "message": r.message,
                }
                for r in self.results
            ],
            "culprit": self.culprit.to_dict() if self.culprit and self.culprit.found else None,
        }


def release_cells(plan: Plan, integ: Integration, project: Project, version: Version) -> list[Cell]:
    """The cells of ``version``: the plan's (not ``min``, which lowers the integration's
    requirements), one per Python, else a one-off probe per Python."""
    planned: dict[str, Cell] = {}
    for cell in plan.cells:
        if cell.integration == integ.name and cell.label != "min" and cell.version == str(version):
            planned.setdefault(cell.python, cell)
    if planned:
        return list(planned.values())
    release = project.release(version)
    return [
        replace(
            bisect_cell(integ, str(version), python),
            why="release check",
            applicable=release is None or release.admits(python),
        )
        for python in integ.python
    ]


def verify(
    matrix: Matrix,
    client: IndexClient,
    wanted: dict[str, list[Version]],
    known: Loaded,
    *,
    stream: TextIO | None = None,
    jobs: int | None = None,
) -> dict[str, dict[Version, Evidence]]:
    """Run the cells of ``wanted`` (integration -> versions) in one sweep; bisect the first
    red release of each integration when untested releases came before it. ``known`` (the
    merged store) is updated with every new result. Raises ``CompatError`` when no plan can
    be made (then nothing was run)."""
    from compat.sweep import run_cells

    plan = make_plan(matrix, client)
    cells: dict[tuple[str, Version], list[Cell]] = {}
    for name, versions in wanted.items():
        integ = matrix.integration(name)
        project = plan.projects[integ.package]
        for version in sorted(set(versions)):
            cells[(name, version)] = release_cells(plan, integ, project, version)
    flat = [c for group in cells.values() for c in group]
    if not flat:
        return {}
    results = run_cells(matrix, flat, jobs=jobs, stream=stream, known=known.results, audit=0)
    by_session = {r.session: r for r in results}
    for result in results:
        known.add(result)
    found: dict[str, dict[Version, Evidence]] = {}
    for (name, version), group in cells.items():
        evidence = Evidence([by_session[c.session] for c in group if c.session in by_session])
        found.setdefault(name, {})[version] = evidence
    for name, evidences in found.items():
        first_red = next((v for v in sorted(evidences) if _bisectable(evidences[v])), None)
        if first_red is not None:
            integ = matrix.integration(name)
            evidences[first_red].culprit = culprit(
                plan, integ, first_red, evidences[first_red], known
            )
    return found


def _bisectable(evidence: Evidence) -> bool:
    return any(bisect.is_bad(r.status) for r in evidence.results)


def culprit(
    plan: Plan, integ: Integration, version: Version, evidence: Evidence, known: Loaded
) -> Answer | None:
    """The first bad release up to ``version``, by bisect from the newest stored pass, when
    untested releases lie in between; None when there is nothing to search."""
    red = next(r for r in evidence.results if bisect.is_bad(r.status))
    python = red.python_xy
    passing = [
        r.version
        for r in known.results.values()
        if r.integration == integ.name
        and r.python_xy == python
        and r.status.passing
        and r.version < version
    ]
    if not passing:
        return None
    good = max(passing)
    project = plan.projects[integ.package]
    between = [
        r
        for r in project.releases
        if good < r.version < version
        and not r.yanked
        and r.admits(python)
        and (plan.matrix.settings.prereleases or not r.version.is_prerelease)
    ]
    if not between:
        return None
    try:
        answer = bisect.run(
            plan, integ.name, known.results, bad=str(version), python=python, echo=_quiet
        )
    except CompatError:
        return None
    return answer if answer.found else None


def _quiet(_: str) -> None:
    """bisect's progress lines: the sweep's progress already says what runs."""
