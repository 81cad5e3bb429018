"""``compat upstream`` (and ``scripts/check_upstream_changes.py``): arguments, output, exit code."""

from __future__ import annotations

import argparse
import json
import os

from packaging.version import Version

from compat import matrix as matrix_mod
from compat.github import GitHub
from compat.index import IndexClient
from compat.issues import file_issues, format_outcomes, release_alerts
from compat.matrix import Integration, Matrix
from compat.upstream.check import ExtraSignals, IntegrationCheck, UpstreamReport, check_upstream
from compat.upstream.score import Signal

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
        "--no-apidiff",
        action="store_true",
        help="skip the targeted API diff of new releases against the newest tested version",
    )


def run(args: argparse.Namespace) -> int:
    matrix = matrix_mod.load(args.config)
    client = IndexClient(matrix.settings.index_url, offline=args.offline)
    github = GitHub()
    extra = None if args.no_apidiff else api_signals(matrix, client)
    report = check_upstream(
        matrix, client, github, days=args.days, names=args.integration, extra=extra
    )
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


def api_signals(matrix: Matrix, client: IndexClient) -> ExtraSignals:
    """Score a release by the targeted API diff of what the project uses (see compat.apidiff).

    The baseline is the newest version that passed in the stored results, else the release
    before the new one.
    """
    from compat.apidiff import ApiDiffError, integration_uses, targeted_diff
    from compat.results import load_all

    passed = [
        (r["package"], Version(r["requested"]))
        for r in load_all(matrix.results_dir).values()
        if r["status"] in ("passed", "deprecated")
    ]

    def signals(integ: Integration, previous: Version | None, version: Version) -> list[Signal]:
        uses = integration_uses(matrix, integ.package)
        tested = [v for package, v in passed if package == integ.package and v < version]
        baseline = max(tested) if tested else previous
        if baseline is None or not uses:
            return []
        try:
            found = targeted_diff(client, integ.package, str(baseline), str(version), uses)
        except ApiDiffError as exc:
            return [Signal("low", f"no API diff against {baseline}: {exc}")]
        out = []
        for rank, level in (("certain", "high"), ("possible", "medium")):
            hits = [b for b in found if b.rank == rank]
            if hits:
                lines = tuple(f"{b.message} (used at {', '.join(b.used_at)})" for b in hits)
                out.append(
                    Signal(
                        level,
                        f"API diff against {baseline}: {len(hits)} {rank} breakage(s) in what you use",
                        lines,
                    )
                )
        return out

    return signals


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
