"""Matrix + index → the ordered cells to test, with stable names."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from compat.index import IndexClient, Project
from compat.matrix import Integration, Matrix
from compat.policy import Pick, PolicyError, select


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
    projects: dict[str, Project] = field(default_factory=dict)

    def latest(self, integration: Integration) -> str | None:
        """The newest final release on the index (tested or not)."""
        project = self.projects.get(integration.package)
        finals = [r for r in project.releases if not r.yanked and not r.version.is_prerelease]
        return str(finals[-1].version) if finals else None

    def sessions(self) -> dict[str, list[Cell]]:
        """Cells grouped by nox session name (without Python suffix), in plan order."""
        grouped: dict[str, list[Cell]] = {}
        for cell in self.cells:
            grouped.setdefault(cell.name, []).append(cell)
        return grouped


def picks_for(matrix: Matrix, integ: Integration, project: Project) -> list[Pick]:
    """The labelled versions the support policy selects for one integration."""
    declared = integ.declared

    def allowed(version) -> bool:
        return any(declared.contains(version, python) for python in integ.python)

    try:
        return select(
            project.releases,
            minimum=integ.min,
            policy=matrix.settings.policy,
            exclude=integ.versions,
            prereleases=matrix.settings.prereleases,
            allowed=allowed if declared else None,
        )
    except PolicyError as exc:
        where = matrix.root / integ.min_source
        raise PolicyError(f"{where}: integrations.{integ.name}: {exc}") from None


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
    return Plan(matrix, cells, projects)
