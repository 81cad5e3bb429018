"""Run one cell: interpreter, resolution, the exact environment, what got installed, pytest.

The outcome is exactly one ``Status`` of DESIGN.md, attributed: ``error`` when the cause is
on the project's or the machine's side (an interpreter missing, the index out of reach,
pytest unable to start, nothing collected), with the fix in ``hint``. A cell whose inputs
(``compat.fingerprint``) did not change since its stored deterministic verdict is not run
again: the stored result is returned with ``reused`` set.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat import attribution, procs
from compat import environment as envs
from compat import fingerprint as fp
from compat.errors import Interrupted
from compat.matrix import Matrix
from compat.plan import Cell
from compat.results import Result, Status
from compat.text import redact

PLUGIN_DIR = Path(__file__).parent / "_plugin"
# Variables the code under test never sees (unless named in `pass-env`).
_SECRET = re.compile(r"(?i)(token|secret|passw|credential|api_?key|access_?key|private_?key)")
_URL_CREDENTIALS = re.compile(r"://[^/\s@]+@")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_result(cell: Cell, snapshot: str = "") -> Result:
    """A result for ``cell`` before anything ran (status ``not-applicable``)."""
    return Result(
        session=cell.session,
        integration=cell.integration,
        label=cell.label,
        package=cell.package,
        requested=cell.version,
        python=cell.python,
        requirements=list(cell.requirements),
        resolution=dict(cell.resolution),
        started=now(),
        in_declared_range=cell.in_declared_range,
        declared=cell.declared,
        snapshot=snapshot,
    )


def error_result(cell: Cell, matrix: Matrix, message: str, hint: str) -> Result:
    result = new_result(cell, matrix.settings.snapshot)
    result.status, result.message, result.hint = Status.ERROR, message, hint
    return result


def scrubbed(env: dict[str, str], pass_env: Sequence[str]) -> dict[str, str]:
    """``env`` without secrets: tokens, passwords, keys, URLs carrying credentials."""
    return {
        key: value
        for key, value in env.items()
        if key in pass_env or not (_SECRET.search(key) or _URL_CREDENTIALS.search(value))
    }


@contextlib.contextmanager
def cell_lock(matrix: Matrix, venv: Path, echo: procs.Echo | None) -> Iterator[None]:
    """One run at a time per virtualenv; a second one waits and says so."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    folder = matrix.state_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{venv.name}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            notice = f"compat: {venv.name} is in use by another nox-compat run ({holder}); waiting"
            echo(notice) if echo else print(notice, file=sys.stderr)
            while True:
                if procs.stopping():
                    raise Interrupted(procs.stop_signal()) from None
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_cell(
    cell: Cell,
    matrix: Matrix,
    *,
    previous: Result | None = None,
    pytest_args: Sequence[str] = (),
    echo: procs.Echo | None = None,
) -> Result:
    """Build the cell's environment, run its tests, return the classified result.

    ``previous`` is the stored result of the cell: returned as it is (``reused``) when its
    verdict is deterministic and its fingerprint equals this run's.
    """
    clock = time.monotonic()
    result = new_result(cell, matrix.settings.snapshot)
    if not cell.applicable:
        result.message = (
            f"requires-python of {cell.package} {cell.version} excludes Python {cell.python}"
        )
        return result
    venv = envs.venv_dir(matrix, cell)
    step = envs.Step(matrix, cell, clock + matrix.settings.timeout, echo)
    try:
        with cell_lock(matrix, venv, echo):
            reused = _run_steps(step, venv, result, previous, pytest_args)
            if reused is not None:
                return reused
    except procs.Deadline as exc:
        result.status = Status.TIMEOUT
        result.message = f"killed after {matrix.settings.timeout:g}s (timeout) while {exc.doing}"
    result.duration_s = round(time.monotonic() - clock, 2)
    return result


def _fail(result: Result, problem: envs.Problem) -> None:
    result.status, result.message, result.hint = (
        problem.status,
        redact(problem.message),
        problem.hint,
    )
    result.log_tail = redact(procs.Output(1, problem.log).tail)


def _run_steps(
    step: envs.Step,
    venv: Path,
    result: Result,
    previous: Result | None,
    pytest_args: Sequence[str],
) -> Result | None:
    matrix, cell = step.matrix, step.cell
    found = envs.find_python(cell.python, matrix.root)
    if found is None:
        _fail(result, envs.python_problem(cell.python, matrix.source.name))
        return None
    interpreter, full_version = found
    pins = envs.resolve(step, interpreter)
    if isinstance(pins, envs.Problem):
        _fail(result, pins)
        return None
    result.fingerprint = _fingerprint(matrix, cell, pins, full_version)
    if (
        previous is not None
        and previous.fingerprint == result.fingerprint
        and previous.requested == cell.version
        and previous.status.deterministic
        and not pytest_args
    ):
        return replace(previous, reused=True)
    for problem in (envs.prepare_venv(step, venv, interpreter), envs.sync(step, venv, pins)):
        if problem is not None:
            _fail(result, problem)
            return None

    upstream = [
        cell.package,
        *(Requirement(w).name for w in matrix.integration(cell.integration).with_),
    ]
    result.python = full_version  # the venv's interpreter
    result.freeze = envs.freeze(step, venv)
    installed = result.installed = envs.installed_version(result.freeze, cell.package)
    if installed is None:
        _fail(result, envs.Problem(Status.INSTALL_FAILED, f"{cell.package} is not installed"))
    elif not _same_version(installed, cell.version):
        result.status = Status.WRONG_VERSION
        result.message = f"requested {cell.package}=={cell.version}, got {installed}"
    else:
        _run_tests(step, venv, result, upstream, pytest_args)
    return None


def _fingerprint(matrix: Matrix, cell: Cell, pins: list[str], python: str) -> str:
    settings = matrix.settings
    root = matrix.root
    return fp.fingerprint(
        {
            "pins": sorted(pins),
            "python": python,
            "tests": fp.files_digest(root, fp.test_files(root, cell.tests)),
            "project": fp.files_digest(root, _project_source(matrix))
            if settings.install_project
            else "",
            "cell": [cell.requirements, cell.select, cell.tests, cell.resolution, cell.declared],
            "settings": [
                settings.test_requires,
                settings.timeout,
                settings.deprecations,
                settings.pass_env,
            ],
            "snapshot": settings.snapshot,
            "tool": fp.tool_digest(),
        }
    )


def _project_source(matrix: Matrix) -> list[Path]:
    """The project's files, without what nox-compat itself writes from the verdicts."""
    outputs = {matrix.docs_path, matrix.docs_path.with_suffix(".json")}
    if matrix.settings.notices:
        outputs.add(matrix.root / matrix.settings.notices)
    results = matrix.results_dir.resolve()
    return [
        path
        for path in fp.source_files(matrix.root)
        if path not in outputs and results not in path.resolve().parents
    ]


def _same_version(installed: str, requested: str) -> bool:
    try:
        return Version(installed) == Version(requested)
    except InvalidVersion:
        return installed == requested


def foreign_modules(matrix: Matrix, cell: Cell) -> list[str]:
    """Likely import names of the other integrations' upstreams (not installed in this cell)."""
    own = set(_import_guesses(matrix.integration(cell.integration)))
    names = {
        n for i in matrix.integrations if i.name != cell.integration for n in _import_guesses(i)
    }
    return sorted(names - own)


def _import_guesses(integ) -> list[str]:
    guesses = []
    for dist in (integ.package, *(Requirement(w).name for w in integ.with_)):
        name = canonicalize_name(dist).replace("-", "_")
        guesses += [name, name.split("_", 1)[0]]
    return guesses


def _run_tests(
    step: envs.Step,
    venv: Path,
    result: Result,
    upstream: list[str],
    pytest_args: Sequence[str],
) -> None:
    matrix, cell = step.matrix, step.cell
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        report_path = Path(tmp) / "report.json"
        env = scrubbed(envs.uv_env(), matrix.settings.pass_env)
        env.update(
            COMPAT_REPORT=str(report_path),
            COMPAT_UPSTREAM=",".join(upstream),
            COMPAT_FOREIGN=",".join(foreign_modules(matrix, cell)),
            COMPAT_PROJECT=str(matrix.root),
            COMPAT_CELL=cell.session,
            PYTHONPATH=os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")])),
        )
        command = [
            str(envs.venv_python(venv)), "-m", "pytest", "-p", "compat_pytest_plugin",
            "-p", "no:cacheprovider", *cell.tests, *(["-k", cell.select] if cell.select else []),
            *pytest_args,
        ]  # fmt: skip
        clock = time.monotonic()
        out = procs.run(
            command, cwd=matrix.root, env=env, deadline=step.deadline, doing="running the tests",
            echo=step.echo,
        )  # fmt: skip
        result.pytest_s = round(time.monotonic() - clock, 3)
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
    result.log_tail = redact(out.tail)
    classify(step, venv, result, report, out, upstream)


def classify(
    step: envs.Step,
    venv: Path,
    result: Result,
    report: dict | None,
    out: procs.Output,
    upstream: list[str],
) -> None:
    """The verdict of the test step (``compat.attribution.verdict``), reading what the
    cell's virtualenv holds when an import failed; a cell whose pin overrode the project's
    own bound says so."""
    matrix, cell = step.matrix, step.cell
    owners = envs.module_owners(step, venv) if attribution.reads_installed(report, out) else {}
    installed = attribution.Installed(
        owners,
        tuple(upstream),
        envs.project_name(matrix) if matrix.settings.install_project else "",
        attribution.cell_paths(matrix.root, venv, _python_prefix(venv)),
        attribution.index_distribution(matrix),
    )
    attribution.verdict(result, report, out, matrix, installed)
    note = envs.override_note(matrix, cell)
    if note:
        result.notes.append(note)


def _python_prefix(venv: Path) -> str:
    """The prefix of the interpreter the virtualenv was made from (``home`` is its bin)."""
    try:
        lines = (venv / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return str(Path(value.strip()).parent)
    return ""
