"""pytest plugin loaded into every compat cell (``-p compat_pytest_plugin``).

Standard library only: it runs inside the cell's virtualenv, where nox-compat
itself is not installed. It writes a JSON report to ``$COMPAT_REPORT`` with the
test counts, the first failures and the deprecation warnings that the upstream
packages (``$COMPAT_UPSTREAM``, comma-separated distribution names) raised.

A warning counts as upstream's when the code that called ``warnings.warn`` —
skipping warning helpers such as ``typing_extensions.deprecated`` whose wrapped
object is upstream's — belongs to an upstream package. Libraries warn with
``stacklevel=2``, so the recorded source usually points at the caller (your test
or integration code); it still counts. Warnings that pytest, the standard
library or unrelated packages raise do not.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from importlib import metadata

import pytest

CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
HELPERS = {"warnings", "typing_extensions", "deprecated", "deprecation", "functools"}
MAX_FAILURES = 20

_report: dict = {
    "tests": {"passed": 0, "failed": 0, "skipped": 0, "errors": 0},
    "failures": [],
    "deprecations": [],
}
_upstream: set[str] = set()
_started = time.monotonic()
_original_warn = warnings.warn


def _top_level_names(distribution: str) -> set[str]:
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return set()
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for file in dist.files or ():
        top = file.parts[0]
        if top.endswith((".dist-info", ".data")) or top in ("..", "__pycache__"):
            continue
        names.add(top.removesuffix(".py"))
    return names


def _module_is_upstream(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in _upstream


def _issued_by_upstream(frame) -> bool:
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] not in HELPERS:
            return _module_is_upstream(module)
        for value in frame.f_locals.values():  # a decorator wrapping an upstream object
            if callable(value) and _module_is_upstream(getattr(value, "__module__", None)):
                return True
        frame = frame.f_back
    return False


def _source_of(frame, stacklevel: int) -> str:
    for _ in range(stacklevel - 1):
        if frame.f_back is None:
            break
        frame = frame.f_back
    path = frame.f_code.co_filename
    if "site-packages" in path:  # upstream's own file: name it as its import path does
        path = path.split("site-packages" + os.sep, 1)[-1]
    elif path.startswith(os.getcwd() + os.sep):
        path = os.path.relpath(path)
    return f"{path}:{frame.f_lineno}"


def _recording_warn(message, category=None, stacklevel=1, source=None, **kwargs):
    if isinstance(message, Warning):
        category = type(message)
    category = category or UserWarning
    if issubclass(category, CATEGORIES):
        caller = sys._getframe(1)
        if _issued_by_upstream(caller):
            entry = {
                "category": category.__name__,
                "message": str(message),
                "source": _source_of(caller, stacklevel),
            }
            if entry not in _report["deprecations"]:
                _report["deprecations"].append(entry)
    return _original_warn(message, category, stacklevel + 1, source, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    for name in filter(None, os.environ.get("COMPAT_UPSTREAM", "").split(",")):
        _upstream.update(_top_level_names(name))
    warnings.warn = _recording_warn


def _failure(report: pytest.TestReport | pytest.CollectReport, nodeid: str) -> None:
    if len(_report["failures"]) >= MAX_FAILURES:
        return
    crash = getattr(report.longrepr, "reprcrash", None)
    lines = str(report.longrepr).strip().splitlines()
    message = crash.message if crash else (lines[-1] if lines else "")
    _report["failures"].append({"test": nodeid, "message": message[:2000]})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    counts = _report["tests"]
    if report.when == "call":
        if report.passed:
            counts["passed"] += 1
        elif report.skipped:
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
            _failure(report, report.nodeid)
    elif report.skipped:  # skipped in setup (skip marks, importorskip in fixtures)
        counts["skipped"] += 1
    elif report.failed:
        counts["errors"] += 1
        _failure(report, f"{report.nodeid} ({report.when})")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _report["tests"]["errors"] += 1
        _failure(report, report.nodeid or "collection")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    warnings.warn = _original_warn
    path = os.environ.get("COMPAT_REPORT")
    if path:
        _report["exitstatus"] = int(exitstatus)
        _report["duration_s"] = round(time.monotonic() - _started, 3)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_report, handle)
