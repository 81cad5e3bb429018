"""Run many cells with bounded parallelism; one cell's failure never stops the others.

Before any cell runs: the results dir must be writable and every interpreter is looked up
once (a missing one makes its cells ``error`` without building anything). SIGINT or SIGTERM
stops the sweep: no new cell starts, the running ones are killed with their process trees,
every finished result is kept, nothing is recorded for the interrupted ones, and
``Interrupted`` tells the caller (exit 130 / 143).
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from compat import attribution, procs, view
from compat import environment as envs
from compat.errors import Interrupted
from compat.matrix import Matrix
from compat.plan import Cell
from compat.results import Result, Status, ensure_writable, save
from compat.runner import error_result, run_cell, standing
from compat.text import normalise, safe


def default_jobs() -> int:
    """Cells are mostly I/O (downloads, installs) and one pytest process each."""
    return max(1, min(8, (os.cpu_count() or 1)))


class Progress:
    """A live status line on a terminal; a plain line per finished cell elsewhere (CI)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total, self.stream = total, stream or sys.stderr
        self.live = self.stream.isatty() and not os.environ.get("CI")
        self.done = self.running = self.failed = self.unchanged = 0
        self.last_error = ""  # an error said once is not repeated for every cell it stops
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def started(self) -> None:
        with self.lock:
            self.running += 1
            self._status()

    def cancelled(self) -> None:
        with self.lock:
            self.running -= 1
            self._status()

    def finished(self, result: Result) -> None:
        with self.lock:
            self.running -= 1
            self.done += 1
            self.failed += result.counts_against
            self.unchanged += result.reused
            timing = "unchanged" if result.reused else f"{result.duration_s:.1f}s"
            if result.why and not result.reused:
                timing += f"; {normalise(safe(result.why), one_line=True)}"
            line = (
                f"[{self.done}/{self.total}] {result.status.symbol} {result.status.value:<14} "
                f"{safe(result.session)} ({timing})"
            )
            if result.status.value == "error":
                why = _indented(result.message) + (
                    _indented(f"fix: {result.hint}") if result.hint else ""
                )
                line += "\n    (the same as above)" if why == self.last_error else why
                self.last_error = why
            if result.audit.startswith("disagreed"):
                line += _indented(f"AUDIT: {result.audit} — the reuse key missed an input")
            if self.live:
                self.stream.write("\r\033[K")
            self.stream.write(line + "\n")
            self._status()

    def reread(self, result: Result, was: Status) -> None:
        """A verdict changed by reading the integration's cells together."""
        with self.lock:
            self.failed += result.counts_against - (was.incompatible and result.in_declared_range)
            if self.live:
                self.stream.write("\r\033[K")
            self.stream.write(
                f"{was.symbol} → {result.status.symbol} {result.status.value:<14} {result.session} "
                f"(read with the integration's other cells)\n    {result.message}\n"
            )

    def close(self) -> None:
        """End the live line so that what is printed next starts on a line of its own."""
        if self.live:
            self.stream.write("\n")
            self.stream.flush()

    def _status(self) -> None:
        if self.live:
            elapsed = int(time.monotonic() - self.start)
            self.stream.write(
                f"\r\033[Kdone {self.done}/{self.total} · running {self.running} · "
                f"unchanged {self.unchanged} · failed {self.failed} · "
                f"{elapsed // 60:02d}:{elapsed % 60:02d}"
            )
        self.stream.flush()


def _indented(text: str) -> str:
    """Outside text as terminal-safe lines under the line before (never at column 0)."""
    return "".join(f"\n    {line}" for line in safe(text).splitlines() or [""])


def missing_pythons(matrix: Matrix, cells: list[Cell]) -> set[str]:
    """The Pythons of ``cells`` that uv cannot find, looked up once each, concurrently."""
    wanted = sorted({c.python for c in cells if c.applicable})
    with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
        found = dict(
            zip(wanted, pool.map(lambda py: envs.find_python(py, matrix.root), wanted), strict=True)
        )
    return {py for py, where in found.items() if where is None}


def run_cells(
    matrix: Matrix,
    cells: Iterable[Cell],
    *,
    jobs: int | None = None,
    stream: TextIO | None = None,
    known: dict[str, Result] | None = None,
    rerun: bool = False,
    audit: int | None = None,
) -> list[Result]:
    """Run ``cells`` (``jobs`` at a time), storing each result as soon as it is known.

    A cell whose stored verdict in ``known`` (by session) a real run would give again
    (``compat.inputs``) is not run; ``rerun`` forces it. ``audit`` (default: the setting)
    such cells, picked at random, run anyway and say whether they agree.
    """
    cells = list(cells)
    results_dir = matrix.results_dir
    ensure_writable(results_dir)
    ensure_writable(matrix.state_dir / "locks")
    envs.uv_binary()  # resolved once: uv's own lookup is not thread-safe
    stored = {} if rerun else (known or {})
    audited = _audit_sample(cells, stored, matrix.settings.audit if audit is None else audit)
    progress = Progress(len(cells), stream)

    with procs.interruptible(), view.sweep(matrix):
        missing = missing_pythons(matrix, cells)

        def one(cell: Cell) -> Result | None:
            if procs.stopping():
                return None
            progress.started()
            try:
                if cell.applicable and cell.python in missing:
                    problem = envs.python_problem(cell.python, matrix.source.name)
                    result = error_result(cell, matrix, problem.message, problem.hint)
                else:
                    result = run_cell(
                        cell,
                        matrix,
                        previous=stored.get(cell.session),
                        audit=cell.session in audited,
                    )
            except Interrupted:
                progress.cancelled()
                return None
            except Exception as exc:  # a bug or an OS error in one cell must not lose the others
                result = error_result(
                    cell,
                    matrix,
                    f"nox-compat failed on this cell: {type(exc).__name__}: {exc}",
                    "a bug in nox-compat, not a verdict: please report it with the log tail",
                )
                result.log_tail = traceback.format_exc(limit=5)
                result = result.redacted(os.environ)
            result = _stored(result, cell, matrix)
            progress.finished(result)
            return result

        with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
            futures = [pool.submit(one, cell) for cell in cells]
            results = [r for f in futures if (r := f.result()) is not None]
        interrupted = procs.stopping() and procs.stop_signal()
        if not interrupted:
            before = {r.session: r.status for r in results}
            results = reattributed(matrix, results, known or {})
            for result in results:
                if result.status is not before[result.session]:
                    progress.reread(result, before[result.session])
    progress.close()
    if interrupted:
        raise Interrupted(interrupted)
    return results


def must_run(
    matrix: Matrix, cells: list[Cell], known: dict[str, Result], jobs: int | None = None
) -> list[tuple[Cell, str]]:
    """The cells a sweep would run, with why: those whose stored verdict would not stand
    (``runner.standing``: resolved, not installed nor tested), and the audit's pick of the
    others. What CI's plan job asks, to start jobs only for them."""
    envs.uv_binary()
    with procs.interruptible(), view.sweep(matrix):
        if missing := missing_pythons(matrix, cells):
            return [(c, f"Python {c.python} was not found") for c in cells if c.python in missing]
        with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
            decisions = list(pool.map(lambda c: standing(c, matrix, known.get(c.session)), cells))
    stands = {c.session: d.reuse for c, d in zip(cells, decisions, strict=True)}
    audited = _audit_sample([c for c in cells if stands[c.session]], known, matrix.settings.audit)
    return [
        (c, "audit" if c.session in audited else d.reason)
        for c, d in zip(cells, decisions, strict=True)
        if not d.reuse or c.session in audited
    ]


def _audit_sample(cells: list[Cell], stored: dict[str, Result], count: int) -> set[str]:
    """Up to ``count`` cells with a stored verdict that could stand, picked at random."""
    candidates = [
        c.session
        for c in cells
        if c.applicable and (r := stored.get(c.session)) is not None and r.status.deterministic
    ]
    return set(random.sample(candidates, min(count, len(candidates))))


def disagreements(results: list[Result]) -> list[Result]:
    """Audited cells whose real run contradicts the verdict the key would have kept."""
    return [r for r in results if r.audit.startswith("disagreed")]


def _stored(result: Result, cell: Cell, matrix: Matrix) -> Result:
    """``result`` once saved; when it cannot be, an ``error`` saying why (saved if possible):
    one cell that cannot be stored never stops the others."""
    try:
        save(result, matrix.results_dir)
        return result
    except (OSError, ValueError) as exc:  # UnicodeError is a ValueError
        failed = error_result(
            cell,
            matrix,
            f"its result ({result.status}) could not be stored: {type(exc).__name__}: {exc}",
            f"check that {matrix.results_dir} is writable and has room; then run the cell again",
        ).redacted(os.environ)
    with contextlib.suppress(OSError, ValueError):
        save(failed, matrix.results_dir)
    return failed


def reattributed(matrix: Matrix, results: list[Result], known: dict[str, Result]) -> list[Result]:
    """``results`` once each integration's cells are read together with the stored ones
    (``compat.attribution.reattribute``); every verdict that changes is stored."""
    every = {**known, **{r.session: r for r in results}}
    changed = {
        r.session: r
        for r in attribution.reattribute(every.values(), attribution.index_provides(matrix))
    }
    for result in changed.values():
        save(result, matrix.results_dir)
    return [changed.get(r.session, r) for r in results]


def summary(results: list[Result]) -> str:
    """One line for the end of a run: cells run and reused, incompatible, not judged."""
    unchanged = sum(r.reused for r in results)
    line = f"{len(results)} cell(s): {unchanged} unchanged, {len(results) - unchanged} run"
    bad = [r for r in results if r.counts_against]
    errors = [r for r in results if not r.status.judged]
    if bad:
        line += f"; {len(bad)} incompatible"
    if errors:
        line += f"; {len(errors)} could not be judged (error)"
    flaky = [r for r in results if r.status is Status.FLAKY]
    if flaky:
        line += f"; {len(flaky)} flaky"
    audits = [r for r in results if r.audit]
    if audits:
        bad = disagreements(results)
        line += f"; audited {len(audits)} reusable verdict(s): " + (
            f"{len(bad)} DISAGREED" if bad else "agreed"
        )
    return line
