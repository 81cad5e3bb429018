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

import contextlib
import functools
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from compat import procs
from compat.matrix import Matrix
from compat.plan import Cell
from compat.results import Status
from compat.view import active as active_view
from compat.view import index_args

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
    version = _known_version(path)
    if version is None:
        asked = procs.run(
            [path, "-c", "import platform; print(platform.python_version())"],
            cwd=cwd,
            env=uv_env(),
            deadline=_far(),
            doing="finding the interpreter",
            keep_all=True,
        )
        if asked.code:
            return None
        version = asked.text.strip()
        _know_version(path, version)
    return path, version


def _versions_file() -> Path:
    from compat.index import default_cache_dir

    return default_cache_dir() / "pythons.json"


def _stamp(path: str) -> str:
    """The interpreter's file as it is now: an upgraded Python is another file."""
    stat = Path(path).resolve().stat()
    return f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _known_versions() -> dict:
    """The interpreters' full versions remembered from earlier runs, by ``_stamp``."""
    try:
        known = json.loads(_versions_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _known_version(path: str) -> str | None:
    """The full version of the interpreter at ``path``, remembered from an earlier run."""
    return _known_versions().get(_stamp(path))


def _know_version(path: str, version: str) -> None:
    from compat.fileio import write_atomic

    with contextlib.suppress(OSError):
        write_atomic(_versions_file(), json.dumps({**_known_versions(), _stamp(path): version}))


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
    requires: tuple[str, ...] = ()  # its dependencies (Requires-Dist, extras aside)

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
                "build", "--wheel", "--out-dir", str(target),
                *index_args(matrix), str(matrix.root),
                doing="building the project",
            )  # fmt: skip
            wheels = sorted(target.glob("*.whl"))
            if out.code or not wheels:
                problem = uv_problem(matrix, out.text)
                if problem.status is Status.ERROR:
                    return problem
                return Problem(
                    Status.ERROR,
                    _relative(
                        "the project itself could not be built or installed — "
                        f"{_build_error(out.text)}{key_sentences(out.text)}",
                        matrix.root,
                    ),
                    "fix the project's build (its build backend, build requirements or the "
                    "metadata they read, as uv's explanation says; `uv build --wheel` in the "
                    "project shows the same); no upstream version was judged",
                    out.text,
                )
        wheel = wheels[0]
        name = wheel.name.split("-")[0].replace("_", "-")
        _built[memo] = Built(name, wheel, inputs.wheel_digest(wheel), _requires(wheel))
        return _built[memo]


def _build_error(output: str) -> str:
    """The backend's own last error line ("RuntimeError: …: "), or ""."""
    lines = output.split("\nerror:", 1)[0].strip().splitlines()
    last = lines[-1].strip() if lines else ""
    return f"{last}: " if re.match(r"^[\w.]+(Error|Exception)\b", last) else ""


def _requires(wheel: Path) -> tuple[str, ...]:
    """The dependencies a built wheel declares, those of its extras aside."""
    import zipfile
    from email.parser import HeaderParser

    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(archive.read(name).decode("utf-8", "replace"))
    found = []
    for text in headers.get_all("Requires-Dist") or ():
        marker = Requirement(text).marker
        if marker is None or "extra" not in str(marker):
            found.append(text)
    return tuple(found)


def resolve(
    step: Step, interpreter: str, project: Built | None = None, python: str = ""
) -> list[str] | Problem:
    """The exact pins of the cell, each with the hashes of its files (``name==version
    --hash=…``; the project as its wheel). Within a sweep, the pins of the cell's last
    resolution stand when the same request read pages that have not changed since."""
    matrix, cell = step.matrix, step.cell
    groups = requirement_groups(matrix, cell, project)
    tag = venv_dir(matrix, cell).name
    options = [
        *(["--exclude-newer", snapshot] if (snapshot := matrix.settings.snapshot) else []),
        *(["--refresh"] if matrix.settings.refresh else []),
    ]
    request = _request(step, groups, options, python or interpreter, project)
    remembered = _remembered(matrix, tag, request)
    if remembered is not None:
        return remembered
    options = [*index_args(matrix, tag), *options]
    lowered = cell.resolution["integration"]
    if lowered != "highest" and not all(_pinned(r) for r in groups["integration"]):
        floors = _compile(step, interpreter, groups["integration"], options, lowered)
        if isinstance(floors, Problem):
            return _attributed(step, interpreter, options, _searched(groups, project), floors)
        groups["integration"] = _pinned_as(groups["integration"], floors)
    wanted = [req for group in groups.values() for req in group]
    pins = _compile(step, interpreter, wanted, options, "highest", hashes=True)
    if isinstance(pins, Problem):
        return _attributed(step, interpreter, options, _searched(groups, project), pins)
    _remember(matrix, tag, request, pins)
    return pins


def _searched(groups: dict[str, list[str]], project: Built | None) -> dict[str, list[str]]:
    """The groups as the search for a conflicting requirement reads them: the project by its
    own dependencies, one by one."""
    return {**groups, "project": list(project.requires)} if project else groups


def _request(
    step: Step, groups: dict[str, list[str]], options: list[str], python: str, project: Built | None
) -> str:
    """Everything a resolution depends on besides the index pages it reads."""
    from compat.inputs import digest_of
    from compat.uvconfig import uv_config_files

    configs = [
        (str(path), path.read_bytes().decode("utf-8", "replace"))
        for path in uv_config_files(step.matrix.root)
    ]
    uv_vars = sorted((k, v) for k, v in os.environ.items() if k.startswith("UV_"))
    return digest_of(
        [groups, options, python, project.digest if project else "", uv_version(),
         overriding_pin(step.matrix, step.cell), configs, uv_vars]
    )  # fmt: skip


def _resolution_path(matrix: Matrix, tag: str) -> Path:
    return matrix.state_dir / "resolutions" / f"{tag}.json"


def _remembered(matrix: Matrix, tag: str, request: str) -> list[str] | None:
    """The pins of the last resolution of ``request``, when every page it read is unchanged
    in this sweep's view of the index (None: resolve)."""
    view = active_view()
    if view is None or matrix.settings.refresh:
        return None
    try:
        memo = json.loads(_resolution_path(matrix, tag).read_text(encoding="utf-8"))
        pins, pages = memo["pins"], memo["pages"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if memo.get("request") != request or not pages:
        return None
    if any(view.digest(name) != digest for name, digest in pages.items()):
        return None
    return pins if isinstance(pins, list) and all(isinstance(p, str) for p in pins) else None


def _remember(matrix: Matrix, tag: str, request: str, pins: list[str]) -> None:
    from compat.fileio import write_atomic

    view = active_view()
    if view is None:
        return
    pages = view.take(tag)
    with contextlib.suppress(OSError):
        write_atomic(
            _resolution_path(matrix, tag),
            json.dumps({"request": request, "pages": pages, "pins": pins}),
        )


@functools.cache
def uv_version() -> str:
    """uv's version: from the installed uv package when it is the uv used, else asked."""
    try:
        from uv import find_uv_bin

        if find_uv_bin() == uv_binary():
            return metadata.version("uv")
    except (ImportError, FileNotFoundError, metadata.PackageNotFoundError):
        pass
    out = procs.run(
        [uv_binary(), "--version"],
        cwd=Path.cwd(),
        env=uv_env(),
        deadline=_far(),
        doing="asking uv its version",
        keep_all=True,
    )
    return out.text.strip()


def overriding_pin(matrix: Matrix, cell: Cell) -> str | None:
    """The pin that overrides the project's own bound on the cell's package (uv
    ``--override``), for a cell outside the declared range of an installed project: without
    it a cell beyond a cap, a ``pre`` cell or a ``min`` below the floor could never install
    with the project. uv applies it to every requirement on the package."""
    if cell.in_declared_range or not cell.declared or not matrix.settings.install_project:
        return None
    return cell.requirements[0] if cell.requirements else None


def override_note(matrix: Matrix, cell: Cell) -> str:
    """What a cell says when its pin overrode the project's bound ("" when it did not)."""
    if overriding_pin(matrix, cell) is None:
        return ""
    return (
        f"installed with the project although it declares {cell.package}{cell.declared}: the "
        f"project's bound was overridden for this cell (beyond declared support)"
    )


def _attributed(
    step: Step, interpreter: str, options: list[str], groups: dict[str, list[str]], failed: Problem
) -> Problem:
    """Whose requirement cannot be installed with the pinned upstream version, found by real
    resolutions of the groups one at a time: the upstream's own (``install-failed``), or one
    of yours — the project's dependencies, ``test-requires``, ``with``/``deps`` — which is
    an ``error`` naming the requirement, with a fix found by resolving it for real."""
    if failed.status is Status.ERROR:
        return failed
    cell, root = step.cell, step.matrix.root

    def compiled(requirements: list[str], resolution: str = "highest", override: bool = True):
        found = _compile(step, interpreter, requirements, options, resolution, override=override)
        if isinstance(found, Problem) and found.status is Status.ERROR:
            raise _Unreachable(found)
        return found

    try:
        ours = [*groups["test-requires"], *groups.get("project", [])]
        mine = compiled(ours, override=False) if ours else []
        if isinstance(mine, Problem):
            return Problem(
                Status.ERROR,
                f"the project's own requirements (test-requires, the project) cannot be "
                f"resolved on this index, whatever the upstream version — "
                f"{_relative(mine.message, root)}",
                "fix `test-requires` in compat.toml or the project's dependencies",
                mine.log,
            )
        pin, *extra = groups["integration"]
        alone = compiled([pin])
        if isinstance(alone, Problem):
            return Problem(
                Status.INSTALL_FAILED,
                f"{cell.package} {cell.version} cannot be installed on this index: its own "
                f"requirements are unresolvable — {alone.message}",
                log=alone.log,
            )
        for group in ("with", "project", "test-requires"):
            requirements = extra if group == "with" else groups.get(group, [])
            together = compiled([pin, *requirements]) if requirements else []
            if not isinstance(together, Problem):
                continue
            culprit = next(
                (r for r in requirements if isinstance(compiled([pin, r]), Problem)), None
            )
            if culprit is None:
                return Problem(
                    Status.ERROR,
                    _relative(
                        f"{cell.package} {cell.version} cannot be installed together with "
                        f"{_GROUP_NAMES[group]} (though with each of them alone) — "
                        f"{together.message}",
                        root,
                    ),
                    f"loosen {_GROUP_NAMES[group]}: uv's explanation names the requirements "
                    "that cannot hold together",
                    together.log,
                )
            return _conflict(step, compiled, groups, group, culprit)
    except _Unreachable as exc:
        return exc.problem
    return Problem(
        Status.ERROR,
        _relative(
            f"{cell.package} {cell.version} installs alone and with each group of your "
            f"requirements, but not with all of them together — {failed.message}",
            root,
        ),
        "loosen the requirements uv's explanation names (test-requires, with, deps, the "
        "project's dependencies): they cannot hold together with this version",
        failed.log,
    )


_GROUP_NAMES = {
    "with": "the integration's `with`/`deps`",
    "project": "the project's dependencies",
    "test-requires": "`test-requires`",
}


class _Unreachable(Exception):  # noqa: N818 - carries the index problem out of the search
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _conflict(step: Step, compiled, groups: dict[str, list[str]], group: str, culprit: str):
    """The ``error`` for ``culprit`` (of ``group``), which cannot be installed with the pin;
    the fix names a version of it that can (and the upstream versions that need it),
    checked by resolving the whole cell with it."""
    cell, matrix = step.cell, step.matrix
    integ = matrix.integration(cell.integration)
    upstream = f"{cell.package} {cell.version}"
    why = compiled([groups["integration"][0], culprit]).message
    try:
        req = Requirement(culprit)
    except InvalidRequirement:  # the project itself (dynamic dependencies): its path
        return Problem(
            Status.ERROR,
            _relative(f"the project cannot be installed with {upstream} — {why}", matrix.root),
            "its dependencies (dynamic: read from its build) exclude this version; widen them",
        )
    if group == "with":
        in_with = canonicalize_name(req.name) in {_name(w) for w in integ.with_}
        field = "`with`" if in_with else "`deps`"
        source = f"{field} of [integrations.{integ.name}]"
    else:
        field = "your dependencies" if group == "project" else "`test-requires`"
        source = "your dependencies (pyproject.toml)" if group == "project" else field
    message = _relative(
        f"`{culprit}` ({source}) cannot be installed with {upstream} — {why}", matrix.root
    )
    if canonicalize_name(req.name) == canonicalize_name(cell.package):
        hint = (
            f"`{culprit}` excludes {upstream}, which this cell pins: remove the bound on "
            f"{cell.package} from {field}"
        )
        return Problem(Status.ERROR, message, hint)
    newest = compiled([groups["integration"][0], req.name])
    version = None if isinstance(newest, Problem) else _version_in(newest, req.name)
    below, above = _range_needing(compiled, culprit, cell.package, cell.version)
    if version is None:
        hint = (
            f"no version of {req.name} can be installed with {upstream}: require `{culprit}` "
            f'only where it installs — `deps = {{ "{above}" = ["{culprit}"] }}` in '
            f"[integrations.{integ.name}] instead of {field}"
        )
        return Problem(Status.ERROR, message, hint)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    marker = f"; {req.marker}" if req.marker else ""
    alternative = f"{req.name}{extras}<={version}{marker}"
    widened = f"{req.name}{extras}{_widened(req, version)}{marker}"
    fixed = {
        **groups,
        ("integration" if group == "with" else group): [
            alternative if r == culprit else r
            for r in groups["integration" if group == "with" else group]
        ],
    }
    if isinstance(compiled([r for g in fixed.values() for r in g]), Problem):
        hint = (
            f"{req.name} {version} installs with {upstream}, but not with the rest of your "
            f"requirements: loosen `{culprit}` in {field} together with what uv's "
            "explanation names"
        )
    elif group == "project":
        hint = (
            f"{req.name} {version} installs with {upstream}: widen your bound to `{widened}` "
            f"if your code works with it — as declared, users cannot install the project "
            f"with {upstream}"
        )
    else:
        entry = f'deps = {{ "{below}" = ["{alternative}"], "{above}" = ["{culprit}"] }}'
        how = "replace it in `deps` by" if field == "`deps`" else f"move it from {field} to"
        hint = (
            f"{req.name} {version} installs with {upstream}: require it by version range — "
            f"{how} `{entry}` in [integrations.{integ.name}] — or widen it to `{widened}` if "
            "your tests work with both"
        )
    return Problem(Status.ERROR, message, hint)


def _range_needing(compiled, culprit: str, package: str, version: str) -> tuple[str, str]:
    """The versions of ``package`` that cannot have ``culprit`` (around ``version``) and the
    others, as ``deps`` keys: below the lowest version that can (found with uv's
    ``lowest-direct``), above the highest one, else that version alone."""
    for resolution, newer in (("lowest-direct", True), ("highest", False)):
        found = compiled([culprit, package], resolution, override=False)
        bound = None if isinstance(found, Problem) else _version_in(found, package)
        if bound is not None and (Version(bound) > Version(version)) == newer:
            return (f"<{bound}", f">={bound}") if newer else (f">{bound}", f"<={bound}")
    return f"=={version}", f"!={version}"


def _version_in(pins: list[str], name: str) -> str | None:
    """The version of ``name`` in resolved ``name==version`` lines."""
    return installed_version([p.split(";")[0] for p in pins], name)


def _widened(req: Requirement, version: str) -> str:
    """``req``'s specifier changed to admit ``version``: the clauses that exclude it are
    replaced by a bound at it (``>=1,<2`` with 0.23.8 gives ``<2,>=0.23.8``)."""
    kept = [s for s in req.specifier if s.contains(version, prereleases=True)]
    dropped = [s for s in req.specifier if not s.contains(version, prereleases=True)]
    lower = any(s.operator in (">", ">=", "~=", "==", "===") for s in dropped)
    bounds = [str(s) for s in kept] + [f">={version}" if lower or not dropped else f"<={version}"]
    return ",".join(bounds)


def _relative(text: str, root: Path) -> str:
    """``text`` without the project's absolute path (uv names it as ``file:///…``) nor the
    home directory (uv's cache)."""
    for path in sorted({str(root), str(root.resolve())}, key=len, reverse=True):
        text = text.replace(f"file://{path}", ".").replace(path + "/", "").replace(path, ".")
    home = str(Path.home())
    return text.replace(home + "/", "~/") if len(home) > 1 else text


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
    override: bool = True,
) -> list[str] | Problem:
    """``name==version`` lines (with ``--hash=…`` options when ``hashes``), or the problem;
    ``override``: with the cell's overriding pin."""
    with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
        infile = Path(tmp) / "requirements.in"
        infile.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        pin = overriding_pin(step.matrix, step.cell) if override else None
        overrides = Path(tmp) / "overrides.txt"
        if pin:
            overrides.write_text(pin + "\n", encoding="utf-8")
        out = step.uv(
            "pip", "compile", "--python", interpreter, "--no-header", "--no-annotate",
            "--quiet", "--resolution", resolution, *(["--generate-hashes"] if hashes else []),
            *options, *(["--override", str(overrides)] if pin else []), str(infile),
            doing="resolving the requirements",
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
    """What a failed uv step means: the index out of reach or the project's build (ours),
    else the upstream's."""
    reason = _relative(key_sentences(output), matrix.root)
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
    if _project_failed(matrix.root, output):
        return Problem(
            Status.ERROR,
            f"the project itself could not be built or installed — {reason}",
            "fix the project's build (its build backend, build requirements or the metadata "
            "they read, as uv's explanation says); no upstream version was judged",
            output,
        )
    return Problem(Status.INSTALL_FAILED, reason, log=output)


def _project_failed(root: Path, output: str) -> bool:
    """Whether uv failed on the project itself (``Failed to build `mylib @ file://…```)."""
    return any(
        re.search(rf"Failed to [^`\n]*`[^`\n]* @ file://{re.escape(str(path))}/?`", output)
        for path in {root, root.resolve()}
    )


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
            "pip", "sync", "--python", str(venv_python(venv)), *index_args(step.matrix),
            *reinstall, str(lock), doing="installing",
        )  # fmt: skip
    if out.code:
        return install_problem(step, venv, out.text)
    _save_state(venv, {"wanted": wanted})
    return True


_BUILD_FAILED = re.compile(
    r"Failed to (?:download and )?build `([A-Za-z0-9][\w.-]*)(?:==([^`\s]+))?`"
)


def install_problem(step: Step, venv: Path, output: str) -> Problem:
    """A failed install, attributed: a distribution that cannot be built is the upstream's
    when its own requirements pull it in (``install-failed``), else yours (``error``)."""
    problem = uv_problem(step.matrix, output)
    failed = _BUILD_FAILED.search(output)
    if problem.status is not Status.INSTALL_FAILED or failed is None:
        return problem
    cell, matrix = step.cell, step.matrix
    name, version = failed.group(1), failed.group(2) or ""
    options = [
        *index_args(matrix),
        *(["--exclude-newer", snapshot] if (snapshot := matrix.settings.snapshot) else []),
    ]
    python = str(venv_python(venv))
    alone = _compile(step, python, [cell.requirements[0]], options, "highest")
    built = f"{name} {version}".strip()
    if isinstance(alone, Problem):
        return problem
    if _version_in(alone, name) is not None:  # the upstream's own requirements need it
        return Problem(
            Status.INSTALL_FAILED,
            f"{built}, which {cell.package} {cell.version} requires, cannot be built on Python "
            f"{cell.python} — {problem.message}",
            log=output,
        )
    return Problem(
        Status.ERROR,
        _relative(
            f"{built}, which your requirements need (not {cell.package} {cell.version}), "
            f"cannot be built on Python {cell.python} — {problem.message}",
            matrix.root,
        ),
        f"bound {name} in the requirement that pulls it in (test-requires, with, deps or "
        "your dependencies) to versions with a wheel for this Python, or that build here",
        output,
    )


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


def project_name(matrix: Matrix) -> str:
    from compat.matrix import read_toml

    pyproject = matrix.root / "pyproject.toml"
    name = read_toml(pyproject).get("project", {}).get("name") if pyproject.is_file() else None
    return name or matrix.root.name


def installed_version(freeze: list[str], package: str) -> str | None:
    """The version of ``package`` in a ``uv pip freeze`` listing (None: not installed)."""
    wanted = canonicalize_name(package)
    for line in freeze:
        name, sep, version = line.partition("==")
        if sep and canonicalize_name(name.split("[")[0].strip()) == wanted:
            return version.strip()
    return None


def freeze(step: Step, venv: Path) -> list[str]:
    out = step.uv("pip", "freeze", "--python", str(venv_python(venv)), doing="freezing")
    return [line for line in out.text.splitlines() if line and not line.startswith(("#", "Using "))]


_OWNERS_SCRIPT = """\
import importlib.metadata as m, json
owners = {}
for dist in m.distributions():
    name = dist.metadata["Name"]
    text = dist.read_text("top_level.txt")
    tops = {n.strip() for n in text.split()} if text else {
        f.parts[0][:-3] if f.parts[0].endswith(".py") else f.parts[0]
        for f in dist.files or ()
        if f.parts and not f.parts[0].endswith((".dist-info", ".data", ".pth"))
        and f.parts[0] not in ("..", "__pycache__")
    }
    for top in tops:
        if top.isidentifier() and name and name not in owners.setdefault(top, []):
            owners[top].append(name)
print(json.dumps(owners))
"""


def module_owners(step: Step, venv: Path) -> dict[str, list[str]]:
    """The distributions installed in ``venv`` that provide each top-level module (what
    ``importlib.metadata.packages_distributions`` gives on Python 3.10+; this runs on 3.9)."""
    out = procs.run(
        [str(venv_python(venv)), "-c", _OWNERS_SCRIPT],
        cwd=step.matrix.root,
        env=uv_env(),
        deadline=step.deadline,
        doing="reading the installed packages",
        keep_all=True,
    )
    try:
        found = json.loads(out.text.strip().splitlines()[-1]) if out.code == 0 else {}
    except (ValueError, IndexError):
        return {}
    return {str(k): [str(d) for d in v] for k, v in found.items() if isinstance(v, list)}
