"""Run one cell: interpreter, resolution, the exact environment, what got installed, pytest.

The outcome is exactly one ``Status`` of DESIGN.md, attributed: ``error`` when the cause is
on the project's or the machine's side (an interpreter missing, the index out of reach,
pytest unable to start, nothing collected), with the fix in ``hint``. Whether a stored
verdict stands instead of a run is ``compat.inputs``'s decision; the runner asks it once the
cell's environment is resolved. A new red verdict is confirmed by running its failing tests
again: when they pass, the cell is ``flaky``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat import attribution, inputs, procs
from compat import environment as envs
from compat.errors import Interrupted
from compat.matrix import Matrix
from compat.plan import Cell
from compat.results import Result, Status

PLUGIN_DIR = inputs.PLUGIN_DIR
# What the code under test sees of the caller's environment (plus `pass-env`), as tox does:
# the machine's basics, the locale, proxies and certificates. Not in the key (the machine).
ALLOWED_ENV = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TERM", "TZ", "LD_LIBRARY_PATH",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "SYSTEMROOT", "SYSTEMDRIVE", "COMSPEC", "PATHEXT", "WINDIR", "USERPROFILE",
    "APPDATA", "LOCALAPPDATA",
)  # fmt: skip


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


def test_environment(matrix: Matrix, venv: Path, tmp: Path) -> dict[str, str]:
    """The environment of the code under test: the allow-list, ``pass-env``, the cell's
    virtualenv first on PATH (as nox and tox do) and a temporary folder of its own."""
    pass_env = matrix.settings.pass_env
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ALLOWED_ENV or key.startswith("LC_") or key in pass_env
    }
    scripts = envs.venv_python(venv).parent
    env["PATH"] = os.pathsep.join(filter(None, [str(scripts), env.get("PATH")]))
    env["VIRTUAL_ENV"] = str(venv)
    env["TMPDIR"] = env["TEMP"] = env["TMP"] = str(tmp)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")]))
    return env


def pytest_command(matrix: Matrix, venv: Path) -> list[str]:
    """``python -m pytest`` when the tests import the project from the working tree; the
    ``pytest`` script when it is installed, so the working tree is not put first on
    ``sys.path`` and the cell tests the distribution as built."""
    python = envs.venv_python(venv)
    if not matrix.settings.install_project:
        return [str(python), "-m", "pytest"]
    return [str(python.with_name("pytest.exe" if os.name == "nt" else "pytest"))]


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
    audit: bool = False,
) -> Result:
    """Build the cell's environment, run its tests, return the classified result.

    ``previous`` is the stored result of the cell; it (or a verdict of the cell's recent
    history) is returned as it is (``reused``) when ``compat.inputs`` says a real run would
    give the same. ``audit`` runs the cell even then, and says whether the two agree.
    ``pytest_args`` always run (their result is not the cell's verdict: never store it).
    """
    clock = time.monotonic()
    result = new_result(cell, matrix.settings.snapshot)
    if not cell.applicable:
        result.message = (
            f"requires-python of {cell.package} {cell.version} excludes Python {cell.python}"
        )
        return result
    venv = envs.venv_dir(matrix, cell)
    budget = matrix.settings.timeout
    step = envs.Step(matrix, cell, clock + budget, echo)
    try:
        with cell_lock(matrix, venv, echo):
            kept = _run_steps(step, venv, result, previous, pytest_args, audit)
    except procs.Deadline as exc:  # the test step has its own deadline: this is the building
        result.status = Status.ERROR
        result.message = (
            f"the environment was not built within {budget:g}s (stalled while {exc.doing})"
        )
        result.hint = (
            "a slow or hanging package index, or a build that never ends — not a verdict on "
            "the upstream; the stored verdict is kept (raise `timeout` if building is just slow)"
        )
        kept = None
    if kept is not None:
        return kept
    result.duration_s = round(time.monotonic() - clock, 2)
    return result.redacted(os.environ)  # once, when the result is built: what is stored and shown


def _fail(result: Result, problem: envs.Problem) -> None:
    result.status, result.message, result.hint = problem.status, problem.message, problem.hint
    result.log_tail = procs.Output(1, problem.log).tail


def _kept(stored: Result, cell: Cell) -> Result:
    """``stored`` as this run's verdict: what the docs say of the declared range is today's."""
    return replace(
        stored,
        reused=True,
        why="unchanged",
        reuses=stored.reuses + 1,
        audit="",
        declared=cell.declared,
        in_declared_range=cell.in_declared_range,
    )


@dataclass(frozen=True)
class _Prepared:
    """What a run knows before it installs anything."""

    interpreter: str
    pins: list[str]
    project: envs.Built | None


def _prepare(step: envs.Step, result: Result) -> _Prepared | None:
    """Interpreter, project build, resolution; then ``result.key``. None (with ``result``
    failed) when one of them cannot be had."""
    matrix, cell = step.matrix, step.cell
    found = envs.find_python(cell.python, matrix.root)
    if found is None:
        _fail(result, envs.python_problem(cell.python, matrix.source.name))
        return None
    interpreter, full_version = found
    project = None
    if matrix.settings.install_project:
        project = envs.build_project(step)
        if isinstance(project, envs.Problem):
            _fail(result, project)
            return None
    pins = envs.resolve(step, interpreter, project, full_version)
    if isinstance(pins, envs.Problem):
        _fail(result, pins)
        return None
    result.key = inputs.key(matrix, cell, pins, full_version, project.digest if project else "")
    return _Prepared(interpreter, pins, project)


def _standing(
    matrix: Matrix, result: Result, previous: Result | None
) -> tuple[inputs.Decision, Result | None]:
    """Whether a stored verdict of the cell stands (the stored one, or one of its history
    when the inputs are back to what it saw), and which."""
    if not result.key:  # no environment: only the same unresolvable requirements stand
        same = (
            previous is not None
            and result.status is Status.INSTALL_FAILED
            and (previous.status, previous.requested) == (result.status, result.requested)
            and previous.message == result.message
        )
        return inputs.Decision(same, "unchanged" if same else result.message), previous
    candidates = [previous, *(inputs.history(matrix, result.session) if previous else [])]
    decisions = [(inputs.reusable(c, result.key, matrix), c) for c in candidates]
    return next(((d, c) for d, c in decisions if d.reuse), decisions[0])


def standing(cell: Cell, matrix: Matrix, previous: Result | None) -> inputs.Decision:
    """Whether ``cell`` needs no run: a run's first steps (interpreter, project build,
    resolution: nothing installed, nothing tested) and the reuse decision — what CI's plan
    job asks to start jobs only for the cells that must run."""
    if not cell.applicable:
        return inputs.Decision(True, "not applicable")
    step = envs.Step(matrix, cell, time.monotonic() + matrix.settings.timeout)
    result = new_result(cell, matrix.settings.snapshot)
    _prepare(step, result)
    return _standing(matrix, result, previous)[0]


def _run_steps(
    step: envs.Step,
    venv: Path,
    result: Result,
    previous: Result | None,
    pytest_args: Sequence[str],
    audit: bool,
) -> Result | None:
    """The steps of a real run, filling ``result``; or the stored verdict that stands."""
    matrix, cell = step.matrix, step.cell
    prepared = _prepare(step, result)
    if prepared is None:
        decision, kept = _standing(matrix, result, previous)
        return _kept(kept, cell) if decision.reuse and kept and not pytest_args else None
    interpreter, pins, project = prepared.interpreter, prepared.pins, prepared.project
    audited = None
    if not pytest_args:
        decision, stands = _standing(matrix, result, previous)
        if decision.reuse and stands is not previous:
            inputs.remember(matrix, previous)  # back to inputs seen before: keep both
        if decision.reuse and not audit:
            return _kept(stands, cell)
        result.why = "audit" if decision.reuse else decision.reason
        audited = stands if decision.reuse else None
    problem = envs.prepare_venv(step, venv, interpreter)
    synced = problem if problem is not None else envs.sync(step, venv, pins, project)
    if isinstance(synced, envs.Problem):
        _fail(result, synced)
        return None

    upstream = [
        cell.package,
        *(Requirement(w).name for w in matrix.integration(cell.integration).with_),
    ]
    result.python = result.key["python"]  # the venv's interpreter
    result.freeze = (None if synced else envs.stored_freeze(venv)) or envs.freeze(step, venv)
    if synced:
        envs.record_freeze(venv, result.freeze)
    installed = result.installed = envs.installed_version(result.freeze, cell.package)
    if installed is None:
        _fail(result, envs.Problem(Status.INSTALL_FAILED, f"{cell.package} is not installed"))
    elif not _same_version(installed, cell.version):
        result.status = Status.WRONG_VERSION
        result.message = f"requested {cell.package}=={cell.version}, got {installed}"
    else:
        _run_tests(step, venv, result, upstream, pytest_args)
    if not pytest_args and previous is not None and previous is not audited:
        inputs.remember(matrix, previous)
    if audited is not None:
        result.audit = _audit(audited, result)
    return None


def _audit(stored: Result, new: Result) -> str:
    """Whether a real run agrees with the verdict the key would have kept."""
    if not new.status.judged or new.status is Status.FLAKY:
        return f"not comparable: this run gave {new.status}"
    if new.status is stored.status:
        return "agreed"
    return (
        f"disagreed: the stored verdict was {stored.status} (run {stored.run_date}), "
        f"a real run gave {new.status}"
    )


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
    """Run pytest with the recorder and classify; confirm a red verdict by a second run."""
    cell = step.cell
    selection = [*cell.tests, *(["-k", cell.select] if cell.select else [])]
    out, report, seen = _pytest(step, venv, upstream, [*selection, *pytest_args])
    result.pytest_s = round(out.seconds, 3)
    _judge(step, venv, result, upstream, out, report)
    _observed(result, seen)
    if pytest_args or result.status not in (Status.FAILED, Status.TIMEOUT):
        return
    failing = (report or {}).get("rerun") or []
    again_args = [str(n) for n in failing] if failing and out.code != -1 else selection
    out2, report2, seen2 = _pytest(step, venv, upstream, again_args)
    second = replace(result, failures=[], deprecations=[], notes=[])
    _judge(step, venv, second, upstream, out2, report2)
    _observed(result, seen2)
    if second.status.passing:
        names = ", ".join(f.test for f in result.failures[:5]) or "the tests"
        first = "ran past the timeout" if result.status is Status.TIMEOUT else "failed"
        result.status = Status.FLAKY
        result.message = f"{names} {first}, then passed when run again: flaky, not a verdict"
        result.hint = "make the tests deterministic; the next sweep runs this cell again"
    else:
        result.notes.append("confirmed by a second run of the failing tests")


def _observed(result: Result, seen: inputs.Observed) -> None:
    result.inputs = {**result.inputs, **seen.inputs}
    result.network = sorted({*result.network, *seen.network})
    for reason in seen.untraced:
        note = f"keyed by the whole project tree: its tests {reason}"
        if note not in result.notes:
            result.notes.append(note)


def _judge(
    step: envs.Step,
    venv: Path,
    result: Result,
    upstream: list[str],
    out: procs.Output,
    report: dict | None,
) -> None:
    if out.code == -1:  # the test step's deadline
        result.status = Status.TIMEOUT
        result.message = (
            f"killed after {step.matrix.settings.timeout:g}s (timeout) while running the tests"
        )
        return
    result.log_tail = out.tail
    classify(step, venv, result, report, out, upstream)


def _pytest(
    step: envs.Step, venv: Path, upstream: list[str], args: list[str]
) -> tuple[procs.Output, dict | None, inputs.Observed]:
    """One pytest process (and what it and its subprocesses read); exit code -1: the
    tests ran past the cell's timeout."""
    matrix, cell = step.matrix, step.cell
    inputs.install_recorder(venv)
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        folder = Path(tmp)
        report_path, logs, scratch = folder / "report.json", folder / "inputs", folder / "tmp"
        logs.mkdir()
        scratch.mkdir()
        env = test_environment(matrix, venv, scratch)
        env.update(
            COMPAT_REPORT=str(report_path),
            COMPAT_UPSTREAM=",".join(upstream),
            COMPAT_FOREIGN=",".join(foreign_modules(matrix, cell)),
            COMPAT_PROJECT=str(matrix.root),
            COMPAT_ANCHOR=str(inputs.Paths(matrix).anchor),
            COMPAT_CELL=cell.session,
            COMPAT_INPUTS=str(logs),
            COMPAT_TMP=str(scratch),
            COMPAT_NOTICES=str(matrix.root / notices)
            if (notices := matrix.settings.notices)
            else "",
        )
        command = [
            *pytest_command(matrix, venv), "-p", "compat_pytest_plugin",
            "-p", "no:cacheprovider", *args,
        ]  # fmt: skip
        clock = time.monotonic()
        try:
            out = procs.run(
                command, cwd=matrix.root, env=env, deadline=clock + matrix.settings.timeout,
                doing="running the tests", echo=step.echo,
            )  # fmt: skip
        except procs.Deadline:
            out = procs.Output(-1, "")
        out = replace(out, seconds=time.monotonic() - clock)
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
        seen = inputs.observe(matrix, logs, (report or {}).get("watched", []), cell.tests)
    return out, report, seen


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
