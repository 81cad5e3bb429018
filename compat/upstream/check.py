"""The releases of each integration in a window, with their notes and breaking-change score.

Per integration: the releases uploaded in the window; those the matrix already tested and
passed are set aside (not news); for the others, the GitHub release notes, the index's own
signals (version jump, requires-python, yanked), the matrix's verdict when it has one, and the
targeted API diff of what the project uses. Errors are recorded, never raised; once GitHub
cannot be reached, every release says so and scoring goes on without notes. The notes of
releases already tested are scored too (shown in the weekly pull request, never an alert).
``verify_report`` then runs the cells of the news (``compat.upstream.verify``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TextIO

from packaging.version import Version

from compat.errors import CompatError
from compat.github import GitHub, GitHubError, GitHubUnreachable
from compat.index import IndexClient, IndexFailure, Project, Release
from compat.matrix import Integration, Matrix
from compat.results import Loaded, Result
from compat.upstream import timeline
from compat.upstream.api import api_trace, used_names
from compat.upstream.model import IntegrationCheck, ReleaseCheck, TestedRelease, UpstreamReport
from compat.upstream.notes import release_notes
from compat.upstream.repo import find_repo
from compat.upstream.score import Score, Signal, score_release
from compat.upstream.verify import verify
from compat.uses import integration_files


@dataclass(frozen=True)
class Options:
    """How to check: the window end, the stored verdicts, whether to run the API diff."""

    now: datetime
    days: int = 7
    results: tuple[Result, ...] = ()
    api_diff: bool = True


def check_upstream(
    matrix: Matrix,
    client: IndexClient,
    github: GitHub,
    *,
    days: int = 7,
    names: Iterable[str] | None = None,
    now: datetime | None = None,
    results: Iterable[Result] = (),
    api_diff: bool = True,
) -> UpstreamReport:
    """Check every integration (or those in ``names``); errors are recorded, not raised."""
    options = Options(now or datetime.now(timezone.utc), days, tuple(results), api_diff)
    wanted = list(dict.fromkeys(names)) if names else None
    integrations = [matrix.integration(n) for n in wanted] if wanted else matrix.integrations
    checks = [check_integration(matrix, i, client, github, options) for i in integrations]
    return UpstreamReport(days, options.now - timedelta(days=days), checks)


def verify_report(
    matrix: Matrix,
    client: IndexClient,
    report: UpstreamReport,
    known: Loaded,
    *,
    recheck: dict[str, list[Version]] | None = None,
    stream: TextIO | None = None,
) -> None:
    """Run the cells of every new release of ``report`` (and ``recheck``: the versions of
    open alerts, by integration) and attach the evidence; ``known`` is the merged store and
    gets the new results. When no plan can be made, every integration says so and stays
    unverified."""
    wanted: dict[str, list[Version]] = {}
    for check in report.checks:
        versions = [r.version for r in check.releases]
        versions += (recheck or {}).get(check.integration.name, [])
        if versions:
            wanted[check.integration.name] = versions
    report.verified = True
    if not wanted:
        return
    try:
        found = verify(matrix, client, wanted, known, stream=stream)
    except CompatError as exc:
        for check in report.checks:
            if check.integration.name in wanted:
                check.errors.append(f"could not run the cells (unverified): {exc}")
        return
    for check in report.checks:
        evidence = found.get(check.integration.name, {})
        for release in check.releases:
            release.evidence = evidence.get(release.version)
        news = {r.version for r in check.releases}
        for version in sorted(set(evidence) - news):
            check.releases.append(
                ReleaseCheck(version, None, Score("low"), evidence=evidence[version], recheck=True)
            )
        check.releases.sort(key=lambda r: r.version)


def check_integration(
    matrix: Matrix, integ: Integration, client: IndexClient, github: GitHub, options: Options
) -> IntegrationCheck:
    result = IntegrationCheck(integ, integ.repo, "compat.toml" if integ.repo else None)
    try:
        project = client.project(integ.package)
    except IndexFailure as exc:
        result.errors.append(str(exc))
        return result
    verdicts = timeline.verdicts(options.results, integ)
    result.newest_tested = timeline.newest_tested(verdicts)
    news = _news(result, project, verdicts, options, matrix.settings.prereleases)
    if not news and not result.already_tested:
        return result  # nothing in the window: no GitHub request, no download

    before = len(result.errors)
    _find_repo(result, client, project)
    tested = [project.release(t.version) for t in result.already_tested]
    notes, notes_problem = _notes(result, github, [*news, *(r for r in tested if r)])
    if not news:  # the notes of tested releases only inform: missing them is no failure
        result.warnings += result.errors[before:]
        del result.errors[before:]
    files, missing = integration_files(matrix, integ.package) if news else ([], [])
    result.warnings += missing
    used = used_names(client, integ.package, news[-1].version, files) if news else None
    for index, known in enumerate(result.already_tested):
        release = project.release(known.version)
        if release is not None:
            score = _score(integ, project, release, notes, used)
            result.already_tested[index] = replace(known, signals=score.signals)
    for release in news:
        previous = timeline.previous_release(project, release)
        baseline = timeline.newest_passing(verdicts, release.version) or (
            previous.version if previous else None
        )
        trace = (
            api_trace(client, integ.package, baseline, release.version, files)
            if options.api_diff
            else None
        )
        verdict = verdicts.get(release.version)
        gh = notes.get(release.version) or {}
        signals = [
            *(trace.signals() if trace else []),
            *_verdict_signals(verdict),
            *_tested_signals(result.newest_tested, release.version),
            *([] if gh else [Signal("low", _no_notes(result.repo, notes_problem))]),
        ]
        result.releases.append(
            ReleaseCheck(
                version=release.version,
                uploaded=release.upload_time,
                score=_score(integ, project, release, notes, used, signals),
                url=gh.get("html_url"),
                tag=gh.get("tag_name"),
                notes=gh.get("body"),
                previous=previous.version if previous else None,
                api=trace,
                verdict=verdict.status.value if verdict else None,
            )
        )
    return result


def _score(
    integ: Integration,
    project: Project,
    release: Release,
    notes: dict[Version, dict],
    used: frozenset[str] | None,
    extra: Iterable[Signal] = (),
) -> Score:
    """The breaking-change score of ``release``: its notes, the index's signals, ``extra``."""
    previous = timeline.previous_release(project, release)
    return score_release(
        release.version,
        previous=previous.version if previous else None,
        notes=(notes.get(release.version) or {}).get("body") or None,
        requires_python=release.requires_python,
        previous_requires_python=previous.requires_python if previous else None,
        yanked=timeline.yank_reason(release),
        pinned=timeline.pinned(integ, release.version),
        pythons=integ.python,
        used=used,
        extra=extra,
    )


def _news(
    result: IntegrationCheck,
    project: Project,
    verdicts: dict[Version, timeline.Verdict],
    options: Options,
    prereleases: bool,
) -> list[Release]:
    """The releases in the window that are news; those the matrix passed go to
    ``result.already_tested``."""
    since = options.now - timedelta(days=options.days)
    news = []
    for release in timeline.releases_in_window(
        project, since, result.newest_tested, prereleases=prereleases
    ):
        verdict = verdicts.get(release.version)
        if verdict is not None and verdict.status.passing:
            tested = TestedRelease(release.version, release.upload_time, verdict.status.value)
            result.already_tested.append(tested)
        else:
            news.append(release)
    return news


def _tested_signals(newest: Version | None, version: Version) -> list[Signal]:
    if newest is not None and version > newest:
        return [Signal("low", f"newer than the newest tested version {newest}")]
    return []


def _find_repo(result: IntegrationCheck, client: IndexClient, project: Project) -> None:
    if result.repo:
        return
    try:
        result.repo = find_repo(client, project)
    except IndexFailure as exc:
        result.errors.append(f"cannot find the GitHub repository: {exc}")
        return
    result.repo_source = "project URLs" if result.repo else None


def _notes(
    result: IntegrationCheck, github: GitHub, news: list[Release]
) -> tuple[dict[Version, dict], str]:
    """The GitHub releases matching ``news``, and why there are none ("" when asked fine)."""
    if not result.repo:
        return {}, ""
    times = [r.upload_time for r in news if r.upload_time]
    try:
        found = release_notes(
            github,
            result.repo,
            result.integration.package,
            [r.version for r in news],
            oldest=min(times) if times else None,
        )
    except GitHubUnreachable as exc:
        result.errors.append(f"release notes of {result.repo}: {exc}")
        return {}, "GitHub unreachable"
    except GitHubError as exc:
        result.errors.append(f"release notes of {result.repo}: {exc}")
        return {}, str(exc).split(";")[0]
    return found, ""


def _no_notes(repo: str | None, problem: str) -> str:
    if problem:
        return f"release notes unavailable ({problem})"
    if repo:
        return f"no release notes found on {repo}"
    return "no release notes found (no GitHub repository known: set `repo`)"


def _verdict_signals(verdict: timeline.Verdict | None) -> list[Signal]:
    """What the matrix found when it already tested this release (and it did not pass)."""
    if verdict is None:
        return []
    status = verdict.status.value
    if verdict.counts_against:
        return [Signal("high", f"the matrix tested it: {status}")]
    if verdict.status.incompatible:
        return [Signal("medium", f"the matrix tested it: {status} (beyond declared support)")]
    return [Signal("low", f"the matrix tested it: {status}")]
