"""The ``compat`` command. Exit codes: 0 all good, 1 incompatibility found, 2 could not do the job."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from compat import matrix as matrix_mod
from compat.index import IndexClient, IndexFailure
from compat.matrix import ConfigError
from compat.plan import Plan, make_plan
from compat.policy import PolicyError

FAILURES = (ConfigError, IndexFailure, PolicyError)


def load_plan(args: argparse.Namespace) -> Plan:
    matrix = matrix_mod.load(args.config)
    client = IndexClient(matrix.settings.index_url, offline=args.offline)
    return make_plan(matrix, client)


def cmd_plan(args: argparse.Namespace) -> int:
    plan = load_plan(args)
    if args.format == "json":
        print(json.dumps([c.to_dict() for c in plan.cells], indent=2))
    elif args.format == "github":
        print(json.dumps({"include": [github_entry(c) for c in plan.cells]}))
    else:
        print(plan_table(plan))
    return 0


def github_entry(cell) -> dict:
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
    rows = [
        (
            c.session,
            c.integration,
            c.label,
            c.version,
            c.python,
            c.why if c.applicable else f"not-applicable: requires-python excludes {c.python}",
        )
        for c in plan.cells
    ]
    return format_table(headers, rows)


def format_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="compat", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="compat.toml or pyproject.toml (default: found from cwd)")
    common.add_argument(
        "--offline", action="store_true", help="use only the cached index pages, no network"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plan", parents=[common], help="print the cells the policy selects")
    p.add_argument("--format", choices=["table", "json", "github"], default="table")
    p.set_defaults(func=cmd_plan)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except FAILURES as exc:
        print(f"compat: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
