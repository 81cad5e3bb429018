"""Matrix + index → the ordered cells to test, with stable names.

A computed plan is kept in ``.compat/plan.json`` for as long as the index pages it came
from are fresh (their Cache-Control lifetime): while they are, planning reads no page and
parses nothing, so ``nox -l`` and ``compat plan`` cost the same for 4 cells or 400.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from packaging.version import Version

from compat.fileio import write_atomic
from compat.matrix import Integration, Matrix
from compat.policy import Pick, PolicyError, select

if TYPE_CHECKING:
    from compat.index import IndexClient, Project


@dataclass(frozen=True)
class Cell:
    """One integration × version × Python to test."""

    integration: str
    label: str
    package: str
    version: str
    python: str
    requirements: tuple[str, ...]
    why: str
    applicable: bool = True  # False: the release's requires-python excludes this Python
    select: str = ""
    tests: tuple[str, ...] = ()
    in_declared_range: bool = True  # inside what pyproject.toml declares for the package
    declared: str = ""  # that declared specifier, for this Python ("" = none declared)

    @property
    def name(self) -> str:
        """The nox session name without the Python suffix: ``compat-crewai-min``."""
        return f"compat-{self.integration}-{self.label}"

    @property
    def session(self) -> str:
        """The full nox session name: ``compat-crewai-min-3.12``."""
        return f"{self.name}-{self.python}"

    @property
    def resolution(self) -> dict[str, str]:
        """uv's resolution per requirement group: ``min`` lowers the integration's own only."""
        lowered = "lowest-direct" if self.label == "min" else "highest"
        return {"integration": lowered, "test-requires": "highest", "project": "highest"}

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(session=self.session, name=self.name, resolution=self.resolution)
        data["requirements"] = list(self.requirements)
        data["tests"] = list(self.tests)
        return data


@dataclass
class Plan:
    matrix: Matrix
    cells: list[Cell]
    latest_versions: dict[str, str | None] = field(default_factory=dict)  # by integration
    projects: dict[str, Project] = field(default_factory=dict)  # empty when read from the cache

    def latest(self, integration: Integration) -> str | None:
        """The newest final release on the index (tested or not)."""
        return self.latest_versions.get(integration.name)


def minimum(integ: Integration, project: Project) -> tuple[str, str]:
    """The version of the ``min`` cell and why. A ``min`` set in compat.toml is taken as
    given; a floor read from pyproject.toml that is no release the range admits
    (``==0.28.*``, ``>0.5``, a floor never released) becomes the lowest release that is."""
    declared = integ.declared.floor(integ.python)
    if declared != (integ.min, integ.min_source):
        return integ.min, "declared minimum"
    floor = Version(integ.min)
    exact = project.release(floor)
    if exact is not None and any(integ.declared.contains(floor, p) for p in integ.python):
        return integ.min, "declared minimum"
    candidates = [
        r.version
        for r in project.releases
        if not r.yanked
        and not r.version.is_prerelease
        and (integ.versions is None or integ.versions.contains(r.version, prereleases=True))
    ]
    lowest = integ.declared.lowest_release(integ.min, candidates, integ.python)
    if lowest is None:
        return integ.min, "declared minimum"
    return str(lowest), f"lowest release the declared floor {integ.min} admits"


def picks_for(matrix: Matrix, integ: Integration, project: Project) -> list[Pick]:
    """The labelled versions the support policy selects for one integration."""
    declared = integ.declared
    lowest, why = minimum(integ, project)

    def allowed(version) -> bool:
        return any(declared.contains(version, python) for python in integ.python)

    try:
        picks = select(
            project.releases,
            minimum=lowest,
            policy=matrix.settings.policy,
            exclude=integ.versions,
            prereleases=matrix.settings.prereleases,
            allowed=allowed if declared else None,
        )
    except PolicyError as exc:
        where = matrix.root / integ.min_source
        raise PolicyError(f"{where}: integrations.{integ.name}: {exc}") from None
    if lowest != integ.min:
        picks[0] = replace(picks[0], why=why)
    return picks


def make_plan(matrix: Matrix, client: IndexClient) -> Plan:
    """Resolve every integration of ``matrix`` against the index (concurrently)."""
    projects = client.projects([i.package for i in matrix.integrations])
    if matrix.settings.snapshot:
        when = datetime.fromisoformat(matrix.settings.snapshot.replace("Z", "+00:00"))
        projects = {name: project.as_of(when) for name, project in projects.items()}
    cells: list[Cell] = []
    for integ in matrix.integrations:
        project = projects[integ.package]
        for pick in picks_for(matrix, integ, project):
            release = project.release(pick.version)
            why = pick.why + (f" ({integ.min_source})" if pick.label == "min" else "")
            for python in integ.python:
                cells.append(
                    Cell(
                        integration=integ.name,
                        label=pick.label,
                        package=integ.package,
                        version=str(pick.version),
                        python=python,
                        requirements=tuple(integ.requirements(str(pick.version))),
                        why=why,
                        applicable=release.admits(python),
                        select=integ.select,
                        tests=integ.tests,
                        in_declared_range=integ.declared.contains(pick.version, python),
                        declared=str(integ.declared.specifier(python)),
                    )
                )
    latest = {}
    for integ in matrix.integrations:
        finals = [
            r
            for r in projects[integ.package].releases
            if not r.yanked and not r.version.is_prerelease
        ]
        latest[integ.name] = str(finals[-1].version) if finals else None
    return Plan(matrix, cells, latest, projects)


def plan_for(matrix: Matrix, *, offline: bool = False, cached: bool = True) -> Plan:
    """The plan of ``matrix``: from ``.compat/plan.json`` while its index pages are fresh
    (offline: whatever its age), else from the index (``cached=False``: always)."""
    from compat.index import IndexClient

    path = matrix.state_dir / "plan.json"
    key = _key(matrix)
    if cached and not matrix.settings.refresh:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["key"] == key and (offline or time.time() < data["fresh_until"]):
                cells = [
                    Cell(
                        **{
                            **c,
                            "requirements": tuple(c["requirements"]),
                            "tests": tuple(c["tests"]),
                        }
                    )
                    for c in data["cells"]
                ]
                return Plan(matrix, cells, data["latest"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    client = IndexClient(
        matrix.settings.index_url, offline=offline, refresh=matrix.settings.refresh
    )
    plan = make_plan(matrix, client)
    fresh_until = min((p.fresh_until for p in plan.projects.values()), default=0.0)
    if fresh_until > time.time():
        data = {"key": key, "fresh_until": fresh_until, "latest": plan.latest_versions,
                "cells": [asdict(c) for c in plan.cells]}  # fmt: skip
        with contextlib.suppress(OSError):  # a read-only checkout plans every time
            write_atomic(path, json.dumps(data))
    return plan


def _key(matrix: Matrix) -> str:
    """What the plan depends on besides the index pages."""
    from compat.inputs import package_digest

    parts = [matrix.source.read_bytes()]
    pyproject = matrix.root / "pyproject.toml"
    if pyproject.is_file():
        parts.append(pyproject.read_bytes())
    parts.append(
        repr(
            (
                matrix.settings.index_url,
                matrix.settings.snapshot,
                sys.version_info[:2],
                package_digest(),
            )
        ).encode()
    )
    return hashlib.sha256(b"\0".join(parts)).hexdigest()
