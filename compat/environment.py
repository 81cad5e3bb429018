"""A cell's environment, built by uv: the interpreter, the resolution, the exact install.

The cell's requirement groups are resolved into exact pins first (``uv pip compile``), then
synchronised into the cell's one virtualenv (``uv pip sync``: what is not pinned is removed,
so an environment updated in place is the same as a fresh one). ``min`` cells lower only the
integration's own requirements: they are resolved alone with ``--resolution lowest-direct``
and their pins join the full resolution, where the project's dependencies and
``test-requires`` resolve as a user installing today gets them.

Failures come back as ``Problem`` values that say whose side they are on.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from compat import procs
from compat.matrix import Matrix
from compat.plan import Cell
from compat.results import Status

_NETWORK = re.compile(
    r"(?i)(error sending request|could not connect|connection refused|connection reset|"
    r"dns error|tcp connect error|operation timed out|request failed after|"
    r"http status server error|status code: 5\d\d|network is unreachable|"
    r"name or service not known|connection closed before message completed)"
)
_HASH = re.compile(r"(?i)hash mismatch")
_PYTHON_LOCK = threading.Lock()


@functools.cache
def uv_binary() -> str:
    """The uv next to this interpreter (installed with nox-compat), else the one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv") or "uv"


def uv_env() -> dict[str, str]:
    """The environment of uv's steps: never download interpreters unless asked to."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": os.environ.get("UV_PYTHON_DOWNLOADS", "never")}
    env.pop("VIRTUAL_ENV", None)
    return env


@dataclass(frozen=True)
class Problem:
    """Why the environment could not be built, and on whose side."""

    status: Status  # ERROR (our side) or INSTALL_FAILED (the upstream's side)
    message: str
    hint: str = ""
    log: str = ""


def python_problem(python: str, source: str) -> Problem:
    return Problem(
        Status.ERROR,
        f"Python {python} was not found",
        f"install it (`uv python install {python}`, or `pyenv install {python}` and put it on "
        f"PATH, e.g. `pyenv global` followed by every version you test), or remove {python} "
        f"from `python` in {source}",
    )


_found: dict[str, tuple[str, str] | None] = {}


def find_python(python: str, cwd: Path) -> tuple[str, str] | None:
    """(path, full version) of the interpreter uv finds for ``X.Y`` (never downloaded),
    remembered for the process."""
    with _PYTHON_LOCK:
        if python not in _found:
            _found[python] = _find(python, cwd)
        return _found[python]


def _find(python: str, cwd: Path) -> tuple[str, str] | None:
    out = procs.run(
        [uv_binary(), "python", "find", "--no-project", python],
        cwd=cwd,
        env=uv_env(),
        deadline=_far(),
        doing="finding the interpreter",
        keep_all=True,
    )
    lines = out.text.strip().splitlines()
    if out.code or not lines:
        return None
    path = lines[-1].strip()
    version = procs.run(
        [path, "-c", "import platform; print(platform.python_version())"],
        cwd=cwd,
        env=uv_env(),
        deadline=_far(),
        doing="finding the interpreter",
        keep_all=True,
    )
    return (path, version.text.strip()) if version.code == 0 else None


def _far() -> float:
    return time.monotonic() + 120


def venv_dir(matrix: Matrix, cell: Cell) -> Path:
    """The one virtualenv of a cell, shared by nox, ``compat run``, the sweep; one per Python
    for all bisect probes of an integration."""
    label = "bisect" if cell.label.startswith("bisect-") else cell.label
    name = re.sub(r"[^\w.-]", "-", f"{cell.integration}-{label}-{cell.python}")
    return matrix.state_dir / "venvs" / name


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@dataclass
class Step:
    """What the steps share: the matrix, the cell, the deadline, the output echo."""

    matrix: Matrix
    cell: Cell
    deadline: float
    echo: procs.Echo | None = None

    def uv(self, *args: str, doing: str, keep_all: bool = True) -> procs.Output:
        return procs.run(
            [uv_binary(), *args],
            cwd=self.matrix.root,
            env=uv_env(),
            deadline=self.deadline,
            doing=doing,
            echo=self.echo,
            keep_all=keep_all,
        )


def requirement_groups(matrix: Matrix, cell: Cell, project: Built | None) -> dict[str, list[str]]:
    """The cell's requirements by group (see ``Cell.resolution``); the project as its wheel."""
    groups = {
        "integration": list(cell.requirements),
        "test-requires": list(matrix.settings.test_requires),
    }
    if project is not None:
        groups["project"] = [project.requirement]
    return groups


@dataclass(frozen=True)
class Built:
    """The project's wheel, built once per sweep (and again only when its source changed)."""

    name: str
    wheel: Path
    digest: str  # its content (``compat.inputs.wheel_digest``)

    @property
    def requirement(self) -> str:
        return f"{self.name} @ {self.wheel.as_uri()}"


_BUILD_LOCK = threading.Lock()
_built: dict[tuple[Path, str], Built] = {}


def build_project(step: Step) -> Built | Problem:
    """The project's wheel: built by uv when its source changed since the last build
    (kept in ``.compat/build``), once per process otherwise."""
    from compat import inputs

    matrix = step.matrix
    folder = matrix.state_dir / "build"
    skip = {matrix.docs_path, matrix.docs_path.with_suffix(".json")}
    with _BUILD_LOCK:
        source = inputs.files_digest(matrix.root, inputs.tree_files(matrix.root, skip))
        memo = (matrix.root, source)
        if memo in _built and _built[memo].wheel.is_file():
            return _built[memo]
        target = folder / source
        wheels = sorted(target.glob("*.whl"))
        if not wheels:
            shutil.rmtree(folder, ignore_errors=True)
            out = step.uv(
                "build", "--wheel", "--quiet", "--out-dir", str(target),
                *matrix.settings.index.uv_args(), str(matrix.root),
                doing="building the project",
            )  # fmt: skip
            wheels = sorted(target.glob("*.whl"))
            if out.code or not wheels:
                problem = uv_problem(matrix, out.text)
                if problem.status is Status.ERROR:
                    return problem
                return Problem(
                    Status.ERROR,
                    f"the project could not be built: {key_sentences(out.text)}",
                    "fix the project's build (`uv build --wheel` in the project shows the "
                    "same), or set `install-project = false`",
                    out.text,
                )
        wheel = wheels[0]
        name = wheel.name.split("-")[0].replace("_", "-")
        _built[memo] = Built(name, wheel, inputs.wheel_digest(wheel))
        return _built[memo]


def resolve(step: Step, interpreter: str, project: Built | None = None) -> list[str] | Problem:
    """The exact pins of the cell, each with the hashes of its files (``name==version
    --hash=…``; the project as its wheel)."""
    matrix, cell = step.matrix, step.cell
    groups = requirement_groups(matrix, cell, project)
    options = [
        *matrix.settings.index.uv_args(),
        *(["--exclude-newer", snapshot] if (snapshot := matrix.settings.snapshot) else []),
        *(["--refresh"] if matrix.settings.refresh else []),
    ]
    lowered = cell.resolution["integration"]
    if lowered != "highest" and not all(_pinned(r) for r in groups["integration"]):
        floors = _compile(step, interpreter, groups["integration"], options, lowered)
        if isinstance(floors, Problem):
            return _attributed(step, interpreter, options, groups, floors)
        groups["integration"] = _pinned_as(groups["integration"], floors)
    wanted = [req for group in groups.values() for req in group]
    pins = _compile(step, interpreter, wanted, options, "highest", hashes=True)
    if isinstance(pins, Problem):
        return _attributed(step, interpreter, options, groups, pins)
    return pins


def _attributed(
    step: Step, interpreter: str, options: list[str], groups: dict[str, list[str]], failed: Problem
) -> Problem:
    """Whose requirements cannot be resolved: the project's side alone (a configuration to
    fix: ``error``), the upstream's own, or the two together (``install-failed``)."""
    if failed.status is Status.ERROR:
        return failed
    cell = step.cell
    ours = [*groups["test-requires"], *groups.get("project", [])]
    mine = _compile(step, interpreter, ours, options, "highest") if ours else []
    if isinstance(mine, Problem):
        if mine.status is Status.ERROR:
            return mine
        return Problem(
            Status.ERROR,
            f"the project's own requirements (test-requires, the project) cannot be "
            f"resolved on this index, whatever the upstream version — {mine.message}",
            "fix `test-requires` in compat.toml or the project's dependencies",
            mine.log,
        )
    alone = _compile(step, interpreter, [f"{cell.package}=={cell.version}"], options, "highest")
    if isinstance(alone, Problem) and alone.status is Status.INSTALL_FAILED:
        return Problem(
            Status.INSTALL_FAILED,
            f"{cell.package} {cell.version} cannot be installed on this index: its own "
            f"requirements are unresolvable — {alone.message}",
            log=alone.log,
        )
    return Problem(
        Status.INSTALL_FAILED,
        f"{cell.package} {cell.version} cannot be installed together with this project's "
        f"requirements (with, deps, test-requires, the project) — {failed.message}",
        log=failed.log,
    )


def _pinned_as(requirements: list[str], pins: list[str]) -> list[str]:
    """``requirements`` pinned to the versions in ``pins``, their extras and markers kept."""
    versions = {}
    for pin in pins:
        name, sep, version = pin.partition("==")
        if sep:
            versions[_name(name)] = version.split(";")[0].strip()
    out = []
    for text in requirements:
        req = Requirement(text)
        version = versions.get(canonicalize_name(req.name))
        if version is None:  # not installed here (a marker excluded it): keep it as it is
            out.append(text)
            continue
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        marker = f"; {req.marker}" if req.marker else ""
        out.append(f"{req.name}{extras}=={version}{marker}")
    return out


def _pinned(requirement: str) -> bool:
    """Whether a requirement allows one version only (nothing to lower)."""
    try:
        specs = list(Requirement(requirement).specifier)
    except InvalidRequirement:
        return False
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def _name(requirement: str) -> str:
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return requirement


def _compile(
    step: Step,
    interpreter: str,
    requirements: list[str],
    options: list[str],
    resolution: str,
    *,
    hashes: bool = False,
) -> list[str] | Problem:
    """``name==version`` lines (with ``--hash=…`` options when ``hashes``), or the problem."""
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        infile = Path(tmp) / "requirements.in"
        infile.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        out = step.uv(
            "pip", "compile", "--python", interpreter, "--no-header", "--no-annotate",
            "--quiet", "--resolution", resolution, *(["--generate-hashes"] if hashes else []),
            *options, str(infile), doing="resolving the requirements",
        )  # fmt: skip
    if out.code:
        return uv_problem(step.matrix, out.text)
    text = out.text.replace("\\\n", " ")
    return [
        " ".join(line.split())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def uv_problem(matrix: Matrix, output: str) -> Problem:
    """What a failed uv step means: the index out of reach (ours), else the upstream's."""
    reason = key_sentences(output)
    index = matrix.settings.index
    if _HASH.search(output):
        return Problem(
            Status.ERROR,
            f"the package index served a file that does not match its hash ({reason})",
            f"the index {_shown(index.url)} (from {index.source}) or a proxy in between is "
            "serving wrong files; the stored verdicts are kept",
            output,
        )
    if _NETWORK.search(output) and "No solution found" not in output:
        return Problem(
            Status.ERROR,
            f"the package index could not be reached ({reason})",
            f"check the network and the index {_shown(index.url)} (from {index.source}); "
            "the stored verdicts are kept — run again when the index answers",
            output,
        )
    return Problem(Status.INSTALL_FAILED, reason, log=output)


def _shown(url: str) -> str:
    from compat.text import redact

    return redact(url)


def key_sentences(output: str, limit: int = 1500) -> str:
    """uv's explanation as whole sentences (tree drawing and hints dropped)."""
    lines = []
    for raw in output.splitlines():
        line = re.sub(r"^[\s×╰─▶│├└┬┴┼|]+", "", raw).strip()
        if not line or line.startswith(("hint:", "Using Python", "Resolved ", "warning:")):
            continue
        lines.append(line)
    text = " ".join(lines)
    text = re.sub(r"^error:\s*", "", text)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind(": "))
    return (cut[: end + 1] if end > 0 else cut.rsplit(" ", 1)[0]) + " […]"


def prepare_venv(step: Step, venv: Path, interpreter: str) -> Problem | None:
    """Make ``venv`` a virtualenv of ``interpreter``, reusing it when it already is one."""
    config = venv / "pyvenv.cfg"
    if venv_python(venv).exists() and config.is_file() and _same_interpreter(config, interpreter):
        return None
    if venv.exists() and not config.is_file():
        shutil.rmtree(venv)  # a half-made folder of ours: uv will not clear it
    out = step.uv(
        "venv",
        "--clear",
        "--quiet",
        "--python",
        interpreter,
        str(venv),
        doing="creating the virtualenv",
    )
    if out.code:
        return Problem(
            Status.ERROR, "uv could not create the virtualenv", key_sentences(out.text), out.text
        )
    return None


def _same_interpreter(config: Path, interpreter: str) -> bool:
    """Whether the venv was made from ``interpreter`` (uv records it as ``home``)."""
    values = {}
    for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    home = values.get("home", "")
    return bool(home) and Path(interpreter).resolve().parent == Path(home).resolve()


STATE = ".compat-state.json"  # in a cell's virtualenv: what it was last synchronised to


def sync(step: Step, venv: Path, pins: list[str], project: Built | None = None) -> bool | Problem:
    """Install exactly ``pins`` into ``venv`` (and nothing else). Returns False without
    starting uv when the environment already holds exactly that set (same file hashes, same
    project build, no distribution added or removed since), True after a sync."""
    state = _state(venv)
    wanted = {"pins": sorted(pins), "project": project.digest if project else ""}
    if state.get("wanted") == wanted and state.get("site") == _site_digest(venv):
        return False
    before = {_pin_name(p): p for p in state.get("wanted", {}).get("pins", [])}
    changed = sorted(
        name for p in pins if (name := _pin_name(p)) in before and before[name] != p
    )  # same name, other version or other files: reinstalled from the files now pinned
    reuploaded = any(
        _unhashed(before[_pin_name(p)]) == _unhashed(p) for p in pins if _pin_name(p) in changed
    )
    if project is not None and state.get("wanted", {}).get("project") != project.digest:
        changed.append(canonicalize_name(project.name))
    reinstall = [arg for name in changed for arg in ("--reinstall-package", name)]
    if reuploaded:  # a file uploaded again under the same name: uv's cached copy is stale
        reinstall.append("--no-cache")
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        lock = Path(tmp) / "requirements.txt"
        lock.write_text("\n".join(pins) + "\n", encoding="utf-8")
        _state_path(venv).unlink(missing_ok=True)  # half-synced: never trusted
        out = step.uv(
            "pip", "sync", "--python", str(venv_python(venv)), *step.matrix.settings.index.uv_args(),
            *reinstall, str(lock), doing="installing",
        )  # fmt: skip
    if out.code:
        return uv_problem(step.matrix, out.text)
    _save_state(venv, {"wanted": wanted})
    return True


def _state_path(venv: Path) -> Path:
    return venv / STATE


def _state(venv: Path) -> dict:
    try:
        data = json.loads(_state_path(venv).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_state(venv: Path, data: dict) -> None:
    from compat.fileio import write_atomic

    write_atomic(_state_path(venv), json.dumps({**data, "site": _site_digest(venv)}))


def _site_digest(venv: Path) -> str:
    """The distributions installed in ``venv`` (their dist-info folders)."""
    from compat.inputs import digest_of

    return digest_of(
        sorted(
            p.name
            for site in venv.glob("lib/python*/site-packages")
            for p in site.glob("*.dist-info")
        )
        + sorted(p.name for p in venv.glob("Lib/site-packages/*.dist-info"))
    )


def stored_freeze(venv: Path) -> list[str] | None:
    """The freeze recorded after the last sync (None when it has to be asked for)."""
    freeze = _state(venv).get("freeze")
    return freeze if isinstance(freeze, list) and all(isinstance(f, str) for f in freeze) else None


def record_freeze(venv: Path, freeze: list[str]) -> None:
    state = _state(venv)
    if state.get("wanted"):
        _save_state(venv, {"wanted": state["wanted"], "freeze": freeze})


def _unhashed(pin: str) -> str:
    return pin.split(" --hash", 1)[0]


def _pin_name(pin: str) -> str:
    return _name(_unhashed(pin))


def installed_version(freeze: list[str], package: str) -> str | None:
    """The version of ``package`` in a ``uv pip freeze`` listing (None: not installed)."""
    wanted = canonicalize_name(package)
    for line in freeze:
        name, sep, version = line.partition("==")
        if sep and canonicalize_name(name.split("[")[0].strip()) == wanted:
            return version.strip()
    return None


def top_level_names(step: Step, venv: Path, distributions: list[str]) -> list[str]:
    """The import names ``distributions`` provide in ``venv`` (for reading a failed pytest)."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "def top(d):\n"
        "    try: dist = m.distribution(d)\n"
        "    except m.PackageNotFoundError: return []\n"
        "    text = dist.read_text('top_level.txt')\n"
        "    if text: return [n.strip() for n in text.split() if n.strip()]\n"
        "    return sorted({f.parts[0][:-3] if f.parts[0].endswith('.py') else f.parts[0]\n"
        "                   for f in dist.files or ()\n"
        "                   if not f.parts[0].endswith(('.dist-info', '.data')) and f.parts[0] != '..'})\n"
        "print(json.dumps(sorted({n for d in sys.argv[1:] for n in top(d)})))\n"
    )
    out = procs.run(
        [str(venv_python(venv)), "-c", script, *distributions],
        cwd=step.matrix.root,
        env=uv_env(),
        deadline=step.deadline,
        doing="reading the installed packages",
        keep_all=True,
    )
    try:
        return json.loads(out.text.strip().splitlines()[-1]) if out.code == 0 else []
    except (ValueError, IndexError):
        return []


def freeze(step: Step, venv: Path) -> list[str]:
    out = step.uv("pip", "freeze", "--python", str(venv_python(venv)), doing="freezing")
    return [line for line in out.text.splitlines() if line and not line.startswith(("#", "Using "))]
