"""The noxfile hook: ``import compat.nox; compat.nox.register()``.

Registers one session per cell (``compat-<integration>-<label>-<python>``, tags ``compat``,
the integration and the label) and one per label running all its Pythons
(``compat-<integration>-<label>``), plus ``matrix`` (parallel sweep, then docs), ``docs``
(re-render from stored results), ``bisect`` and ``upstream``. Cell sessions build their
environment themselves (the cell's one virtualenv under ``.compat/venvs``, shared with
``compat run`` and the sweep), so nox creates none for them and a missing interpreter is
an ``error`` verdict with its fix, as everywhere else.

Registration never needs the network: with the index out of reach and no cached pages, the
cells come from the committed docs JSON, and say so; without those, only the other sessions.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import sys
from pathlib import Path

import nox

from compat import procs, view
from compat.errors import CompatError, IndexFailure, Interrupted
from compat.matrix import Matrix, load, seeing
from compat.plan import Cell, Plan, plan_for
from compat.report import load_known, write_docs
from compat.results import Status, save
from compat.runner import run_cell
from compat.text import safe

RERUN = "--rerun"
# nox sets the root logger to DEBUG and prints every record: the HTTP client's connection
# chatter is not for the session's output (the index client reports what matters itself).
for _noisy in ("urllib3", "cachecontrol"):
    logging.getLogger(_noisy).setLevel(logging.ERROR)


def register(config: str | Path | None = None) -> Plan | None:
    """Plan the matrix at ``config`` (default: found from the cwd) and register sessions."""
    try:
        matrix = load(config)
    except CompatError as exc:
        print(safe(f"compat: error: {exc}"), file=sys.stderr)
        raise SystemExit(2) from None
    for note in matrix.notes:
        print(f"compat: {note}", file=sys.stderr)
    try:
        plan: Plan | None = plan_for(matrix)
        cells = plan.cells
    except IndexFailure as exc:
        plan = None
        from compat.cli import cells_from_known

        cells = cells_from_known(matrix)
        where = f"from {matrix.docs_path.with_suffix('.json').name}" if cells else "not registered"
        print(safe(f"compat: {exc}; cell sessions {where}"), file=sys.stderr)
    except CompatError as exc:
        print(safe(f"compat: error: {exc}"), file=sys.stderr)
        raise SystemExit(2) from None
    grouped: dict[str, list[Cell]] = {}
    for cell in cells:
        grouped.setdefault(cell.name, []).append(cell)
    for name, group in grouped.items():
        for cell in group:
            _register_cell(cell, matrix)
        _register_label(name, group)
    _register_tools(matrix, plan)
    return plan


def _run_one(session: nox.Session, cell: Cell, matrix: Matrix) -> None:
    rerun = RERUN in session.posargs
    args = [a for a in session.posargs if a != RERUN]
    previous = None if rerun else load_known(matrix).results.get(cell.session)
    _hold_view(matrix)
    try:
        with procs.interruptible():
            result = run_cell(cell, matrix, previous=previous, pytest_args=args, echo=print)
    except Interrupted as exc:
        raise SystemExit(exc.exit_code) from None
    if args:
        session.log("run with extra pytest arguments: reported here, not stored as the verdict")
    else:
        session.log(f"result: {save(result, matrix.results_dir)}")
    line = safe(result.summary())
    if result.reused:
        session.log(
            f"unchanged since {result.run_date}: the stored verdict stands ({RERUN} runs it)"
        )
    elif result.why:
        session.log(f"ran: {result.why}")
    if result.status is Status.ERROR:
        session.error(f"not judged: {line}")
    if result.counts_against:
        session.error(line)
    if result.status.incompatible:
        session.warn(f"{line} (beyond declared support: informational)")
    elif result.status is Status.FLAKY:
        session.warn(line)
    elif result.status in (Status.SKIPPED, Status.NOT_APPLICABLE):
        session.skip(line)
    else:
        session.log(line)


_held = contextlib.ExitStack()  # the index view of this nox invocation (all its sessions)


def _hold_view(matrix: Matrix) -> None:
    """One view of the index for every session this nox process runs (closed at exit, while
    its server thread still runs)."""
    if not view.active():
        _held.enter_context(view.sweep(matrix))
        atexit.register(_held.close)


def _register_cell(cell: Cell, matrix: Matrix) -> None:
    def session_func(session: nox.Session) -> None:
        _run_one(session, cell, matrix)

    session_func.__doc__ = f"{cell.package} {cell.version} on Python {cell.python}: {cell.why}"
    nox.session(
        session_func,
        name=cell.session,
        venv_backend="none",
        tags=["compat", cell.integration, cell.label],
        default=False,
    )


def _register_label(name: str, cells: list[Cell]) -> None:
    def session_func(session: nox.Session) -> None:
        session.log(f"{name}: ran on Python {', '.join(c.python for c in cells)}")

    first = cells[0]
    session_func.__doc__ = f"{first.package} {first.version}: every Python ({first.why})"
    nox.session(
        session_func,
        name=name,
        python=False,
        requires=[c.session for c in cells],
        default=False,
    )


def _register_tools(matrix: Matrix, plan: Plan | None) -> None:
    @nox.session(name="matrix", python=False, default=False)
    def matrix_session(session: nox.Session) -> None:
        """Run every cell in parallel (-- -j N, --rerun), then regenerate the docs."""
        from compat import cli
        from compat.sweep import disagreements, run_cells, summary

        if plan is None:
            session.error("the index cannot be reached and no cached pages: cannot plan the cells")
        parser = argparse.ArgumentParser(prog="nox -s matrix --")
        parser.add_argument("-j", "--jobs", type=cli.positive_int, default=None)
        parser.add_argument(
            RERUN, action="store_true", help="run cells whose inputs did not change"
        )
        parser.add_argument("--exclude-newer", type=cli.snapshot_date, metavar="DATE")
        parser.add_argument("--refresh", action="store_true", help="ask the index again")
        parser.add_argument("--audit", type=cli.audit_count, default=None, metavar="N|all")
        args = parser.parse_args(session.posargs)
        sweep_plan, sweep_matrix = plan, matrix
        _hold_view(matrix)
        try:
            if args.exclude_newer or args.refresh:
                sweep_matrix = seeing(matrix, snapshot=args.exclude_newer, refresh=args.refresh)
                sweep_plan = plan_for(sweep_matrix)
            known = load_known(matrix).results
            results = run_cells(
                sweep_matrix,
                sweep_plan.cells,
                jobs=args.jobs,
                known=known,
                rerun=args.rerun,
                audit=args.audit,
            )
        except Interrupted as exc:
            raise SystemExit(exc.exit_code) from None
        except CompatError as exc:
            session.error(safe(str(exc)))
        write_docs(matrix, load_known(matrix).results, sweep_plan)
        session.log(f"docs: {matrix.docs_path}")
        session.log(summary(results))
        bad = [r.session for r in results if r.counts_against]
        errors = [r.session for r in results if r.status is Status.ERROR]
        errors += [f"{r.session} (audit disagreed)" for r in disagreements(results)]
        if bad or errors:
            session.error(
                "; ".join(
                    part
                    for part in (
                        f"{len(bad)} incompatible cell(s): {', '.join(bad)}" if bad else "",
                        f"{len(errors)} cell(s) could not be judged: {', '.join(errors)}"
                        if errors
                        else "",
                    )
                    if part
                )
            )

    @nox.session(name="docs", python=False, default=False)
    def docs_session(session: nox.Session) -> None:
        """Re-render the compatibility docs from stored results (runs nothing)."""
        from compat import cli

        code = cli.main(["report", "--config", str(matrix.source)])
        if code == 2:
            session.error("could not render the docs")

    for command, doc in (
        ("bisect", "Find the first upstream release that broke an integration (-- INTEGRATION)."),
        ("upstream", "Check upstream releases and their notes (-- --days N -v)."),
    ):
        _register_cli_session(command, doc, matrix)


def _register_cli_session(command: str, doc: str, matrix: Matrix) -> None:
    def session_func(session: nox.Session) -> None:
        from compat import cli

        code = cli.main([command, "--config", str(matrix.source), *session.posargs])
        if code:
            session.error(f"compat {command} exited with {code}")

    session_func.__doc__ = doc
    nox.session(session_func, name=command, python=False, default=False)
