"""``compat apidiff PACKAGE OLD NEW [--uses PATH…] [--full] [--json]``: arguments and output.

Importing this module does not import griffe (the engine is imported when the command runs).
Without ``--uses`` inside a project, the whole library is the uses: the project's packages and
the integration's tests and ``file`` from compat.toml (``compat.uses.integration_files``);
``--full`` (or no uses at all) lists every change of the public API instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from compat import matrix as matrix_mod
from compat.apidiff.model import RANKS, Breakage, Diff
from compat.index import IndexClient
from compat.text import safe
from compat.uses import integration_files
from compat.uvconfig import find_index


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", help="the distribution, e.g. langchain-core")
    parser.add_argument("old", help="the version that worked")
    parser.add_argument("new", help="the version to check")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--uses",
        nargs="+",
        metavar="PATH",
        help="keep only breakages touching this code (default: the project's packages and the "
        "integration's tests and file from compat.toml; without them, the full API diff)",
    )
    which.add_argument(
        "--full", action="store_true", help="the full API diff, even inside a project"
    )
    parser.add_argument("--index-url", help="the index to download from (default: the matrix's)")
    parser.add_argument("--json", action="store_true", help="print the breakages as JSON")


def run(args: argparse.Namespace) -> int:
    from compat.apidiff.diff import full_diff, targeted_diff  # griffe: only when it runs

    config = _config(args.config)
    index_url = args.index_url or (
        config.settings.index_url if config else find_index(Path.cwd()).url
    )
    client = IndexClient(index_url, offline=args.offline)
    uses: list[Path] = []
    if args.uses:
        uses = [Path(p) for p in args.uses]
    elif config is not None and not args.full:
        uses, missing = integration_files(config, args.package)
        for line in missing:
            print(safe(f"compat: warning: {line}"), file=sys.stderr)
    if uses:
        diff = targeted_diff(client, args.package, args.old, args.new, uses)
    else:
        diff = full_diff(client, args.package, args.old, args.new)
    if args.json:
        print(json.dumps(diff.to_dict(), indent=2))
    else:
        print(safe(render(diff)))
    return diff.exit_code


def _config(path: str | None) -> matrix_mod.Matrix | None:
    """The matrix when there is one (``--config``, or found from cwd); None without."""
    if path is None:
        try:
            path = matrix_mod.find_config()
        except matrix_mod.ConfigError:
            return None
    return matrix_mod.load(path)


def render(diff: Diff) -> str:
    """The console text: a head line with the counts, then one line per breakage."""
    head = f"{diff.package} {diff.old} -> {diff.new} ({diff.mode} API diff): "
    counts = ", ".join(
        f"{n} {rank}" for rank in RANKS if (n := sum(b.rank == rank for b in diff.breakages))
    )
    if diff.mode == "targeted":
        checked = f"{diff.uses_checked} use{'s' if diff.uses_checked != 1 else ''}"
        head += f"{checked} of {diff.package} checked, " + (counts or "none broken")
    else:
        head += counts or "no breaking change found"
        if diff.hidden:
            why = Counter(b.hidden for b in diff.hidden)
            detail = "; ".join(f"{reason}: {n}" for reason, n in why.most_common())
            head += f"; {len(diff.hidden)} hidden, in what users rarely touch ({detail}; --json lists them)"
    lines = [head, *(_line(b) for b in diff.breakages)]
    lines += [f"note: {note}" for note in diff.notes]
    return "\n".join(lines)


def _line(item: Breakage) -> str:
    text = f"{item.rank:<8}  {item.kind:<26}  {item.message}"
    return "\n".join([text, *(f"{'':<10}used at {where}" for where in item.used_at)])
