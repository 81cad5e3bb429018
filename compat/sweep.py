"""Run many cells with bounded parallelism; one cell's failure never stops the others."""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TextIO

from compat.matrix import Matrix
from compat.plan import Cell
from compat.results import INCOMPATIBLE, STATUSES, Result, save
from compat.runner import new_result, run_cell, uv_binary, venv_dir


def default_jobs() -> int:
    """Cells are mostly I/O (downloads, installs) and one pytest process each."""
    return max(1, min(8, (os.cpu_count() or 1)))


class Progress:
    """A live status line on a terminal; a plain line per finished cell elsewhere (CI)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total, self.stream = total, stream or sys.stderr
        self.live = self.stream.isatty() and not os.environ.get("CI")
        self.done = self.running = self.failed = 0
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def started(self) -> None:
        with self.lock:
            self.running += 1
            self._status()

    def finished(self, result: Result) -> None:
        with self.lock:
            self.running -= 1
            self.done += 1
            self.failed += result["status"] in INCOMPATIBLE
            line = (
                f"[{self.done}/{self.total}] {STATUSES[result['status']]} {result['status']:<14} "
                f"{result['session']} ({result['duration_s']:.1f}s)"
            )
            if self.live:
                self.stream.write("\r\033[K")
            self.stream.write(line + "\n")
            self._status()

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
                f"failed {self.failed} · {elapsed // 60:02d}:{elapsed % 60:02d}"
            )
        self.stream.flush()


def run_cells(
    matrix: Matrix, cells: Iterable[Cell], *, jobs: int | None = None, stream: TextIO | None = None
) -> list[Result]:
    """Run ``cells`` (in parallel, ``jobs`` at a time), saving each result as soon as it is known."""
    cells = list(cells)
    uv_binary()  # resolved once: uv's own lookup is not thread-safe
    progress = Progress(len(cells), stream)
    results_dir = matrix.results_dir

    def one(cell: Cell) -> Result:
        progress.started()
        try:
            result = run_cell(cell, matrix, venv=venv_dir(matrix, cell))
        except Exception:  # a bug or an OS error in one cell must not lose the others
            result = new_result(cell)
            result.update(
                status="install-failed",
                message="the runner itself failed on this cell",
                log_tail=traceback.format_exc(limit=5),
            )
        save(result, results_dir)
        progress.finished(result)
        return result

    with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
        futures = [pool.submit(one, cell) for cell in cells]
        results = [f.result() for f in as_completed(futures)]
    progress.close()
    order = {cell.session: i for i, cell in enumerate(cells)}
    return sorted(results, key=lambda r: order[r["session"]])
