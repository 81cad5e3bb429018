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
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

LOWER = (">=", "~=", "==", "===", ">")


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
        """(version, source) of the lowest declared lower bound over ``pythons``."""
        found: list[tuple[Version, str]] = []
        for python in pythons:
            bounds = [
                (Version(spec.version), declaration.source)
                for declaration in self.declarations
                if declaration.applies(python)
                for spec in declaration.specifier
                if spec.operator in LOWER and _plain(spec.version)
            ]
            if bounds:
                found.append(max(bounds))
        if not found:
            return None
        version, source = min(found)
        return str(version), source

    def upper_bounds(self, python: str) -> list[str]:
        """The specifiers that cap the package on Python ``X.Y`` (``<=0.23.0``, ``<2``)."""
        return [
            str(spec)
            for spec in self.specifier(python)
            if spec.operator in ("<", "<=") or (spec.operator == "~=")
        ]

    def __bool__(self) -> bool:
        return bool(self.declarations)


def _plain(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


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
