"""The values ``compat upstream`` produces: per release, per integration, for the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from packaging.version import Version

from compat.matrix import Integration
from compat.upstream.api import ApiTrace
from compat.upstream.score import LEVELS, Score, Signal
from compat.upstream.verify import Evidence

PRIORITIES = ("P0", "P1", "P2")


@dataclass
class ReleaseCheck:
    """A release the matrix has not yet seen pass: scored."""

    version: Version
    uploaded: datetime | None
    score: Score
    url: str | None = None  # the GitHub release page
    tag: str | None = None
    notes: str | None = None
    previous: Version | None = None
    api: ApiTrace | None = None
    verdict: str | None = None  # the matrix's worst verdict for it, when it was tested
    evidence: Evidence | None = None  # its cells, run by ``--verify``
    recheck: bool = False  # not news: the version of an open alert, verified again

    @property
    def level(self) -> str:
        return self.score.level

    @property
    def verified(self) -> bool:
        """Its cells were run and at least one was judged: the evidence decides, not the notes."""
        return self.evidence is not None and self.evidence.verified

    @property
    def priority(self) -> str | None:
        """The alert the evidence justifies (P0, P1, P2), or None."""
        return self.evidence.priority(self.version, self.api) if self.evidence else None

    def to_dict(self) -> dict:
        return {
            "version": str(self.version),
            "uploaded": self.uploaded.isoformat() if self.uploaded else None,
            "level": self.level,
            "reasons": self.score.reasons,
            "signals": [s.to_dict() for s in self.score.signals],
            "url": self.url,
            "tag": self.tag,
            "previous": str(self.previous) if self.previous else None,
            "api_diff": self.api.to_dict() if self.api else None,
            "verdict": self.verdict,
            "verified": self.evidence.to_dict() if self.evidence else None,
            "priority": self.priority,
            "recheck": self.recheck,
        }


def resolves(alerted: Version, passing: Version) -> bool:
    """Whether a pass of ``passing`` ends an alert about ``alerted``: the same or a later
    release (a prerelease passing ends only a prerelease's alert)."""
    return alerted <= passing and (alerted.is_prerelease or not passing.is_prerelease)


@dataclass(frozen=True)
class TestedRelease:
    """A release in the window that the matrix already tested and passed: not news."""

    version: Version
    uploaded: datetime | None
    verdict: str
    signals: tuple[Signal, ...] = ()  # what its notes and the index say: shown, never an alert

    def to_dict(self) -> dict:
        return {
            "version": str(self.version),
            "uploaded": self.uploaded.isoformat() if self.uploaded else None,
            "verdict": self.verdict,
            "signals": [s.to_dict() for s in self.signals],
        }


@dataclass
class IntegrationCheck:
    integration: Integration
    repo: str | None = None
    repo_source: str | None = None  # "compat.toml" | "project URLs" | None
    newest_tested: Version | None = None  # the newest version that installed and was judged
    releases: list[ReleaseCheck] = field(default_factory=list)  # news
    already_tested: list[TestedRelease] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what could not be checked
    warnings: list[str] = field(default_factory=list)  # worth fixing, changes no verdict

    def breaking(self) -> list[ReleaseCheck]:
        """Verified red releases (P0, P1) that no later passing release of this run ends."""
        passing = [r.version for r in self.releases if r.verified and r.priority is None]
        return [
            r
            for r in self.releases
            if r.priority in ("P0", "P1") and not any(resolves(r.version, p) for p in passing)
        ]

    def to_dict(self) -> dict:
        return {
            "integration": self.integration.name,
            "package": self.integration.package,
            "repo": self.repo,
            "repo_source": self.repo_source,
            "tested": str(self.newest_tested) if self.newest_tested else None,
            "releases": [r.to_dict() for r in self.releases],
            "already_tested": [r.to_dict() for r in self.already_tested],
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass
class UpstreamReport:
    days: int
    since: datetime
    checks: list[IntegrationCheck]
    verified: bool = False  # ``--verify``: the cells of each new release were run
    problems: list[str] = field(default_factory=list)  # not about one integration

    @property
    def unjudged(self) -> list[ReleaseCheck]:
        """Verified releases with cells that could not be judged (``error``)."""
        return [r for r in self.releases if r.evidence is not None and r.evidence.errors]

    @property
    def releases(self) -> list[ReleaseCheck]:
        """The new releases (those already tested and passing are not news) and rechecks."""
        return [r for c in self.checks for r in c.releases]

    @property
    def already_tested(self) -> list[TestedRelease]:
        return [r for c in self.checks for r in c.already_tested]

    @property
    def with_releases(self) -> list[IntegrationCheck]:
        return [c for c in self.checks if c.releases]

    @property
    def errors(self) -> list[str]:
        own = [f"{c.integration.name}: {e}" for c in self.checks for e in c.errors]
        return [*self.problems, *own]

    @property
    def incomplete(self) -> list[IntegrationCheck]:
        """Integrations that could not be fully checked."""
        return [c for c in self.checks if c.errors]

    def count(self, level: str) -> int:
        return sum(1 for r in self.releases if r.level == level and not r.recheck)

    def count_priority(self, priority: str | None) -> int:
        return sum(1 for r in self.releases if r.verified and r.priority == priority)

    @property
    def exit_code(self) -> int:
        """2 when something could not be checked (a cell not judged included); else 1 when a
        verified release is red (P0, P1) and no later one passes, or an unverified one scores
        ``high``; else 0."""
        if self.errors or self.unjudged:
            return 2
        if any(c.breaking() for c in self.checks):
            return 1
        return 1 if any(r.level == "high" and not r.verified for r in self.releases) else 0

    def to_dict(self) -> dict:
        return {
            "days": self.days,
            "since": self.since.isoformat(),
            "verified": self.verified,
            "integrations": [c.to_dict() for c in self.checks],
            "summary": {
                "releases": len([r for r in self.releases if not r.recheck]),
                **{p: self.count_priority(p) for p in PRIORITIES},
                "passing": sum(1 for r in self.releases if r.verified and r.priority is None),
                "unverified": sum(1 for r in self.releases if not r.verified),
                **{level: self.count(level) for level in reversed(LEVELS)},
                "already_tested": len(self.already_tested),
                "integrations": len(self.checks),
                "integrations_with_releases": len(self.with_releases),
                "errors": len(self.errors),
            },
        }
