"""Which versions a support policy selects. Pure functions, no I/O.

The rule, for the releases of one package:

* candidates are the releases that are not yanked, not excluded by the
  integration's ``versions`` specifier, not older than the declared minimum,
  and final releases (prereleases only feed the ``pre`` label);
* ``min`` is the declared minimum (it must exist on the index); ``latest`` is
  the newest candidate;
* the policy walks *series*: the newest patch of each selected series gets a
  ``MAJOR.MINOR`` label unless it is already ``min`` or ``latest`` (no version
  is tested twice under two names):

  - SemVer (``1.14.2``): the latest ``majors`` majors, within each the latest
    ``minors`` minors;
  - 0.x (``0.7.5``): SemVer says anything may change in 0.x, so each ``0.MINOR``
    counts as a major of its own: the latest ``majors`` such series (with
    ``minors`` unused while the package is below 1.0; once it reaches 1.0,
    major 0 is an ordinary previous major);
  - calendar versions (first component ≥ 1900, e.g. ``2026.10.20``): years
    are not breaking changes, so the newest ``majors × minors`` ``YEAR.MINOR``
    series are taken regardless of year;
* ``max`` is the newest candidate the declared range allows, when the range caps the
  package below ``latest`` (``httpx<=0.23.0``): the highest supported version is always
  tested, and ``latest`` is still tested beyond it;
* ``pre`` is the newest prerelease when prereleases are asked for and it is
  newer than ``latest``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from compat.errors import CompatError
from compat.matrix import Policy


class ReleaseLike(Protocol):
    version: Version

    @property
    def yanked(self) -> bool: ...


class PolicyError(CompatError):
    """The policy cannot be applied to this package's history; message ready to print."""


@dataclass(frozen=True)
class Pick:
    label: str
    version: Version
    why: str


def scheme(latest: Version) -> str:
    """``calver``, ``zerover`` or ``semver``, from the newest release."""
    if latest.major >= 1900:
        return "calver"
    return "zerover" if latest.major == 0 else "semver"


def series_key(version: Version) -> tuple[int, int]:
    """(major, minor) of the series ``version`` belongs to."""
    return (version.major, version.minor)


def select(
    releases: Sequence[ReleaseLike],
    *,
    minimum: str,
    policy: Policy,
    exclude: SpecifierSet | None = None,
    prereleases: bool = False,
    allowed: Callable[[Version], bool] | None = None,
) -> list[Pick]:
    """The labelled versions to test, ordered min, series ascending, max, latest, pre.

    ``allowed`` tells whether the declared range admits a version (None: no range).
    """
    min_version = Version(minimum)
    known = {r.version: r for r in releases}
    if min_version not in known:
        near = [str(v) for v in sorted(known) if v.release[:2] == min_version.release[:2]]
        hint = f" (versions of that series: {', '.join(near)})" if near else ""
        raise PolicyError(f"minimum {minimum} does not exist on the index{hint}")
    if exclude is not None and not exclude.contains(min_version, prereleases=True):
        raise PolicyError(f"minimum {minimum} is excluded by versions = {str(exclude)!r}")

    usable = [
        r.version
        for r in releases
        if not r.yanked
        and r.version >= min_version
        and (exclude is None or exclude.contains(r.version, prereleases=True))
    ]
    finals = sorted(v for v in usable if not v.is_prerelease)
    if not finals:
        raise PolicyError(f"no usable final release at or above the minimum {minimum}")
    latest = finals[-1]
    min_why = "declared minimum" + (" (yanked on the index)" if known[min_version].yanked else "")
    picks = [Pick("min", known[min_version].version, min_why)]

    capped = [v for v in finals if allowed(v)] if allowed and not allowed(latest) else []
    highest = capped[-1] if capped and capped[-1] > min_version else None
    middle = []
    for key, why in _series(finals, policy):
        newest = max(v for v in finals if series_key(v) == key)
        if newest not in (min_version, latest, highest):
            middle.append(Pick(f"{key[0]}.{key[1]}", newest, why))
    if highest is not None:
        middle.append(Pick("max", highest, "newest release the declared range allows"))
    picks += sorted(middle, key=lambda pick: pick.version)
    picks.append(Pick("latest", latest, "newest release"))

    pres = sorted(v for v in usable if v.is_prerelease and v > latest)
    if prereleases and pres:
        picks.append(Pick("pre", pres[-1], "newest prerelease, newer than latest"))
    return picks


def _series(finals: list[Version], policy: Policy) -> list[tuple[tuple[int, int], str]]:
    """The selected (major, minor) series, ascending, each with why it was selected."""
    keys = sorted({series_key(v) for v in finals})
    kind = scheme(finals[-1])
    chosen: list[tuple[tuple[int, int], str]] = []
    if kind == "calver":
        count = policy.majors * policy.minors
        chosen = [(k, f"one of the newest {count} calendar series") for k in keys[-count:]]
    elif kind == "zerover":
        chosen = [
            (k, f"one of the latest {policy.majors} 0.x series") for k in keys[-policy.majors :]
        ]
    else:
        majors = sorted({k[0] for k in keys})[-policy.majors :]
        for major in majors:
            minors = [k for k in keys if k[0] == major][-policy.minors :]
            chosen += [
                (
                    k,
                    f"newest patch of {k[0]}.{k[1]}: latest {policy.minors} minors of major {major}",
                )
                for k in minors
            ]
    return sorted(chosen)
