"""The result of a cell (one JSON file per session) and the store of results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compat.fileio import write_atomic

SCHEMA = 1
STATUSES = {
    "passed": "✅",
    "deprecated": "⚠️",
    "failed": "❌",
    "install-failed": "🚫",
    "wrong-version": "🚫",
    "skipped": "⏭️",
    "not-applicable": "—",
    "timeout": "⏱️",
}
INCOMPATIBLE = {"failed", "install-failed", "wrong-version", "timeout"}

Result = dict[str, Any]  # the schema of DESIGN.md; plain JSON on purpose


def python_xy(python: str) -> str:
    """``3.12`` from ``3.12.1`` (results hold the full version once the cell ran)."""
    return ".".join(python.split(".")[:2])


def save(result: Result, results_dir: Path) -> Path:
    path = results_dir / f"{result['session']}.json"
    write_atomic(path, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return path


def load_all(results_dir: Path) -> dict[str, Result]:
    """Every stored result by session, the newest one winning.

    Result files may sit in sub-folders (CI artifacts downloaded as they are);
    unreadable or foreign JSON files are skipped, never fatal.
    """
    found: dict[str, Result] = {}
    if not results_dir.is_dir():
        return found
    for path in sorted(results_dir.rglob("*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(result, dict) or result.get("schema") != SCHEMA:
            continue
        session = result.get("session")
        if session and (
            session not in found or result.get("started", "") >= found[session].get("started", "")
        ):
            found[session] = result
    return found


def merge(sources: list[Path], results_dir: Path) -> int:
    """Copy results produced elsewhere into the store; the newest per session wins."""
    stored = load_all(results_dir)
    count = 0
    for source in sources:
        for session, result in load_all(source).items():
            if session not in stored or result.get("started", "") > stored[session].get(
                "started", ""
            ):
                save(result, results_dir)
                stored[session] = result
                count += 1
    return count


def summary(result: Result) -> str:
    """One line: the session, its verdict, the installed version, the test counts."""
    counts = result["tests"]
    text = (
        f"{result['session']}: {result['status']} — {result['package']} "
        f"{result.get('installed') or result['requested']} on Python {result['python']}; "
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
        f"{counts['errors']} errors"
    )
    return text + (f" ({result['message']})" if result.get("message") else "")
