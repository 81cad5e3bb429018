"""The ``compat`` command. Exit codes: 0 all good, 1 incompatibility found, 2 could not do the
job (bad config, index unreachable with no cache, a cell that could not be judged, an
unexpected error), 130/143 interrupted."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from compat import init as init_cmd
from compat import issues as issues_cmd
from compat import matrix as matrix_mod
from compat import pullrequest as pullrequest_cmd
from compat.apidiff import command as apidiff_cmd
from compat.errors import CompatError, IndexFailure, Interrupted
from compat.fileio import write_atomic
from compat.matrix import ConfigError, Matrix
from compat.plan import Cell, Plan, plan_for
from compat.results import Result, Status
from compat.text import safe
from compat.upstream import command as upstream_cmd


def positive_int(text: str, least: int = 1) -> int:
    """An integer of at least ``least`` (argparse's ``type``)."""
    what = "a positive integer" if least == 1 else f"an integer of at least {least}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def snapshot_date(text: str) -> str:
    try:
        return matrix_mod.parse_snapshot(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2026-11-01 or an RFC 3339 time, got {text!r}"
        ) from None


def load_matrix(args: argparse.Namespace) -> Matrix:
    matrix = matrix_mod.load(args.config)
    matrix = matrix_mod.seeing(
        matrix,
        snapshot=getattr(args, "exclude_newer", None),
        refresh=getattr(args, "refresh", False),
    )
    for note in matrix.notes:
        print(f"compat: {note}", file=sys.stderr)
    return matrix


def plan_or_none(matrix: Matrix, offline: bool, instead: str) -> Plan | None:
    """The plan, or None (said on stderr) when the index cannot be read and nothing is cached."""
    try:
        return plan_for(matrix, offline=offline)
    except IndexFailure as exc:
        print(safe(f"compat: {exc}; {instead}"), file=sys.stderr)
        return None


def load_plan(args: argparse.Namespace) -> Plan:
    return plan_for(load_matrix(args), offline=args.offline)


def cells_from_known(matrix: Matrix) -> list[Cell]:
    """The cells of the last report (committed docs JSON), for when the index cannot be read."""
    from compat.report import load_known

    try:
        known = load_known(matrix).results.values()
    except CompatError:
        return []
    cells = []
    for r in sorted(known, key=lambda r: r.session):
        if r.is_bisect or r.integration not in {i.name for i in matrix.integrations}:
            continue
        integ = matrix.integration(r.integration)
        cells.append(
            Cell(
                integration=r.integration,
                label=r.label,
                package=r.package,
                version=r.requested,
                python=r.python_xy,
                requirements=tuple(integ.requirements(r.requested)),
                why="from the last report (index not reachable)",
                applicable=r.status is not Status.NOT_APPLICABLE,
                select=integ.select,
                tests=integ.tests,
                in_declared_range=integ.declared.contains(r.requested, r.python_xy),
                declared=str(integ.declared.specifier(r.python_xy)),
            )
        )
    return cells


def select_cells(plan: Plan, names: list[str]) -> list[Cell]:
    """Cells named by full session, session without Python suffix, or integration."""
    chosen = [c for c in plan.cells if not names or {c.session, c.name, c.integration} & set(names)]
    known = {n for c in plan.cells for n in (c.session, c.name, c.integration)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"no such session or integration: {', '.join(unknown)} (see `compat plan`)"
        )
    return chosen


def exit_code(results: list[Result]) -> int:
    """2 when a cell could not be judged or an audit disagreed, else 1 when one is
    incompatible in range, else 0."""
    if any(not r.status.judged or r.audit.startswith("disagreed") for r in results):
        return 2
    return 1 if any(r.counts_against for r in results) else 0


def cmd_run(args: argparse.Namespace) -> int:
    from compat.report import load_known
    from compat.sweep import run_cells, summary

    if not args.sessions and not args.all:
        raise ConfigError("name the sessions to run (see `compat plan`), or pass --all")
    plan = load_plan(args)
    cells = select_cells(plan, args.sessions)
    if args.pytest_args:
        return _run_partial(plan.matrix, cells, args.pytest_args)
    known = load_known(plan.matrix).results  # refuses early when they cannot be read
    results = run_cells(
        plan.matrix, cells, jobs=args.jobs, known=known, rerun=args.rerun, audit=args.audit
    )
    for result in results:
        print(safe(result.summary()))
    print(summary(results))
    return exit_code(results)


def _run_partial(matrix: Matrix, cells: list[Cell], pytest_args: list[str]) -> int:
    """Cells run with extra pytest arguments: reported, never stored as their verdicts."""
    from compat import procs, view
    from compat.runner import run_cell

    results = []
    with procs.interruptible(), view.sweep(matrix):
        for cell in cells:
            result = run_cell(cell, matrix, pytest_args=pytest_args)
            print(safe(result.summary()))
            results.append(result)
    print(f"{len(results)} cell(s) run with extra pytest arguments: not stored as verdicts")
    return exit_code(results)


def audit_count(text: str) -> int:
    """``--audit N`` or ``--audit all``."""
    return 1_000_000 if text == "all" else positive_int(text, least=0)


def cmd_report(args: argparse.Namespace) -> int:
    from compat.report import incompatible, load_known, write_docs
    from compat.results import merge

    matrix = load_matrix(args)
    problems: list[str] = []
    if args.merge:
        from compat.sweep import reattributed

        taken = merge([Path(p) for p in args.merge], matrix.results_dir)
        print(f"merged {len(taken.results)} result(s)")
        problems += taken.problems
        # cells run apart (one CI job each) are read together, as one sweep reads them
        reattributed(matrix, [], load_known(matrix).results)
    plan = plan_or_none(matrix, args.offline, "rendering without the index")
    known = load_known(matrix)
    problems += [p for p in known.problems if p not in problems]
    rows = write_docs(matrix, known.results, plan)
    print(f"wrote {matrix.docs_path} and {matrix.docs_path.with_suffix('.json').name}")
    for problem in problems:
        print(safe(f"compat: skipped {problem}"), file=sys.stderr)
    if problems:
        return 2
    if incompatible(rows):
        print(safe(incompatible_line(rows)))
        return 1
    return 0


def incompatible_line(rows) -> str:
    """Why ``compat report`` exits 1: the cells incompatible inside the declared range."""
    bad = [r for row in rows for r in row.cells if r.counts_against]
    cells = ", ".join(f"{r.session} ({r.package} {r.requested}: {r.status})" for r in bad[:10])
    more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
    return (
        f"exit 1: {len(bad)} cell{'s' if len(bad) != 1 else ''} incompatible inside the "
        f"declared range: {cells}{more} (details in the page; `compat issues` files them)"
    )


def cmd_plan(args: argparse.Namespace) -> int:
    from compat.workflows import cell_groups

    if args.groups and args.format != "github":
        raise ConfigError("--groups goes with --format github")
    if args.needed and not args.groups:
        raise ConfigError("--needed goes with --groups")
    plan = load_plan(args)
    if args.format == "json":
        print(json.dumps([c.to_dict() for c in plan.cells], indent=2))
    elif args.groups:
        cells = plan.cells
        if args.needed:
            from compat.report import load_known
            from compat.sweep import must_run

            needed = must_run(plan.matrix, cells, load_known(plan.matrix).results)
            for cell, why in needed:
                print(safe(f"{cell.session}: {why}"), file=sys.stderr)
            print(f"{len(needed)} of {len(cells)} cell(s) must run", file=sys.stderr)
            cells = [cell for cell, _ in needed]
        print(json.dumps(cell_groups(plan.matrix, cells, args.groups)))
    elif args.format == "github":
        print(json.dumps({"include": [github_entry(c) for c in plan.cells]}))
    else:
        print(plan_table(plan))
    return 0


def github_entry(cell: Cell) -> dict:
    """One ``strategy.matrix.include`` entry: what a CI job needs to run one cell."""
    return {
        "session": cell.session,
        "integration": cell.integration,
        "label": cell.label,
        "version": cell.version,
        "python": cell.python,
    }


def plan_table(plan: Plan) -> str:
    headers = ("SESSION", "INTEGRATION", "LABEL", "VERSION", "PYTHON", "WHY")
    rows = []
    for c in plan.cells:
        why = c.why if c.applicable else f"not-applicable: requires-python excludes {c.python}"
        if not c.in_declared_range:
            why += f" (beyond declared support: {c.package}{c.declared})"
        rows.append((c.session, c.integration, c.label, c.version, c.python, why))
    return format_table(headers, rows)


def format_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def cmd_generated(args: argparse.Namespace) -> int:
    """``compat dependabot`` / ``compat workflows``: write the GitHub files, or ``--check`` them."""
    from compat import workflows

    matrix = load_matrix(args)
    files = workflows.generated(matrix, "dependabot" if args.command == "dependabot" else "all")
    repo = workflows.Layout.of(matrix).repo
    stale = []
    for path, text in files.items():
        diff = workflows.drift(path, text, repo)
        name = path.relative_to(repo).as_posix()
        if diff and args.check:
            print(diff, end="")
            stale.append(name)
        elif diff:
            write_atomic(path, text)
            print(f"wrote {name}")
        elif not args.check:
            print(f"up to date: {name}")
    if stale:
        print(
            f"compat: out of date with {matrix.source.name}: {', '.join(stale)}; "
            f"run `compat {args.command}` to regenerate",
            file=sys.stderr,
        )
    return 1 if stale else 0


def cmd_bisect(args: argparse.Namespace) -> int:
    from compat import bisect
    from compat.report import load_known, write_docs

    plan = plan_for(load_matrix(args), offline=args.offline, cached=False)  # the releases
    known = load_known(plan.matrix).results
    answer = bisect.run(
        plan,
        args.integration,
        known,
        good=args.good,
        bad=args.bad,
        python=args.python,
        verify=args.verify,
        first_good=args.first_good,
    )
    print(safe(bisect.describe(answer)))
    if answer.found:
        write_docs(plan.matrix, load_known(plan.matrix).results, plan)
    return bisect.exit_code(answer)


def known_supports(args: argparse.Namespace):
    """(matrix, support facts per integration, unreadable result files) from the verdicts."""
    from compat.report import build_rows, load_known, supports

    matrix = load_matrix(args)
    plan = plan_or_none(matrix, args.offline, "using the stored verdicts alone")
    known = load_known(matrix)
    alerts = {}
    repo = os.environ.get("GITHUB_REPOSITORY")
    if repo:  # open high release alerts announce the next breaking change
        from compat.github import GitHub, GitHubError

        try:
            alerts = issues_cmd.open_high_alerts(GitHub(), repo)
        except GitHubError as exc:
            print(safe(f"compat: release alerts of {repo} not read: {exc}"), file=sys.stderr)
    return matrix, supports(build_rows(matrix, known.results, plan), alerts), known.problems


def cmd_metadata(args: argparse.Namespace) -> int:
    from compat import metadata

    matrix, facts, problems = known_supports(args)
    files = metadata.updates(facts, matrix.root)
    if not files:
        print(f"compat: no integration in {matrix.source.name} has a `file`: nothing to do")
    code, text = metadata.apply(files, write=args.write)
    print(text, end="")
    for problem in problems:
        print(safe(f"compat: skipped {problem}"), file=sys.stderr)
    return 2 if problems else (code if args.check else 0)


def cmd_notices(args: argparse.Namespace) -> int:
    from compat import metadata, notices

    matrix, facts, problems = known_supports(args)
    given = args.write if isinstance(args.write, str) else args.check
    target = given if isinstance(given, str) else matrix.settings.notices
    if not target:
        raise ConfigError(
            f"no notices module: pass --write PATH, or set `notices` in {matrix.source.name}"
        )
    source = notices.render(facts, category=matrix.settings.notices_category)
    update = notices.update_file(matrix.root / target, source, str(target))
    code, text = metadata.apply([update], write=bool(args.write))
    print(text, end="")
    for problem in problems:
        print(safe(f"compat: skipped {problem}"), file=sys.stderr)
    return 2 if problems else (code if args.check else 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="compat", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="compat.toml or pyproject.toml (default: found from cwd)")
    common.add_argument(
        "--offline", action="store_true", help="use only the cached index pages, no network"
    )
    common.add_argument(
        "--debug", action="store_true", help="print the traceback of an unexpected error"
    )
    common.add_argument(
        "--exclude-newer",
        type=snapshot_date,
        metavar="DATE",
        help="see the index as it was at DATE (UTC): the plan and every install",
    )
    common.add_argument(
        "--refresh",
        action="store_true",
        help="ask the index again even when its cached pages are fresh (a release just out)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plan", parents=[common], help="print the cells the policy selects")
    p.add_argument("--format", choices=["table", "json", "github"], default="table")
    p.add_argument(
        "--groups",
        type=positive_int,
        metavar="N",
        help="with --format github: the cells in at most N jobs (the weekly workflow's matrix)",
    )
    p.add_argument(
        "--needed",
        action="store_true",
        help="with --groups: only the cells whose stored verdict would not stand, and the "
        "audit's pick (resolves each cell; installs and tests nothing)",
    )
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("run", parents=[common], help="run cells (in parallel) and store results")
    p.add_argument("sessions", nargs="*", help="session, session without -PY, or integration")
    p.add_argument("--all", action="store_true", help="run every cell of the plan")
    p.add_argument("-j", "--jobs", type=positive_int, default=None, help="cells at a time")
    p.add_argument(
        "--rerun", action="store_true", help="run cells even when their inputs did not change"
    )
    p.add_argument(
        "--audit",
        type=audit_count,
        default=None,
        metavar="N|all",
        help="re-run N reusable cells (default: the `audit` setting) and compare",
    )
    p.set_defaults(func=cmd_run, pytest_args=[])

    p = sub.add_parser("report", parents=[common], help="render the docs from stored results")
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="DIR",
        help="first merge results found under DIR (CI artifacts; every record is checked)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("bisect", parents=[common], help="find the first release that broke you")
    p.add_argument("integration")
    p.add_argument("--good", help="a version that passes (default: the highest stored passing one)")
    p.add_argument(
        "--bad", help="a version that fails (default: the lowest stored failing one above --good)"
    )
    p.add_argument("--python", help="X.Y (default: the integration's first Python)")
    p.add_argument(
        "--verify", action="store_true", help="run the two ends first instead of trusting them"
    )
    p.add_argument(
        "--first-good",
        action="store_true",
        help="search upward from a failing version (a failing minimum) for the lowest passing "
        "release (automatic when --bad is older than --good, or only a failing floor is stored)",
    )
    p.set_defaults(func=cmd_bisect)

    p = sub.add_parser("upstream", parents=[common], help="new upstream releases and their risk")
    upstream_cmd.add_arguments(p)
    p.set_defaults(func=upstream_cmd.run)

    p = sub.add_parser("issues", parents=[common], help="file deduplicated issues from results")
    issues_cmd.add_arguments(p)
    p.set_defaults(func=issues_cmd.run)
    p = sub.add_parser(
        "apidiff", parents=[common], help="API breaking changes between two releases"
    )
    apidiff_cmd.add_arguments(p)
    p.set_defaults(func=apidiff_cmd.run)

    p = sub.add_parser(
        "metadata", parents=[common], help="the version-metadata block of each integration file"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the blocks that disagree")
    mode.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 with a diff on disagreement"
    )
    p.set_defaults(func=cmd_metadata)

    p = sub.add_parser(
        "notices", parents=[common], help="the runtime notices module your library ships"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--write", nargs="?", const=True, metavar="PATH", help="write it (default: `notices`)"
    )
    mode.add_argument(
        "--check", nargs="?", const=True, metavar="PATH", help="exit 1 with a diff when stale"
    )
    p.set_defaults(func=cmd_notices)

    p = sub.add_parser("init", parents=[common], help="write a starting compat.toml")
    init_cmd.add_arguments(p)
    p.set_defaults(func=init_cmd.run)

    p = sub.add_parser(
        "pull-request",
        parents=[common],
        help="open or update the one pull request with the regenerated files",
    )
    pullrequest_cmd.add_arguments(p)
    p.set_defaults(func=pullrequest_cmd.run)

    for name, what in (
        ("dependabot", ".github/dependabot.yml"),
        ("workflows", "dependabot.yml, the matrix and release-monitor workflows, issue template"),
    ):
        p = sub.add_parser(name, parents=[common], help=f"write {what} from the matrix")
        p.add_argument(
            "--check", action="store_true", help="write nothing; exit 1 with a diff on drift"
        )
        p.set_defaults(func=cmd_generated)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The one exit-code boundary: 0 good, 1 incompatible, 2 could not do the job, 128+N signal."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    extra = argv[cut + 1 :]
    if extra and args.func is not cmd_run:
        parser.error("only `compat run` passes arguments after -- (to pytest)")
    args.pytest_args = extra
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CompatError as exc:
        _error(f"compat: error: {exc}")
        return 2
    except Interrupted as exc:
        _error(f"compat: {exc}; finished results were kept")
        return exc.exit_code
    except KeyboardInterrupt:
        _error("compat: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`compat plan | head`): stop quietly, no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        _error(
            f"compat: unexpected error: {type(exc).__name__}: {exc} "
            "(a bug in nox-compat: run again with --debug for the traceback and report it)"
        )
        return 2


def _error(line: str) -> None:
    with contextlib.suppress(BrokenPipeError):
        print(safe(line), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
