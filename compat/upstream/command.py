"""``compat upstream`` (and ``scripts/check_upstream_changes.py``): arguments, output, exit code."""

from __future__ import annotations

import argparse
import json
import os

from compat import matrix as matrix_mod
from compat.github import GitHub
from compat.index import IndexClient
from compat.issues import file_issues, format_outcomes, release_alerts
from compat.upstream.check import IntegrationCheck, UpstreamReport, check_upstream

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


def run(args: argparse.Namespace) -> int:
    matrix = matrix_mod.load(args.config)
    client = IndexClient(matrix.settings.index_url, offline=args.offline)
    github = GitHub()
    report = check_upstream(matrix, client, github, days=args.days, names=args.integration)
    outcomes = []
    if args.create_issues:
        repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
        drafts = release_alerts(report, args.issue_level)
        outcomes = file_issues(github, repo, drafts, max_new=args.max, dry_run=args.dry_run)
    if args.json:
        data = report.to_dict()
        if args.create_issues:
            data["issues"] = [o.to_dict() for o in outcomes]
        print(json.dumps(data, indent=2))
    else:
        print(render(report, verbose=args.verbose))
        if args.create_issues:
            print("\nIssues:\n" + format_outcomes(outcomes, args.max))
    return report.exit_code


def render(report: UpstreamReport, *, verbose: bool = False) -> str:
    """A block per integration, a line per release (date, URL, reasons), a summary line."""
    blocks = [_block(check, report.days, verbose) for check in report.checks]
    counts = ", ".join(f"{report.count(level)} {level}" for level in ("high", "medium", "low"))
    total = len(report.releases)
    summary = (
        f"Summary: {total} release{'s' if total != 1 else ''} in the last {report.days} days "
        f"across {len(report.checks)} integration{'s' if len(report.checks) != 1 else ''}: {counts}"
    )
    if report.errors:
        summary += f"; {len(report.errors)} could not be checked"
    return "\n\n".join([*blocks, summary])


def _block(check: IntegrationCheck, days: int, verbose: bool) -> str:
    integ = check.integration
    head = f"{integ.name} ({integ.package}"
    if check.repo:
        head += f", github.com/{check.repo}"
    head += f"; newest tested {check.tested})" if check.tested else ")"
    lines = [head]
    if not check.releases and not check.errors:
        lines.append(f"  no new releases in the last {days} days")
    for release in check.releases:
        date = release.uploaded.date().isoformat() if release.uploaded else "no date   "
        url = release.url or "-"
        lines.append(f"  {release.level.upper():<6}  {str(release.version):<12} {date}  {url}")
        for signal in release.score.signals:
            lines.append(f"          - {signal.reason}")
            if verbose:
                shown = signal.lines[:PREVIEW_LINES]
                lines += [f"              | {line[:160]}" for line in shown]
                if len(signal.lines) > len(shown):
                    lines.append(f"              | … {len(signal.lines) - len(shown)} more")
    lines += [f"  error: {error}" for error in check.errors]
    return "\n".join(lines)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value
