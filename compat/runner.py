"""Run one cell: a uv virtualenv, the pinned install, a check of what got installed, pytest.

The outcome is classified into exactly one status of DESIGN.md; the result is a
plain dict (see ``compat.results``). Every subprocess runs in its own process
group so that a cell past its timeout is killed with everything it started.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from compat.matrix import Matrix
from compat.plan import Cell
from compat.results import SCHEMA, Result

PLUGIN_DIR = Path(__file__).parent / "_plugin"
TAIL_LINES = 40
Echo = Callable[[str], None]


class _Timeout(Exception):
    pass


@functools.cache
def uv_binary() -> str:
    """The uv next to this interpreter (installed with nox-compat), else the one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv") or "uv"


def venv_dir(matrix: Matrix, cell: Cell) -> Path:
    """Where ``compat run``, the sweep and bisect build a cell's virtualenv."""
    return matrix.root / ".compat" / "venvs" / re.sub(r"[^\w.-]", "-", cell.session)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def new_result(cell: Cell) -> Result:
    """A result for ``cell`` before anything ran (status ``not-applicable``)."""
    return {
        "schema": SCHEMA,
        "session": cell.session,
        "integration": cell.integration,
        "label": cell.label,
        "package": cell.package,
        "requested": cell.version,
        "installed": None,
        "python": cell.python,
        "status": "not-applicable",
        "tests": {"passed": 0, "failed": 0, "skipped": 0, "errors": 0},
        "deprecations": [],
        "failures": [],
        "freeze": [],
        "requirements": list(cell.requirements),
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": 0.0,
        "log_tail": "",
    }


def run_cell(
    cell: Cell,
    matrix: Matrix,
    *,
    venv: Path,
    create: bool = True,
    pytest_args: Sequence[str] = (),
    echo: Echo | None = None,
) -> Result:
    """Build the cell's environment in ``venv``, run its tests, return the classified result."""
    clock = time.monotonic()
    result = new_result(cell)
    if cell.applicable:
        deadline = clock + matrix.settings.timeout
        try:
            _run_steps(cell, matrix, venv, create, pytest_args, echo, deadline, result)
        except _Timeout as exc:
            result["status"] = "timeout"
            result["message"] = f"killed after {matrix.settings.timeout:g}s (timeout) while {exc}"
    else:
        result["message"] = (
            f"requires-python of {cell.package} {cell.version} excludes Python {cell.python}"
        )
    result["duration_s"] = round(time.monotonic() - clock, 2)
    return result


def _run_steps(
    cell: Cell,
    matrix: Matrix,
    venv: Path,
    create: bool,
    pytest_args: Sequence[str],
    echo: Echo | None,
    deadline: float,
    result: Result,
) -> None:
    uv = uv_binary()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": os.environ.get("UV_PYTHON_DOWNLOADS", "never")}
    env.pop("VIRTUAL_ENV", None)
    python = venv_python(venv)
    root = matrix.root

    if create or not python.exists():
        code, out = _run(
            [uv, "venv", "--clear", "--python", cell.python, str(venv)],
            root,
            env,
            deadline,
            "creating the virtualenv",
            echo,
        )
        if code:
            _fail(
                result, "install-failed", out, f"could not create a Python {cell.python} virtualenv"
            )
            return

    install = [
        uv, "pip", "install", "--python", str(python),
        "--default-index", matrix.settings.index_url,
        "--resolution", cell.resolution,
        "--reinstall-package", cell.package,
        *cell.requirements, *matrix.settings.test_requires,
    ]  # fmt: skip
    if matrix.settings.install_project:
        install.append(str(root))
    code, out = _run(install, root, env, deadline, "installing", echo)
    if code:
        _fail(result, "install-failed", out, "the environment could not be built")
        return

    probe = (
        "import importlib.metadata as m, json, platform, sys; "
        "print(json.dumps([m.version(sys.argv[1]), platform.python_version()]))"
    )
    code, out = _run(
        [str(python), "-c", probe, cell.package],
        root,
        env,
        deadline,
        "checking the installed version",
    )
    if code:
        _fail(result, "install-failed", out, f"{cell.package} is not installed")
        return
    installed, result["python"] = json.loads(out.strip().splitlines()[-1])
    result["installed"] = installed
    _, freeze = _run(
        [uv, "pip", "freeze", "--python", str(python)], root, env, deadline, "freezing"
    )
    result["freeze"] = [line for line in freeze.splitlines() if line and not line.startswith("#")]
    if not _same_version(installed, cell.version):
        _fail(
            result,
            "wrong-version",
            "",
            f"requested {cell.package}=={cell.version}, got {installed}",
        )
        return

    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        upstream = [
            cell.package,
            *(Requirement(w).name for w in matrix.integration(cell.integration).with_),
        ]
        test_env = {
            **env,
            "COMPAT_REPORT": str(report_path),
            "COMPAT_UPSTREAM": ",".join(upstream),
            "COMPAT_CELL": cell.session,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")])),
        }
        command = [
            str(python), "-m", "pytest", "-p", "compat_pytest_plugin", "-p", "no:cacheprovider",
            *cell.tests, *(["-k", cell.select] if cell.select else []), *pytest_args,
        ]  # fmt: skip
        code, out = _run(command, root, test_env, deadline, "running the tests", echo)
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    result["log_tail"] = _tail(out)
    if report is None:
        _fail(result, "failed", out, f"pytest did not finish (exit code {code})")
        return
    result.update(
        tests=report["tests"],
        failures=report["failures"],
        deprecations=report["deprecations"],
        pytest_s=report["duration_s"],
    )
    counts = report["tests"]
    if counts["failed"] or counts["errors"] or code not in (0, 5):
        result["status"] = "failed"
    elif not counts["passed"]:
        result["status"] = "skipped"
        result["message"] = "no test passed: every selected test skipped, or none was selected"
    else:
        result["status"] = "deprecated" if report["deprecations"] else "passed"


def _same_version(installed: str, requested: str) -> bool:
    try:
        return Version(installed) == Version(requested)
    except InvalidVersion:
        return installed == requested


def _fail(result: Result, status: str, output: str, message: str) -> None:
    result["status"] = status
    result["message"] = message
    result["log_tail"] = _tail(output)


def _tail(output: str) -> str:
    return "\n".join(output.rstrip().splitlines()[-TAIL_LINES:])


def _run(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    deadline: float,
    doing: str,
    echo: Echo | None = None,
) -> tuple[int, str]:
    """Run ``command`` (stderr merged), streaming lines to ``echo``; kill its group at the deadline."""
    if echo:
        echo("$ " + " ".join(command))
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
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if echo:
                echo(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise _Timeout(doing) from None
    finally:
        reader.join(timeout=5)
    return proc.returncode, "".join(lines)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()
