"""The subprocesses of a cell: each in its own process group, its output kept as a bounded
tail, and killed — with everything it started — when it ends, at the cell's deadline, or when
the run is interrupted (``stop_all``, called from a signal handler).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from compat.errors import Interrupted
from compat.text import redact

TAIL_LINES = 40
MAX_LINE = 4096  # characters kept of one output line
Echo = Callable[[str], None]

_lock = threading.Lock()
_running: set[subprocess.Popen] = set()
_stop = threading.Event()
_signal: list[int] = []


class Deadline(Exception):  # noqa: N818 - a reason to stop, raised to the cell's runner
    """The cell's deadline passed while a step was running (its group was killed)."""

    def __init__(self, doing: str) -> None:
        super().__init__(doing)
        self.doing = doing


@dataclass(frozen=True)
class Output:
    code: int
    text: str  # the whole output (``keep_all``) or its last TAIL_LINES lines
    seconds: float = 0.0  # how long the step ran (set by callers that time it)

    @property
    def tail(self) -> str:
        return "\n".join(self.text.rstrip().splitlines()[-TAIL_LINES:])


def run(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    deadline: float,
    doing: str,
    echo: Echo | None = None,
    keep_all: bool = False,
) -> Output:
    """Run ``command`` (stderr merged into stdout) until it ends, the deadline, or a stop."""
    if _stop.is_set():
        raise Interrupted(stop_signal())
    if echo:
        echo(redact("$ " + " ".join(command)))
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    with _lock:
        _running.add(proc)
    if _stop.is_set():
        _kill_group(proc)
    kept: deque[str] | list[str] = [] if keep_all else deque(maxlen=TAIL_LINES)

    def read() -> None:
        assert proc.stdout is not None
        while line := proc.stdout.readline(MAX_LINE):
            if not line.endswith("\n"):  # a longer line: keep its start, skip the rest
                while (more := proc.stdout.readline(MAX_LINE)) and not more.endswith("\n"):
                    pass
                line += " […]\n"
            kept.append(line)
            if echo:
                echo(redact(line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ended = threading.Event()  # set by a thread blocked in wait(): no polling, no latency
    threading.Thread(target=lambda: (proc.wait(), ended.set()), daemon=True).start()
    try:
        if not ended.wait(timeout=max(0.0, deadline - time.monotonic())):
            raise Deadline(doing)
    finally:
        _kill_group(proc)  # what the step left behind dies with it
        with _lock:
            _running.discard(proc)
        reader.join(timeout=5)
    if _stop.is_set():
        raise Interrupted(stop_signal())
    return Output(proc.returncode, "".join(kept))


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.wait(timeout=5)


def stop_all(signum: int = signal.SIGINT) -> None:
    """Start no new step, and kill every running one with its process group."""
    with _lock:
        if not _stop.is_set():
            _signal.append(signum)
        _stop.set()
        running = list(_running)
    for proc in running:
        _kill_group(proc)


def stopping() -> bool:
    return _stop.is_set()


def stop_signal() -> int:
    return _signal[0] if _signal else signal.SIGINT


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM stop every step instead of ending the process
    abruptly (which would leave the steps' process groups running). Afterwards the
    handlers are restored and the stop is cleared; ``Interrupted`` tells the caller."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: object) -> None:
        stop_all(signum)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        with _lock:
            _stop.clear()
            _signal.clear()
