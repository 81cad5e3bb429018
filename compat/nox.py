"""The noxfile hook: ``import compat.nox; compat.nox.register()``.

Registers one session per cell label (``compat-<integration>-<label>``, with
nox's ``-<python>`` suffix per interpreter, uv-built virtualenvs, tags
``compat``, the integration and the label), plus ``matrix`` (parallel sweep,
then docs), ``docs`` (re-render from stored results), ``bisect`` and ``upstream``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import nox

from compat import cli
from compat.errors import CompatError
from compat.matrix import Matrix, load
from compat.plan import Cell, Plan
from compat.results import INCOMPATIBLE, save, summary
from compat.runner import run_cell


def register(config: str | Path | None = None) -> Plan:
    """Plan the matrix at ``config`` (default: found from the noxfile's folder) and register sessions."""
    logging.getLogger("urllib3").setLevel(logging.WARNING)  # nox logs at debug level
    try:
        matrix = load(config)
        plan = cli.make_plan_for(matrix)
    except CompatError as exc:
        print(f"compat: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for name, cells in plan.sessions().items():
        _register_cell_session(name, cells, matrix)
    _register_tools(plan)
    return plan


def _register_cell_session(name: str, cells: list[Cell], matrix: Matrix) -> None:
    by_python = {cell.python: cell for cell in cells}
    first = cells[0]

    def session_func(session: nox.Session) -> None:
        cell = by_python[str(session.python)]
        result = run_cell(
            cell,
            matrix,
            venv=Path(session.virtualenv.location),
            create=False,
            pytest_args=session.posargs,
            echo=print,
        )
        path = save(result, matrix.results_dir)
        session.log(f"result: {path}")
        if result["status"] in INCOMPATIBLE:
            session.error(summary(result))
        if result["status"] in ("skipped", "not-applicable"):
            session.skip(summary(result))
        session.log(summary(result))

    session_func.__doc__ = f"{first.package} {first.version}: {first.why}"
    nox.session(
        session_func,
        name=name,
        python=list(by_python),
        venv_backend="uv",
        tags=["compat", first.integration, first.label],
        default=False,
    )


def _register_tools(plan: Plan) -> None:
    matrix = plan.matrix

    @nox.session(name="matrix", python=False, default=False)
    def matrix_session(session: nox.Session) -> None:
        """Run every cell in parallel (-- -j N), then regenerate the docs."""
        from compat.report import write_docs
        from compat.results import load_all
        from compat.sweep import run_cells

        parser = argparse.ArgumentParser(prog="nox -s matrix --")
        parser.add_argument("-j", "--jobs", type=int, default=None)
        args = parser.parse_args(session.posargs)
        results = run_cells(matrix, plan.cells, jobs=args.jobs)
        write_docs(matrix, load_all(matrix.results_dir), plan)
        session.log(f"docs: {matrix.docs_path}")
        bad = [r["session"] for r in results if r["status"] in INCOMPATIBLE]
        if bad:
            session.error(f"{len(bad)} incompatible cell(s): {', '.join(bad)}")

    @nox.session(name="docs", python=False, default=False)
    def docs_session(session: nox.Session) -> None:
        """Re-render the compatibility docs from stored results (runs nothing)."""
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
        code = cli.main([command, "--config", str(matrix.source), *session.posargs])
        if code:
            session.error(f"compat {command} exited with {code}")

    session_func.__doc__ = doc
    nox.session(session_func, name=command, python=False, default=False)
