"""GitHub issues: release alerts and compatibility failures, deduplicated by title.

An open issue with the same title is never filed twice: it gets a comment when
the new body differs from its last body or comment, and is left alone
otherwise. At most ``max_new`` issues are created per run; the rest are named.
Every piece of outside text (release notes, test names, messages, logs) goes into
the body through ``compat.markdown`` — inside code spans or fences it cannot close —
so nothing in it renders, links, pings anyone or references another issue.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from compat.errors import CompatError
from compat.github import GitHub
from compat.markdown import code, fence, plain
from compat.results import Result, Status, load_all
from compat.text import safe

EXCERPT_CHARS = 2000
EXCERPT_LINES = 40


class IssueError(CompatError):
    """Issues could not be prepared (bad results, no target repository); ready to print."""


@dataclass(frozen=True)
class Draft:
    title: str
    body: str
    labels: tuple[str, ...]
    key: str = ""  # when set: the verdict's digest; the issue is updated only when it changes


@dataclass
class Outcome:
    action: str  # created | commented | unchanged | closed | left-out (+ "would …" on a dry run)
    title: str
    number: int | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return {"action": self.action, "title": self.title, "number": self.number, "url": self.url}


def excerpt(text: str, *, chars: int = EXCERPT_CHARS, lines: int = EXCERPT_LINES) -> str:
    """The start of ``text`` in a fence, capped; says when it was cut."""
    kept = text.strip().replace("\r\n", "\n").split("\n")
    cut = len(kept) > lines
    out, size = [], 0
    for line in kept[:lines]:
        if size + len(line) > chars:
            cut = True
            break
        out.append(line)
        size += len(line) + 1
    return fence("\n".join(out) + ("\n[…]" if cut else ""), "text")


# -- release alerts ------------------------------------------------------------------------------


def release_alert(check, release) -> Draft:
    """The issue for one release of an integration (``IntegrationCheck``, ``ReleaseCheck``)."""
    integ = check.integration
    version = str(release.version)
    date = release.uploaded.date().isoformat() if release.uploaded else "an unknown date"
    parts = [
        f"**{integ.package} {version}** was published on {date}"
        + (f" (previous release: {release.previous})." if release.previous else "."),
        "",
        f"Breaking-change score: **{release.level}**",
        "",
        f"**Unverified**: {_unverified(release)}",
        "",
        "Reasons:",
        *[f"- {code(reason)}" for reason in release.score.reasons],
        "",
    ]
    if release.url:
        parts += [f"Release notes: {code(release.url)}", ""]
    notes = "\n".join(release.score.lines) or (release.notes or "")
    if notes.strip():
        parts += ["Relevant excerpt of the release notes:", "", excerpt(notes), ""]
    parts += [
        "### Test it locally",
        "",
        fence(
            f"nox -s compat-{integ.name}-latest        # the latest release the matrix tests\n"
            f'uv pip install "{integ.package}=={version}"   # or this exact version, in any venv',
            "bash",
        ),
        "",
        f'To run the matrix on exactly this version, set `versions = "=={version}"` under '
        f'`[integrations.{integ.name}]` in compat.toml for the run (or `min = "{version}"`), '
        f"then `nox -s compat-{integ.name}-latest`.",
    ]
    return Draft(
        title=f"[Release Alert] {integ.name} {version}",
        body="\n".join(parts) + "\n",
        labels=("release-alert", integ.name, f"priority:{release.level}"),
    )


def _unverified(release) -> str:
    """Why an alert rests on the release notes and the API diff alone."""
    errors = release.evidence.errors if release.evidence else []
    if errors:
        return (
            f"its cells could not be judged ({code(errors[0].message)}), so this score comes "
            "from the release notes and the API diff alone."
        )
    return (
        "scored from the release notes and the API diff; its cells were not run "
        "(`compat upstream --verify` runs them first and files only what fails)."
    )


def open_high_alerts(github: GitHub, repo: str) -> dict[str, list[tuple[str, str]]]:
    """The open ``[Release Alert]`` issues that announce a break (``P0``, ``P1``, or an
    unverified ``priority:high``): integration -> [(version, first reason)]. They announce
    breaking changes not yet in the verdicts."""
    found: dict[str, list[tuple[str, str]]] = {}
    for issue in github.open_issues(repo, "release-alert"):
        match = _ALERT_TITLE.fullmatch(issue.get("title", ""))
        labels = _labels(issue)
        if not match or not labels & {"P0", "P1", "priority:high"}:
            continue
        body = issue.get("body") or ""
        reasons = re.findall(r"^- `+ ?(.*?) ?`+$", body.split("Reasons:", 1)[-1], re.MULTILINE)
        found.setdefault(match.group(1), []).append(
            (match.group(2), reasons[0] if reasons else "release alert")
        )
    return found


def release_alerts(report, level: str = "medium") -> list[Draft]:
    """Unverified alerts: every release of ``report`` scored ``level`` or above."""
    from compat.upstream.score import rank

    return [
        release_alert(check, release)
        for check in report.checks
        for release in check.releases
        if rank(release.level) >= rank(level) and not release.recheck
    ]


# -- verified release alerts ---------------------------------------------------------------------

_ALERT_TITLE = re.compile(r"\[Release Alert\] (\S+) (\S+)")
PRIORITY_LABELS = {"P0", "P1", "P2", "priority:low", "priority:medium", "priority:high"}
_WHY = {
    "P0": "a stable release inside your declared range installs, and your tests fail: "
    "users who upgrade break",
    "P1": "your tests fail, and a workaround exists",
    "P2": "your tests pass, but",
}


def _labels(issue: dict) -> set[str]:
    return {label.get("name", "") for label in issue.get("labels") or [] if isinstance(label, dict)}


@dataclass(frozen=True)
class OpenAlert:
    """An open ``[Release Alert] <integration> <version>`` issue."""

    number: int
    integration: str
    version: Version
    labels: frozenset[str]
    url: str | None = None

    @property
    def kind(self) -> str:
        """``warn`` for a P2 alert (tests pass), ``red`` for the rest (old unverified ones too)."""
        return "warn" if "P2" in self.labels else "red"


def open_alerts(github: GitHub, repo: str) -> list[OpenAlert]:
    """The open release alerts of ``repo`` (label ``release-alert``), oldest version first."""
    found = []
    for issue in github.open_issues(repo, "release-alert"):
        match = _ALERT_TITLE.fullmatch(issue.get("title", ""))
        if not match:
            continue
        try:
            version = Version(match.group(2))
        except InvalidVersion:
            continue
        found.append(
            OpenAlert(
                issue["number"],
                match.group(1),
                version,
                frozenset(_labels(issue)),
                issue.get("html_url"),
            )
        )
    return sorted(found, key=lambda a: (a.integration, a.version))


@dataclass
class _Breakage:
    """Consecutive releases of one integration that share a verdict: one issue."""

    integration: str
    version: Version  # the open alert's, else the first release's: the issue's title
    kind: str  # red | warn
    alert: OpenAlert | None = None
    releases: list = field(default_factory=list)  # ReleaseCheck
    resolved: bool = False  # a release up from ``version`` passes

    @property
    def title(self) -> str:
        return _title(self.integration, self.version)


@dataclass
class AlertPlan:
    """What the verified evidence asks of the issue tracker."""

    drafts: list[Draft] = field(default_factory=list)
    closes: list[tuple[OpenAlert, str]] = field(default_factory=list)  # (alert, comment)


def plan_alerts(report, alerts: list[OpenAlert], level: str = "medium") -> AlertPlan:
    """Drafts and closings from a verified report (``UpstreamReport``) and the open alerts.

    Per integration, releases in version order: a red one (P0/P1) joins the open red alert
    (one breakage, one issue) or starts one; a P2 one likewise among the P2 alerts. A release
    whose cells pass resolves the alerts up to its version: an open one is closed ("a later
    release passes", or "the cells pass now" for its own version), a new one is never filed.
    Releases that could not be judged fall back to the unverified score (``level`` and up).
    """
    from compat.upstream.model import resolves
    from compat.upstream.score import rank

    plan = AlertPlan()
    for check in report.checks:
        name = check.integration.name
        groups = [
            _Breakage(name, a.version, a.kind, alert=a) for a in alerts if a.integration == name
        ]
        current = {group.kind: group for group in groups}  # the newest open alert of each kind
        for release in sorted(check.releases, key=lambda r: r.version):
            if not release.verified:
                if not release.recheck and rank(release.level) >= rank(level):
                    plan.drafts.append(release_alert(check, release))
                continue
            priority = release.priority
            if priority in (None, "P2"):
                kinds = ("red",) if priority == "P2" else ("red", "warn")
                ended = [
                    g
                    for g in groups
                    if g.kind in kinds and not g.resolved and resolves(g.version, release.version)
                ]
                for group in ended:
                    group.resolved = True
                    if group.alert is not None:
                        plan.closes.append((group.alert, _closing(check, release, group)))
                current = {k: g for k, g in current.items() if not g.resolved}
            if priority is None:
                continue
            kind = "warn" if priority == "P2" else "red"
            if kind not in current:
                current[kind] = _Breakage(name, release.version, kind)
                groups.append(current[kind])
            current[kind].releases.append(release)
        plan.drafts += [
            verified_alert(check, group)
            for group in groups
            if group.releases and not group.resolved
        ]
    return plan


def _title(integration: str, version) -> str:
    return f"[Release Alert] {integration} {version}"


def _closing(check, release, group: _Breakage) -> str:
    package = check.integration.package
    evidence = release.evidence
    if release.version == group.version:
        what = f"the cells of **{package} {release.version}** pass now ({evidence.per_python()})"
    else:
        what = f"**{package} {release.version}**, a later release, passes ({evidence.per_python()})"
    return (
        f"Closed by nox-compat: {what}, verified by running your tests "
        "(`compat upstream --verify`).\n"
    )


def verified_alert(check, group: _Breakage) -> Draft:
    """The issue for one breakage: its releases, their cells, failing tests, the first bad
    release, the API changes among your uses; outside text in code spans and fences."""
    integ = check.integration
    releases = group.releases
    priority = min(r.priority for r in releases)
    first = releases[0]
    versions = ", ".join(str(r.version) for r in releases)
    results = [res for r in releases for res in r.evidence.results]
    parts = [
        f"**{integ.package} {versions}**: nox-compat ran your tests against "
        f"{'it' if len(releases) == 1 else 'them'} (`compat upstream --verify`).",
        "",
        f"Priority **{priority}**: {_why(priority, releases)}.",
        "",
        "Reasons:",
        *[f"- {code(_reason(r))}" for r in releases],
        "",
        "| release | published | cells |",
        "|---|---|---|",
    ]
    for r in releases:
        date = r.uploaded.date().isoformat() if r.uploaded else "—"
        ordered = sorted(r.evidence.results, key=lambda x: x.python_xy)
        cells = ", ".join(f"{x.status.symbol} {x.python_xy} {x.status}" for x in ordered)
        parts.append(f"| {r.version} | {date} | {cells} |")
    answer = next((r.evidence.culprit for r in releases if r.evidence.culprit), None)
    if answer is not None:
        parts += [
            "",
            f"First bad release: **{answer.first_bad}** (bisect on Python {answer.python}: "
            f"{answer.last_good} passes; "
            f"{len(answer.cells)} release(s) tested in between).",
        ]
        if answer.suspects:
            parts.append(f"It may be any of {', '.join(answer.suspects)} (untestable releases).")
    parts += _failing_tests(results)
    unbuilt = [res for res in results if res.status.incompatible and not res.failures]
    for res in unbuilt[:3]:
        parts += ["", f"{res.python_xy} {res.status}: {code(res.message or str(res.status), 600)}"]
    parts += _deprecations(results)
    breakages = [b for r in releases if r.api for b in r.api.breakages]
    if breakages:
        parts += ["", "### API changes among your uses (static diff)", ""]
        for b in breakages[:20]:
            parts.append(f"- {code(b.message)} at {code(', '.join(b.used_at))}")
    errors = [res for r in releases for res in r.evidence.errors]
    if errors:
        parts += ["", f"Not judged (`error`, not counted): {code(errors[0].message)}"]
    notes = [s for r in releases for s in r.score.signals if not _own(s.reason)]
    if notes:
        parts += ["", "### What the release notes and the index say (not why this was filed)", ""]
        parts += [f"- {code(s.reason)}" for s in notes[:10]]
    urls = [r.url for r in releases if r.url]
    if urls:
        parts += ["", f"Release notes: {code(urls[-1])}"]
    parts += ["", "### Reproduce", "", fence(_reproduce(integ, first), "bash")]
    key = _digest(priority, releases, answer)
    parts += ["", f"<!-- compat-alert: {key} -->"]
    return Draft(
        title=group.title,
        body="\n".join(parts) + "\n",
        labels=("release-alert", integ.name, priority),
        key=key,
    )


def _why(priority: str, releases) -> str:
    if priority == "P0":
        return _WHY["P0"]
    if priority == "P1":
        red = [res for r in releases for res in r.evidence.red]
        if any(not res.in_declared_range for res in red):
            how = "it is beyond your declared range: the cap keeps your users on versions that work"
        elif all(r.version.is_prerelease for r in releases if r.evidence.red):
            how = "it is a prerelease: fix it before the final release"
        else:
            how = "it cannot be installed as tested: resolvers pick an older release"
        return f"{_WHY['P1']} ({how})"
    uses = any(res.usage_deprecations for r in releases for res in r.evidence.judged)
    what = (
        "your code calls APIs it deprecates"
        if uses
        else "the API diff finds changes in what your code uses"
    )
    return f"{_WHY['P2']} {what}"


def _reason(release) -> str:
    evidence = release.evidence
    red = evidence.red
    if red:
        tests = _unique((f.test,) for res in red for f in res.failures)
        where = ", ".join(sorted({res.python_xy for res in red}))
        text = f"{release.version}: {red[0].status} on Python {where}"
        return text + (f" ({tests[0][0]})" if tests else "")
    deprecations = [d for res in evidence.judged for d in res.usage_deprecations]
    if deprecations:
        return f"{release.version}: {deprecations[0].category}: {deprecations[0].message}"
    return f"{release.version}: passes; the API diff finds changes in what your code uses"


def _own(reason: str) -> bool:
    """Signals that restate what the evidence says better (the matrix's verdict, baselines)."""
    return reason.startswith(("the matrix tested it", "newer than the newest tested", "API diff"))


def _reproduce(integ, release) -> str:
    cells = release.evidence.red or release.evidence.judged
    lines = [f"nox -s {res.session}" for res in cells[:1] if not res.is_bisect]
    lines.append(
        f'uv pip install "{integ.package}=={release.version}"   # this exact version, in any venv'
    )
    return "\n".join(lines)


def _digest(priority: str, releases, answer) -> str:
    """What the verdict is made of — not when it ran — so that an unchanged verdict leaves
    the issue alone and a changed one updates it."""
    cells = {
        str(r.version): sorted(
            (res.python_xy, res.status.value, sorted(f.test for f in res.failures))
            for res in r.evidence.results
        )
        for r in releases
    }
    data = [priority, cells, answer.first_bad if answer else None]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


# -- compatibility failures from results ---------------------------------------------------------


def priority(result: Result) -> str | None:
    """P0: ``latest`` fails (blocks users); P1: an older supported version fails; P2: your code
    calls deprecated APIs. Nothing for cells beyond the declared range or not judged."""
    if not result.in_declared_range or not result.status.judged:
        return None
    if result.status.incompatible:
        return "P2" if result.label == "pre" else ("P0" if result.label == "latest" else "P1")
    if result.status is Status.DEPRECATED and result.usage_deprecations:
        return "P2"
    return None


@dataclass
class _Group:
    integration: str
    label: str
    version: str
    status: str
    results: list[Result] = field(default_factory=list)


def compat_failures(results: Iterable[Result]) -> list[Draft]:
    """One issue per integration/label/version/status that fails or deprecates (all Pythons)."""
    groups: dict[tuple[str, str, str, str], _Group] = {}
    for r in results:
        if r.is_bisect or priority(r) is None:
            continue
        key = (r.integration, r.label, r.requested, r.status.value)
        groups.setdefault(key, _Group(*key)).results.append(r)
    order = {"P0": 0, "P1": 1, "P2": 2}
    drafts = [_failure_draft(g) for g in groups.values()]
    return sorted(drafts, key=lambda d: (order[d.labels[-1]], d.title))


def _failure_draft(group: _Group) -> Draft:
    results = sorted(group.results, key=lambda r: r.python)
    first = results[0]
    prio = priority(first) or "P2"
    pythons = ", ".join(plain(r.python) for r in results)
    why = {
        "P0": "the `latest` release fails: this blocks users",
        "P1": "an older supported version fails (a workaround exists: upgrade)",
        "P2": "minor impact",
    }[prio]
    parts = [
        f"**{plain(first.package)} {plain(group.version)}** ({code(group.label)}) is "
        f"**{plain(group.status)}** on Python {pythons}.",
        "",
        f"Priority **{prio}**: {why}.",
        "",
    ]
    for r in results:
        counts = ", ".join(
            f"{r.tests[k]} {k}" for k in ("passed", "failed", "errors", "skipped") if k in r.tests
        )
        installed = (
            f"; installed {plain(r.installed)}"
            if r.installed and r.installed != group.version
            else ""
        )
        parts.append(f"- {code(r.session)}: {r.status} ({counts}){installed}")
    if first.message:
        parts += ["", f"Message: {code(first.message, 1000)}"]
    parts += _failing_tests(results)
    parts += _deprecations(results)
    if first.log_tail and (
        group.status in ("install-failed", "timeout", "wrong-version")
        or not any(r.failures for r in results)
    ):
        parts += ["", "### Log tail", "", fence(first.log_tail)]
    parts += [
        "",
        "### Reproduce",
        "",
        fence(f"nox -s compat-{group.integration}-{group.label}", "bash"),
    ]
    return Draft(
        title=f"[Compat] {group.integration} {group.label} {group.version} {group.status}",
        body="\n".join(parts) + "\n",
        labels=("compat", group.integration, prio),
    )


def _failing_tests(results: list[Result]) -> list[str]:
    """The "Failing tests" section of an issue body (empty without failures)."""
    failures = _unique((f.test, f.message) for r in results for f in r.failures)
    if not failures:
        return []
    parts = ["", "### Failing tests", ""]
    for test, message in failures[:20]:
        parts.append(f"- {code(test)}")
        if message:
            parts.append(
                excerpt(message, chars=600, lines=8).replace("\n", "\n  ").join(["  ", ""])
            )
    if len(failures) > 20:
        parts.append(f"- … and {len(failures) - 20} more")
    return parts


def _deprecations(results: list[Result]) -> list[str]:
    """The "Deprecated APIs your code calls" section of an issue body (empty without any)."""
    deprecations = _unique(
        (d.category, d.message, d.source) for r in results for d in r.usage_deprecations
    )
    if not deprecations:
        return []
    parts = ["", "### Deprecated APIs your code calls", ""]
    for category, message, source in deprecations[:20]:
        parts.append(f"- {code(category)} at {code(source)}: {code(message)}")
    return parts


def _unique(items: Iterable[tuple]) -> list[tuple]:
    return list(dict.fromkeys(items))


# -- filing ---------------------------------------------------------------------------------------


def file_issues(
    github: GitHub | None,
    repo: str | None,
    drafts: list[Draft],
    *,
    max_new: int = 10,
    dry_run: bool = False,
) -> list[Outcome]:
    """Create, comment on or leave alone one issue per draft (deduplicated by title).

    On a dry run nothing is written; the existing issues are still looked up
    when a repository is given.
    """
    if not dry_run and (github is None or not repo):
        raise IssueError(
            "no repository to file issues in: pass --repo OWNER/NAME or set GITHUB_REPOSITORY"
        )
    outcomes: list[Outcome] = []
    created = 0
    for draft in drafts:
        existing = (
            github.find_open_issue(repo, draft.title, draft.labels[0]) if github and repo else None
        )
        if existing is not None:
            number, url = existing["number"], existing.get("html_url")
            comments = github.comments(repo, number)
            last = comments[-1].get("body") if comments else existing.get("body")
            if _same(last, draft.body) or (draft.key and draft.key in (last or "")):
                outcomes.append(Outcome("unchanged", draft.title, number, url))
                continue
            if not dry_run:
                github.comment(repo, number, draft.body)
                _relabel(github, repo, existing, draft.labels)
            action = "would comment" if dry_run else "commented"
            outcomes.append(Outcome(action, draft.title, number, url))
        elif created >= max_new:
            outcomes.append(Outcome("left-out", draft.title))
        else:
            created += 1
            if dry_run:
                outcomes.append(Outcome("would create", draft.title))
            else:
                issue = github.create_issue(repo, draft.title, draft.body, list(draft.labels))
                outcomes.append(
                    Outcome("created", draft.title, issue.get("number"), issue.get("html_url"))
                )
    return outcomes


def _relabel(github: GitHub, repo: str, issue: dict, labels: tuple[str, ...]) -> None:
    """Give ``issue`` the priority of ``labels`` (P0 → P1 …), keeping the maintainers' own."""
    have = [label.get("name", "") for label in issue.get("labels") or []]
    want = [name for name in have if name not in PRIORITY_LABELS or name in labels]
    want += [name for name in labels if name not in have]
    if want != have:
        github.request("PATCH", f"repos/{repo}/issues/{issue['number']}", json={"labels": want})


def close_alerts(
    github: GitHub | None,
    repo: str | None,
    closes: list[tuple[OpenAlert, str]],
    *,
    dry_run: bool = False,
) -> list[Outcome]:
    """Comment why, then close each alert (``state_reason: completed``)."""
    outcomes = []
    for alert, comment in closes:
        title = _title(alert.integration, alert.version)
        if dry_run or github is None or not repo:
            outcomes.append(Outcome("would close", title, alert.number, alert.url))
            continue
        github.comment(repo, alert.number, comment)
        github.request(
            "PATCH",
            f"repos/{repo}/issues/{alert.number}",
            json={"state": "closed", "state_reason": "completed"},
        )
        outcomes.append(Outcome("closed", title, alert.number, alert.url))
    return outcomes


def _same(old: str | None, new: str) -> bool:
    def norm(text: str | None) -> str:
        return (text or "").replace("\r\n", "\n").strip()

    return norm(old) == norm(new)


def format_outcomes(outcomes: list[Outcome], max_new: int) -> str:
    lines = []
    for o in outcomes:
        ref = f" #{o.number}" if o.number else ""
        lines.append(f"  {o.action:<13} {o.title}{ref}" + (f"  {o.url}" if o.url else ""))
    left = [o for o in outcomes if o.action == "left-out"]
    if left:
        lines.append(
            f"  {len(left)} issue(s) left out: at most {max_new} new issues per run (--max); "
            "they will be filed on a later run"
        )
    return "\n".join(lines) if lines else "  no issues to file"


# -- `compat issues` -----------------------------------------------------------------------------


def add_arguments(parser) -> None:
    parser.add_argument(
        "--results-dir", help="the result JSON files (default: settings.results-dir)"
    )
    parser.add_argument("--repo", help="OWNER/NAME to file issues in (default: $GITHUB_REPOSITORY)")
    parser.add_argument("--max", type=int, default=10, help="new issues per run (default 10)")
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be filed; write nothing"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    """File the failure issues of the stored results; 1 when a supported version fails."""
    from compat import matrix as matrix_mod

    if args.max < 0:
        raise IssueError(f"--max: expected zero or more, got {args.max}")
    if args.results_dir:
        results_dir = Path(args.results_dir)
        if not results_dir.is_dir():
            raise IssueError(f"--results-dir {results_dir}: no such folder")
    else:
        results_dir = matrix_mod.load(args.config).results_dir
    loaded = load_all(results_dir)
    drafts = compat_failures(loaded.results.values())
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
    github = GitHub() if repo else None
    outcomes = file_issues(github, repo, drafts, max_new=args.max, dry_run=args.dry_run)
    if args.json:
        print(json.dumps([o.to_dict() for o in outcomes], indent=2))
    else:
        print(f"{len(drafts)} issue(s) from the results in {results_dir}:")
        print(safe(format_outcomes(outcomes, args.max)))
    for problem in loaded.problems:
        print(safe(f"compat: skipped {problem}"), file=sys.stderr)
    if loaded.problems:
        return 2
    return 1 if any(d.labels[-1] in ("P0", "P1") for d in drafts) else 0
