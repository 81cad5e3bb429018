"""The releases of each integration in a window, with their notes and breaking-change score."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from packaging.version import Version

from compat.github import GitHub, GitHubError
from compat.index import IndexClient, IndexFailure, Project, Release
from compat.matrix import Integration, Matrix
from compat.plan import picks_for
from compat.policy import PolicyError
from compat.upstream.notes import release_notes
from compat.upstream.repo import find_repo
from compat.upstream.score import Score, Signal, score_release

# Extra signals for one release (e.g. from the API diff): (integration, previous, version) -> signals
# (integration, the previous release, the new release)
ExtraSignals = Callable[[Integration, Version | None, Version], Iterable[Signal]]


@dataclass
class ReleaseCheck:
    version: Version
    uploaded: datetime | None
    score: Score
    url: str | None = None  # the GitHub release page
    tag: str | None = None
    notes: str | None = None
    previous: Version | None = None

    @property
    def level(self) -> str:
        return self.score.level

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
        }


@dataclass
class IntegrationCheck:
    integration: Integration
    repo: str | None = None
    repo_source: str | None = None  # "compat.toml" | "project URLs" | None
    tested: Version | None = None  # the newest version the matrix tests
    releases: list[ReleaseCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "integration": self.integration.name,
            "package": self.integration.package,
            "repo": self.repo,
            "repo_source": self.repo_source,
            "tested": str(self.tested) if self.tested else None,
            "releases": [r.to_dict() for r in self.releases],
            "errors": self.errors,
        }


@dataclass
class UpstreamReport:
    days: int
    since: datetime
    checks: list[IntegrationCheck]

    @property
    def releases(self) -> list[ReleaseCheck]:
        return [r for c in self.checks for r in c.releases]

    @property
    def errors(self) -> list[str]:
        return [f"{c.integration.name}: {e}" for c in self.checks for e in c.errors]

    def count(self, level: str) -> int:
        return sum(1 for r in self.releases if r.level == level)

    @property
    def exit_code(self) -> int:
        """2 when something could not be checked, else 1 when any release is ``high``, else 0."""
        if self.errors:
            return 2
        return 1 if self.count("high") else 0

    def to_dict(self) -> dict:
        return {
            "days": self.days,
            "since": self.since.isoformat(),
            "integrations": [c.to_dict() for c in self.checks],
            "summary": {
                "releases": len(self.releases),
                **{level: self.count(level) for level in ("high", "medium", "low")},
                "errors": len(self.errors),
            },
        }


def check_upstream(
    matrix: Matrix,
    client: IndexClient,
    github: GitHub,
    *,
    days: int = 7,
    names: Iterable[str] | None = None,
    now: datetime | None = None,
    extra: ExtraSignals | None = None,
) -> UpstreamReport:
    """Check every integration (or those in ``names``); errors are recorded, not raised."""
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(days=days)
    wanted = list(names) if names else None
    integrations = [matrix.integration(n) for n in wanted] if wanted else matrix.integrations
    checks = [
        check_integration(matrix, integ, client, github, since=since, extra=extra)
        for integ in integrations
    ]
    return UpstreamReport(days, since, checks)


def check_integration(
    matrix: Matrix,
    integ: Integration,
    client: IndexClient,
    github: GitHub,
    *,
    since: datetime,
    extra: ExtraSignals | None = None,
) -> IntegrationCheck:
    result = IntegrationCheck(integ)
    try:
        project = client.project(integ.package)
    except IndexFailure as exc:
        result.errors.append(str(exc))
        return result
    result.tested = newest_tested(matrix, integ, project)
    candidates = releases_to_check(
        project, since, result.tested, prereleases=matrix.settings.prereleases
    )
    if not candidates:
        return result  # nothing new: no GitHub request, no download

    notes: dict[Version, dict] = {}
    try:
        result.repo, result.repo_source = (
            (integ.repo, "compat.toml") if integ.repo else (find_repo(client, project), None)
        )
        if result.repo and not integ.repo:
            result.repo_source = "project URLs"
    except IndexFailure as exc:
        result.errors.append(f"cannot find the GitHub repository: {exc}")
    if result.repo:
        times = [r.upload_time for r in candidates if r.upload_time]
        try:
            notes = release_notes(
                github,
                result.repo,
                integ.package,
                [r.version for r in candidates],
                oldest=min(times) if times else None,
            )
        except GitHubError as exc:
            result.errors.append(f"release notes of {result.repo}: {exc}")

    for release in candidates:
        previous = previous_release(project, release)
        gh = notes.get(release.version)
        previous_version = previous.version if previous else None
        signals = list(extra(integ, previous_version, release.version)) if extra else []
        if result.tested and release.version > result.tested:
            signals.append(Signal("low", f"newer than the newest tested version {result.tested}"))
        if gh is None:
            why = "no release notes found" + (
                f" on {result.repo}" if result.repo else " (no GitHub repository known: set `repo`)"
            )
            signals.append(Signal("low", why))
        score = score_release(
            release.version,
            previous=previous.version if previous else None,
            notes=(gh or {}).get("body") or None,
            requires_python=release.requires_python,
            previous_requires_python=previous.requires_python if previous else None,
            yanked=_yank_reason(release),
            pythons=integ.python,
            extra=signals,
        )
        result.releases.append(
            ReleaseCheck(
                version=release.version,
                uploaded=release.upload_time,
                score=score,
                url=(gh or {}).get("html_url"),
                tag=(gh or {}).get("tag_name"),
                notes=(gh or {}).get("body"),
                previous=previous.version if previous else None,
            )
        )
    return result


def newest_tested(matrix: Matrix, integ: Integration, project: Project) -> Version | None:
    """The newest version the plan selects for ``integ`` (None when the policy cannot apply)."""
    try:
        picks = picks_for(matrix, integ, project)
    except PolicyError:
        return None
    return max(p.version for p in picks)


def releases_to_check(
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


def _yank_reason(release: Release) -> bool | str:
    if not release.yanked:
        return False
    reasons = [f.yanked for f in release.files if isinstance(f.yanked, str) and f.yanked]
    return reasons[0] if reasons else True
