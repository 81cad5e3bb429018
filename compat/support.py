"""What the stored verdicts say about each integration's support: one set of facts that the
docs page, the metadata docstring blocks and the runtime notices all render.

Plain frozen values (strings, tuples), no I/O: ``compat.report`` computes them from the
results, ``compat.metadata`` and ``compat.notices`` turn them into text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownIssue:
    """A version inside the declared range that fails or warns."""

    version: str
    status: str  # a Status value: "failed", "install-failed", "deprecated", …
    reason: str  # one line: the failing test and its message, or the deprecation
    pythons: tuple[str, ...]  # "3.11", "3.12"

    @property
    def breaks(self) -> bool:
        """True when the version does not work (not merely deprecated)."""
        return self.status != "deprecated"


@dataclass(frozen=True)
class Upcoming:
    """A breaking change on its way: a failing prerelease cell or an open high release alert."""

    version: str
    reason: str  # one line
    source: str  # "prerelease cell" | "release alert"


@dataclass(frozen=True)
class Support:
    """The support facts of one integration, from its verdicts."""

    integration: str
    package: str
    declared: str  # the declared specifier in pyproject.toml ("" when none)
    lowest_passing: str | None  # inside the declared range
    highest_passing: str | None  # inside the declared range
    last_tested: str | None  # the newest version that was judged
    last_tested_on: str | None  # the date (YYYY-MM-DD) it was last run
    pythons: tuple[str, ...]  # the Pythons cells actually ran on, "X.Y", ascending
    passing: tuple[str, ...]  # every passing version inside the declared range, ascending
    known_issues: tuple[KnownIssue, ...]  # ascending by version
    next_breaking: tuple[Upcoming, ...] = ()
    file: str | None = None  # the integration module (compat.toml `file`)

    @property
    def known_bad(self) -> tuple[KnownIssue, ...]:
        return tuple(issue for issue in self.known_issues if issue.breaks)
