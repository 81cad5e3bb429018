"""What pyproject.toml declares about an upstream package: its full specifier, per Python.

Requirements naming the package are read from ``[project] dependencies``, every
``[project.optional-dependencies]`` group and every PEP 735 ``[dependency-groups]`` group.
Their specifiers are intersected — what a user installing the library with all its extras
may get — after evaluating each requirement's marker for the Python of a cell. Pure: the
pyproject text in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def lower_bound(spec: Specifier) -> Version | None:
    """The lowest version ``spec`` admits, or a bound just below it: ``>=1.2``, ``~=1.2``,
    ``==1.2``, ``===1.2`` and ``==1.2.*`` give 1.2; ``>1.2`` gives 1.2 (excluded: the plan
    takes the first release above it); ``<``, ``<=`` and ``!=`` give None."""
    text = spec.version
    if spec.operator == "==" and text.endswith(".*"):
        text = text[:-2]
    elif spec.operator not in (">=", "~=", "==", "===", ">"):
        return None
    try:
        return Version(text)
    except InvalidVersion:  # ``===foo``: an arbitrary string, no order
        return None


@dataclass(frozen=True)
class Declaration:
    """One requirement on the package in pyproject.toml."""

    text: str
    specifier: SpecifierSet
    marker: Marker | None
    source: str  # "pyproject.toml:12"

    def applies(self, python: str) -> bool:
        """Whether the marker holds on Python ``X.Y`` (any extra requested, this platform)."""
        if self.marker is None:
            return True
        env = {**default_environment(), "python_version": python}
        env["python_full_version"] = f"{python}.0"
        try:
            return self.marker.evaluate({**env, "extra": ""})
        except (UndefinedComparison, InvalidMarker):
            return True


@dataclass(frozen=True)
class DeclaredRange:
    """The declared support of one package; empty when pyproject.toml does not name it."""

    package: str
    declarations: tuple[Declaration, ...] = ()

    def specifier(self, python: str) -> SpecifierSet:
        """The intersection of the declarations that apply on Python ``X.Y``."""
        spec = SpecifierSet()
        for declaration in self.declarations:
            if declaration.applies(python):
                spec &= declaration.specifier
        return spec

    def contains(self, version: str | Version, python: str) -> bool:
        return self.specifier(python).contains(str(version), prereleases=True)

    def floor(self, pythons: tuple[str, ...]) -> tuple[str, str] | None:
        """(version, source) of the lowest declared lower bound over ``pythons``: on each
        Python the highest bound of every shape (``lower_bound``), then the lowest of those.
        The version need not exist (``==0.28.*`` gives 0.28): see ``lowest_release``."""
        found: list[tuple[Version, str]] = []
        for python in pythons:
            bounds = [
                (bound, declaration.source)
                for declaration in self.declarations
                if declaration.applies(python)
                for spec in declaration.specifier
                if (bound := lower_bound(spec)) is not None
            ]
            if bounds:
                found.append(max(bounds))
        if not found:
            return None
        version, source = min(found)
        return str(version), source

    def lowest_release(
        self, floor: str, versions: list[Version], pythons: tuple[str, ...]
    ) -> Version | None:
        """The lowest of ``versions`` at or above ``floor`` that the range admits on one of
        ``pythons``: 0.28.0 for ``==0.28.*`` (0.28.1 when 0.28.0 was never released), the
        first release after 0.5 for ``>0.5``."""
        bound = Version(floor)
        inside = [
            v
            for v in sorted(versions)
            if v >= bound and any(self.contains(v, python) for python in pythons)
        ]
        return inside[0] if inside else None

    @property
    def sources(self) -> tuple[str, ...]:
        """Where the package is declared: ``pyproject.toml:12``, once each, in reading order."""
        return tuple(dict.fromkeys(d.source for d in self.declarations))

    def upper_bounds(self, python: str) -> list[str]:
        """The specifiers that cap the package on Python ``X.Y`` (``<=0.23.0``, ``<2``,
        ``~=1.2``, ``==0.28.*``)."""
        return [
            str(spec)
            for spec in self.specifier(python)
            if spec.operator in ("<", "<=", "~=", "==", "===")
        ]

    def __bool__(self) -> bool:
        return bool(self.declarations)


def declared_range(
    package: str, pyproject: dict[str, Any], lines: list[str], name: str
) -> DeclaredRange:
    """Every requirement on ``package`` in a parsed pyproject (``lines``: its text, for sources)."""
    wanted = canonicalize_name(package)
    project = pyproject.get("project", {})
    groups: list[list[Any]] = [project.get("dependencies", [])]
    groups += list(project.get("optional-dependencies", {}).values())
    groups += list(pyproject.get("dependency-groups", {}).values())
    found = []
    for group in groups:
        if not isinstance(group, list):
            continue
        for text in group:
            if not isinstance(text, str):
                continue  # {include-group = "…"} tables of PEP 735
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) == wanted:
                found.append(
                    Declaration(text, req.specifier, req.marker, f"{name}:{_line(lines, text)}")
                )
    return DeclaredRange(package, tuple(found))


def _line(lines: list[str], text: str) -> int:
    """The line of ``text`` in the file (the first quoted occurrence), 1 when not found."""
    for number, line in enumerate(lines, 1):
        if f'"{text}"' in line or f"'{text}'" in line:
            return number
    for number, line in enumerate(lines, 1):
        if text in line:
            return number
    return 1
