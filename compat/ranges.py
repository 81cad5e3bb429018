"""The declared ranges the verdicts justify, and their edit of pyproject.toml.

From the report's facts (``compat.report.Row`` and its ``Mark``s, never the raw results
again): a cap the marks say could be lifted is lifted to the highest passing release's
series when every judged cell above the cap up to it passes; a floor that fails is raised to
the lowest version that passes where it failed. Only judged verdicts count: an ``error`` (❗)
blocks a lift and proposes nothing, a failure beyond the cap (†) never moves a floor, and
nothing is widened past a release that was tested on every Python.

The edit (``apply``) goes through tomlkit: only the specifier inside each requirement string
of the package in ``[project] dependencies``, ``optional-dependencies`` and
``[dependency-groups]`` changes; quoting, comments and every other byte stay as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Array, String

from compat.errors import CompatError
from compat.report import Row
from compat.results import Result, Status

_SPEC = re.compile(r"(===|==|!=|~=|<=|>=|<|>)(\s*)([A-Za-z0-9_.*+!-]+)")


class RangeError(CompatError):
    """pyproject.toml could not be edited; nothing was changed."""


@dataclass(frozen=True)
class RangeEdit:
    """One specifier of one package to change, and the verdicts that justify it."""

    integration: str
    package: str
    kind: str  # cap-lift | raise-floor
    old: str  # the specifier replaced, e.g. "<=0.23.0"
    new: str  # e.g. "<0.29"
    why: str  # one line
    evidence: tuple[tuple[str, str, Status], ...]  # (version, Python X.Y, verdict)

    @property
    def pythons(self) -> list[str]:
        found = {python for _, python, _ in self.evidence}
        return sorted(found, key=lambda p: tuple(int(x) for x in p.split(".")))


def proposals(rows: list[Row]) -> list[RangeEdit]:
    """The edits the marks of ``rows`` ask for and the verdicts support."""
    edits: list[RangeEdit] = []
    for row in rows:
        kinds = {mark.kind for mark in row.marks}
        if "cap-lift" in kinds:
            edits += _cap_lifts(row)
        if "raise-floor" in kinds:
            edits += _floor_raise(row)
    return edits


def _grid(row: Row) -> dict[Version, dict[str, list[Result]]]:
    """version -> Python -> its results (plan cells and bisect probes alike)."""
    grid: dict[Version, dict[str, list[Result]]] = {}
    for result in row.history:
        grid.setdefault(result.version, {}).setdefault(result.python_xy, []).append(result)
    return grid


def _fine(results: list[Result]) -> bool:
    """Every cell passed or did not apply; an ``error`` is not fine (not judged)."""
    return all(r.status.passing or r.status is Status.NOT_APPLICABLE for r in results)


def _worst(results: list[Result]) -> Status:
    return max((r.status for r in results), key=lambda s: s.severity)


def _evidence(grid, versions: list[Version]) -> tuple[tuple[str, str, Status], ...]:
    return tuple(
        (str(v), python, _worst(grid[v][python])) for v in versions for python in sorted(grid[v])
    )


def _caps(row: Row) -> list[Specifier]:
    found = {
        spec
        for declaration in row.integration.declared.declarations
        for spec in declaration.specifier
        if spec.operator in ("<", "<=")
    }
    return sorted(found, key=str)


def _cap_lifts(row: Row) -> list[RangeEdit]:
    integ = row.integration
    grid = _grid(row)
    floor = Version(integ.min)
    edits = []
    for cap in _caps(row):
        above = sorted(v for v in grid if v > floor and not v.is_prerelease and v not in cap)
        highest = None
        for version in above:
            cells = grid[version]
            if not all(_fine(results) for results in cells.values()):
                break  # a failure or an unjudged cell: the lift stops below it
            everywhere = all(python in cells for python in integ.python)
            if everywhere and any(r.status.passing for rs in cells.values() for r in rs):
                highest = version
        if highest is None:
            continue
        new = f"<={highest}" if cap.operator == "<=" else f"<{highest.major}.{highest.minor + 1}"
        shown = [v for v in above if v <= highest]
        why = (
            f"every judged cell above `{cap}` passes up to {highest} "
            f"(Python {', '.join(integ.python)})"
        )
        evidence = _evidence(grid, shown)
        edits.append(RangeEdit(integ.name, integ.package, "cap-lift", str(cap), new, why, evidence))
    return edits


def _floor_raise(row: Row) -> list[RangeEdit]:
    integ = row.integration
    if not integ.min_source.startswith("pyproject.toml"):
        return []  # the minimum is compat.toml's own: not a declared floor to edit
    failing = sorted({r.python_xy for r in row.cells if r.label == "min" and r.counts_against})
    if not failing:
        return []
    grid = _grid(row)
    floor = Version(integ.min)
    target = None
    for version in sorted(v for v in grid if v > floor and not v.is_prerelease):
        cells = grid[version]
        results = [r for rs in cells.values() for r in rs]
        passes_there = all(
            python in cells and any(r.status.passing for r in cells[python]) for python in failing
        )
        clean = all(_fine(rs) for rs in cells.values())  # nothing red, nothing unjudged
        if passes_there and clean and all(r.in_declared_range for r in results):
            target = version
            break
    if target is None:
        return []
    shown = [v for v in sorted(grid) if floor <= v <= target and not v.is_prerelease]
    why = f"the declared minimum {floor} fails on Python {', '.join(failing)}; {target} passes"
    evidence = _evidence(grid, shown)
    return [
        RangeEdit(integ.name, integ.package, "raise-floor", old, f">={target}", why, evidence)
        for old in (f">={floor}", f">{floor}")
    ]


# -- the edit ----------------------------------------------------------------------------------


def apply(text: str, edits: list[RangeEdit], name: str = "pyproject.toml") -> tuple[str, list]:
    """``text`` with ``edits`` applied to the requirement strings they name, and the edits
    that changed something. Raises ``RangeError`` when the text is not TOML."""
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise RangeError(f"{name}: not valid TOML ({exc}); no range was edited") from None
    applied: list[RangeEdit] = []
    for array in _requirement_arrays(doc):
        for index, item in enumerate(list(array)):
            if not isinstance(item, String):
                continue
            try:
                package = canonicalize_name(Requirement(str(item)).name)
            except InvalidRequirement:
                continue
            value = str(item)
            for edit in edits:
                if canonicalize_name(edit.package) == package:
                    changed = _replace(value, edit.old, edit.new)
                    if changed != value:
                        value = changed
                        applied.append(edit)
            if value != str(item):
                array[index] = String.from_raw(value, item.type)
    return tomlkit.dumps(doc), list(dict.fromkeys(applied))


def _requirement_arrays(doc) -> list[Array]:
    project = doc.get("project", {})
    arrays = [project.get("dependencies")]
    arrays += list(project.get("optional-dependencies", {}).values())
    arrays += list(doc.get("dependency-groups", {}).values())
    return [a for a in arrays if isinstance(a, Array)]


def _replace(requirement: str, old: str, new: str) -> str:
    """``requirement`` with the specifier ``old`` (same operator and version) replaced by
    ``new``; the spacing, the other specifiers and the marker untouched."""
    head, sep, marker = requirement.partition(";")
    wanted = Specifier(old)
    replacement = Specifier(new)

    def swap(match: re.Match) -> str:
        if match.group(1) != wanted.operator or not _same(match.group(3), wanted.version):
            return match.group(0)
        return f"{replacement.operator}{match.group(2)}{replacement.version}"

    return _SPEC.sub(swap, head) + sep + marker


def _same(text: str, version: str) -> bool:
    try:
        return Version(text) == Version(version)
    except InvalidVersion:
        return text == version
