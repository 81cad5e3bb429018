"""``compat upstream`` (and ``scripts/check_upstream_changes.py``): arguments, output, exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys

from compat import matrix as matrix_mod
from compat.github import GitHub, GitHubError
from compat.index import IndexClient
from compat.issues import (
    OpenAlert,
    close_alerts,
    file_issues,
    format_outcomes,
    open_alerts,
    plan_alerts,
    release_alerts,
)
from compat.text import safe
from compat.upstream.check import check_upstream, verify_report
from compat.upstream.model import PRIORITIES, IntegrationCheck, ReleaseCheck, UpstreamReport

PREVIEW_LINES = 5  # per signal, with -v


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--integration", action="append", metavar="NAME", help="only this one (repeatable)"
    )
    parser.add_argument("--days", type=_positive, default=7, help="the window, in days (default 7)")
    parser.add_argument("-v", "--verbose", action="store_true", help="preview the relevant lines")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--create-issues", action="store_true", help="file deduplicated [Release Alert] issues"
    )
    parser.add_argument(
        "--issue-level",
        choices=["low", "medium", "high"],
        default="medium",
        help="file alerts for releases scored this or higher (default medium)",
    )
    parser.add_argument(
        "--repo", default=None, help="OWNER/NAME to file issues in (default: $GITHUB_REPOSITORY)"
    )
    parser.add_argument("--max", type=_positive, default=10, help="new issues per run (default 10)")
    parser.add_argument(
        "--dry-run", action="store_true", help="with --create-issues: say what would be filed"
    )
    parser.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run the cells of each new release first; the verdict decides the alert, the "
        "notes only inform (the daily workflow's default). --no-verify: notes and API diff "
        "alone, said to be unverified",
    )
    parser.add_argument(
        "--no-apidiff",
        action="store_true",
        help="skip the targeted API diff of new releases against the newest version that passed",
    )


def run(args: argparse.Namespace) -> int:
    from compat.report import load_known

    refresh = getattr(args, "refresh", False)
    matrix = matrix_mod.seeing(matrix_mod.load(args.config), refresh=refresh)
    client = IndexClient(matrix.settings.index_url, offline=args.offline, refresh=refresh)
    github = GitHub()
    known = load_known(matrix)  # what was tested: the stored results and the committed JSON
    for problem in known.problems:
        print(safe(f"compat: warning: {problem}"), file=sys.stderr)
    report = check_upstream(
        matrix,
        client,
        github,
        days=args.days,
        names=args.integration,
        results=list(known.results.values()),
        api_diff=not args.no_apidiff,
    )
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
    alerts: list[OpenAlert] = []
    if args.create_issues and repo:
        try:
            alerts = open_alerts(github, repo)
        except GitHubError as exc:
            report.problems.append(f"open release alerts of {repo} not read: {exc}")
    if args.verify:
        checked = {c.integration.name for c in report.checks}
        recheck: dict[str, list] = {}
        for alert in alerts:
            if alert.integration in checked:
                recheck.setdefault(alert.integration, []).append(alert.version)
        verify_report(matrix, client, report, known, recheck=recheck, stream=sys.stderr)
    outcomes = []
    if args.create_issues:
        if report.verified:
            plan = plan_alerts(report, alerts, args.issue_level)
            drafts, closes = plan.drafts, plan.closes
        else:
            drafts, closes = release_alerts(report, args.issue_level), []
        outcomes = file_issues(github, repo, drafts, max_new=args.max, dry_run=args.dry_run)
        outcomes += close_alerts(github, repo, closes, dry_run=args.dry_run)
    if args.json:
        data = report.to_dict()
        if args.create_issues:
            data["issues"] = [o.to_dict() for o in outcomes]
        print(json.dumps(data, indent=2))
    else:
        print(safe(render(report, verbose=args.verbose)))
        if args.create_issues:
            print(safe("\nIssues:\n" + format_outcomes(outcomes, args.max)))
    return report.exit_code


def render(report: UpstreamReport, *, verbose: bool = False) -> str:
    """A block per integration, a line per release (date, URL, reasons), a summary line."""
    blocks = [_block(check, report.days, verbose) for check in report.checks]
    return "\n\n".join([*blocks, *report.problems, summary(report)])


def summary(report: UpstreamReport) -> str:
    news = len([r for r in report.releases if not r.recheck])
    checked = len(report.checks)
    counts = ", ".join(f"{report.count(level)} {level}" for level in ("high", "medium", "low"))
    text = (
        f"Summary: {_plural(news, 'new release')} from {len(report.with_releases)} of "
        f"{_plural(checked, 'integration')} in the last {report.days} days: "
    )
    if report.verified:
        alerts = ", ".join(f"{report.count_priority(p)} {p}" for p in PRIORITIES)
        passing = report.count_priority(None)
        unverified = [r for r in report.releases if not r.verified]
        text += f"verified by their cells: {alerts}, {passing} passing"
        if unverified:
            text += f"; {len(unverified)} unverified (notes: {counts})"
    else:
        text += counts
    if report.already_tested:
        text += f"; {len(report.already_tested)} already tested and passing"
    if report.incomplete:
        text += f"; {_plural(len(report.incomplete), 'integration')} could not be fully checked"
    if not report.verified and news:
        text += (
            "\nUnverified: scored from release notes and static checks alone; "
            "`--verify` runs each release's cells and alerts only on what fails."
        )
    return text


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _block(check: IntegrationCheck, days: int, verbose: bool) -> str:
    integ = check.integration
    head = f"{integ.name} ({integ.package}"
    if check.repo:
        head += f", github.com/{check.repo}"
    head += f"; newest tested {check.newest_tested})" if check.newest_tested else "; never tested)"
    lines = [head, *(f"  warning: {w}" for w in check.warnings)]
    if not check.releases and not check.already_tested and not check.errors:
        lines.append(f"  no new releases in the last {days} days")
    for release in check.releases:
        date = release.uploaded.date().isoformat() if release.uploaded else "no date   "
        url = release.url or "-"
        mark = _mark(release)
        lines.append(f"  {mark:<6}  {str(release.version):<12} {date}  {url}")
        evidence = release.evidence
        if evidence is not None:
            lines.append(f"          - cells: {evidence.verdict()} ({evidence.per_python()})")
            for result in evidence.red[:3]:
                for failure in result.failures[:3]:
                    lines.append(f"              {result.python_xy} failing: {failure.test}")
            for result in evidence.errors[:1]:
                lines.append(f"          - not judged (error, no alert): {result.message}")
            if evidence.culprit is not None:
                answer = evidence.culprit
                lines.append(
                    f"          - first bad release: {answer.first_bad} "
                    f"(bisect on Python {answer.python}; {answer.last_good} passes)"
                )
        if release.recheck:
            lines.append("          - the version of an open release alert, verified again")
        for signal in release.score.signals:
            lines.append(f"          - {signal.reason}")
            if verbose:
                shown = signal.lines[:PREVIEW_LINES]
                lines += [f"              | {line[:160]}" for line in shown]
                if len(signal.lines) > len(shown):
                    lines.append(f"              | … {len(signal.lines) - len(shown)} more")
    for tested in check.already_tested:
        date = tested.uploaded.date().isoformat() if tested.uploaded else "no date   "
        lines.append(
            f"  {'tested':<6}  {str(tested.version):<12} {date}  {tested.verdict} (not news)"
        )
    lines += [f"  error: {error}" for error in check.errors]
    return "\n".join(lines)


def _mark(release: ReleaseCheck) -> str:
    """P0/P1/P2 or PASSES for a verified release; its score for an unverified one."""
    if release.verified:
        return release.priority or "PASSES"
    return release.level.upper()


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value
