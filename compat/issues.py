"""GitHub issues: release alerts and compatibility failures, deduplicated by title.

An open issue with the same title is never filed twice: it gets a comment when
the new body differs from its last body or comment, and is left alone
otherwise. At most ``max_new`` issues are created per run; the rest are named.
Every piece of outside text (release notes, test names, messages, logs) goes into
the body through ``compat.markdown`` — inside code spans or fences it cannot close —
so nothing in it renders, links, pings anyone or references another issue.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Outcome:
    action: str  # created | commented | unchanged | left-out (+ "would …" on a dry run)
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


def open_high_alerts(github: GitHub, repo: str) -> dict[str, list[tuple[str, str]]]:
    """The open ``[Release Alert]`` issues labelled ``priority:high``: integration ->
    [(version, first reason)]. They announce breaking changes not yet in the verdicts."""
    found: dict[str, list[tuple[str, str]]] = {}
    for issue in github.open_issues(repo, "priority:high"):
        match = re.fullmatch(r"\[Release Alert\] (\S+) (\S+)", issue.get("title", ""))
        if not match:
            continue
        body = issue.get("body") or ""
        reasons = re.findall(r"^- `+ ?(.*?) ?`+$", body.split("Reasons:", 1)[-1], re.MULTILINE)
        found.setdefault(match.group(1), []).append(
            (match.group(2), reasons[0] if reasons else "release alert")
        )
    return found


def release_alerts(report, level: str = "medium") -> list[Draft]:
    """Alerts for every release of ``report`` scored ``level`` or above."""
    from compat.upstream.score import rank

    return [
        release_alert(check, release)
        for check in report.checks
        for release in check.releases
        if rank(release.level) >= rank(level)
    ]


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
    failures = _unique((f.test, f.message) for r in results for f in r.failures)
    if failures:
        parts += ["", "### Failing tests", ""]
        for test, message in failures[:20]:
            parts.append(f"- {code(test)}")
            if message:
                parts.append(
                    excerpt(message, chars=600, lines=8).replace("\n", "\n  ").join(["  ", ""])
                )
        if len(failures) > 20:
            parts.append(f"- … and {len(failures) - 20} more")
    deprecations = _unique(
        (d.category, d.message, d.source) for r in results for d in r.usage_deprecations
    )
    if deprecations:
        parts += ["", "### Deprecated APIs your code calls", ""]
        for category, message, source in deprecations[:20]:
            parts.append(f"- {code(category)} at {code(source)}: {code(message)}")
    if first.log_tail and (
        group.status in ("install-failed", "timeout", "wrong-version") or not failures
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
            if _same(last, draft.body):
                outcomes.append(Outcome("unchanged", draft.title, number, url))
                continue
            if not dry_run:
                github.comment(repo, number, draft.body)
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
