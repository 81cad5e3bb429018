"""The sweep's progress output: a live line on a terminal, plain lines in CI."""

from __future__ import annotations

import io

from compat.results import Result, Status
from compat.sweep import Progress

RESULT = Result(
    "compat-acme-min-3.12", "acme", "min", "acme-sdk", "1.0.0", "3.12",
    status=Status.FAILED, duration_s=1.5,
)  # fmt: skip


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_in_ci(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    stream = Terminal()
    progress = Progress(2, stream)
    progress.started()
    progress.finished(RESULT)
    progress.close()
    assert stream.getvalue() == "[1/2] ❌ failed         compat-acme-min-3.12 (1.5s)\n"


def test_live_status_line_on_a_terminal(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    stream = Terminal()
    progress = Progress(2, stream)
    progress.started()
    progress.finished(RESULT)
    progress.close()
    text = stream.getvalue()
    assert "\r\033[Kdone 0/2 · running 1 · unchanged 0 · failed 0 · 00:00" in text
    assert "[1/2] ❌ failed" in text and text.endswith(
        "done 1/2 · running 0 · unchanged 0 · failed 1 · 00:00\n"
    )


def test_the_same_error_is_said_once(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    stream = Terminal()
    progress = Progress(2, stream)
    for python in ("3.11", "3.12"):
        progress.started()
        progress.finished(
            Result(
                f"compat-acme-min-{python}", "acme", "min", "acme-sdk", "1.0.0", python,
                status=Status.ERROR, message="the index could not be reached", hint="retry",
            )
        )  # fmt: skip
    text = stream.getvalue()
    assert text.count("the index could not be reached") == 1 and "(the same as above)" in text
