"""Which releases of an integration are news: the window, the previous release, and what the
matrix has already tested (its stored verdicts). Pure functions over index and result data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat.index import Project, Release
from compat.matrix import Integration
from compat.results import Result, Status

# Statuses that say nothing about a version: it was not installed, or not judged.
_NOT_TESTED = (Status.INSTALL_FAILED, Status.WRONG_VERSION, Status.NOT_APPLICABLE, Status.ERROR)


@dataclass(frozen=True)
class Verdict:
    """What the matrix found for one version: the worst status of its cells."""

    status: Status
    counts_against: bool = False  # a cell is incompatible inside the declared range


def verdicts(results: Iterable[Result], integ: Integration) -> dict[Version, Verdict]:
    """The verdict per tested version of ``integ`` (installed and judged cells only)."""
    found: dict[Version, Verdict] = {}
    package = canonicalize_name(integ.package)
    for result in results:
        if result.integration != integ.name or canonicalize_name(result.package) != package:
            continue
        if result.status in _NOT_TESTED:
            continue
        try:
            version = Version(result.requested)
        except InvalidVersion:
            continue
        known = found.get(version)
        status = result.status
        if known is not None and known.status.severity > status.severity:
            status = known.status
        counts = result.counts_against or (known is not None and known.counts_against)
        found[version] = Verdict(status, counts)
    return found


def newest_tested(tested: dict[Version, Verdict]) -> Version | None:
    """The newest version that installed and was judged."""
    return max(tested, default=None)


def newest_passing(tested: dict[Version, Verdict], below: Version) -> Version | None:
    """The newest version below ``below`` that passed: the baseline of an API diff."""
    return max((v for v, s in tested.items() if s.status.passing and v < below), default=None)


def releases_in_window(
    project: Project, since: datetime, tested: Version | None, *, prereleases: bool = False
) -> list[Release]:
    """Releases uploaded since ``since``; without upload times, those newer than ``tested``."""
    chosen = []
    for release in project.releases:
        if release.version.is_prerelease and not prereleases:
            continue
        uploaded = release.upload_time
        if uploaded is not None:
            if uploaded >= since:
                chosen.append(release)
        elif tested is not None and release.version > tested:
            chosen.append(release)
    return chosen


def previous_release(project: Project, release: Release) -> Release | None:
    """The newest earlier release (finals only, unless ``release`` is a prerelease)."""
    earlier = [
        r
        for r in project.releases
        if r.version < release.version
        and (release.version.is_prerelease or not r.version.is_prerelease)
    ]
    return earlier[-1] if earlier else None


def pinned(integ: Integration, version: Version) -> bool:
    """Whether the project pins ``version``: its minimum, or ``==`` in its declared range."""
    try:
        if Version(integ.min) == version:
            return True
    except InvalidVersion:
        pass
    return any(
        spec.operator in ("==", "===") and spec.version == str(version)
        for declaration in integ.declared.declarations
        for spec in declaration.specifier
    )


def yank_reason(release: Release) -> bool | str:
    if not release.yanked:
        return False
    reasons = [f.yanked for f in release.files if isinstance(f.yanked, str) and f.yanked]
    return reasons[0] if reasons else True
