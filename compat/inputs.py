"""What a cell's verdict depends on: the one place that decides whether a stored one stands.

A stored verdict is reused only when a real run would give the same one. Its key has two
parts, both stored in the result:

* ``key`` — known before the tests run: the resolved distributions with their file hashes
  and the index they come from, the project as built (the content of its wheel, README
  aside), the Python patch version, the cell's configuration, digests of the ``pass-env``
  values, and the source of the nox-compat modules that decide verdicts;
* ``inputs`` — what the test processes observed: every file read and module imported from
  outside the cell's virtualenv and the standard library, the folders listed, the ini and
  conftest files pytest used or looked for — recorded in every Python process of the cell
  by an audit hook (``_plugin/_compat_inputs.py``), stored by path with content digests.

What is deliberately not in the key: the operating system and the machine (PATH, HOME, the
locale, other variables outside ``pass-env``), files outside the project's repository
that were never read, the snapshot date (the pins say what it changed), and services the
tests call over the network (such a cell is not reused unless ``reuse-networked``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import subprocess
import zipfile
from dataclasses import dataclass
from importlib import machinery, metadata
from pathlib import Path
from typing import TYPE_CHECKING

from compat.text import redact

if TYPE_CHECKING:
    from compat.matrix import Matrix
    from compat.plan import Cell
    from compat.results import Result

PLUGIN_DIR = Path(__file__).parent / "_plugin"
RECORDER = "_compat_inputs"
TREE = "(project tree)"  # the entry of a cell keyed by the whole tree
ABSENT = "absent"
# The modules of nox-compat whose code decides a verdict: a change there reruns every cell.
VERDICT_MODULES = (
    "runner.py",
    "environment.py",
    "inputs.py",
    "attribution.py",
    "_plugin/compat_pytest_plugin.py",
    "_plugin/_compat_inputs.py",
)
_IGNORED_PARTS = {"__pycache__", ".pytest_cache"}
_TREE_SKIP = {".git", ".compat", ".nox", ".tox", ".venv", "venv", "__pycache__", ".pytest_cache"}
_MODULE_SUFFIXES = tuple(machinery.all_suffixes())
_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> content digest


@functools.cache
def tool_version() -> str:
    try:
        return metadata.version("nox-compat")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


@functools.cache
def tool_digest() -> str:
    """The source of the nox-compat modules that decide verdicts (not its version: a release
    that changed none of them keeps every verdict)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in VERDICT_MODULES:
        path = package / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()[:16]


@functools.cache
def package_digest() -> str:
    """The source of all of nox-compat (what a stored plan depends on)."""
    package = Path(__file__).resolve().parent
    return files_digest(package, sorted(package.rglob("*.py")))


def digest_of(data: object) -> str:
    """A stable short hash of JSON-able ``data``."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- the key: what is known before the tests run ----------------------------------------------


def key(
    matrix: Matrix, cell: Cell, pins: list[str], python: str, project: str = ""
) -> dict[str, str]:
    """The parts of a cell's key, each a digest (so a changed one can be named)."""
    settings = matrix.settings
    return {
        "distributions": digest_of([_pin_key(pin) for pin in sorted(pins)]),
        "index": digest_of(redact(settings.index.url)),
        "project": project,
        "python": python,
        "configuration": digest_of(
            [
                cell.requirements,
                cell.select,
                cell.tests,
                cell.resolution,
                settings.test_requires,
                settings.timeout,
                settings.deprecations,
                sorted(settings.pass_env),
            ]
        ),
        "environment": digest_of(
            {name: _value_digest(os.environ.get(name)) for name in sorted(settings.pass_env)}
        ),
        "nox-compat": tool_digest(),
    }


_KEY_NAMES = {
    "distributions": "the resolved distributions (versions or file hashes)",
    "index": "the package index",
    "project": "the project as built",
    "python": "the Python patch version",
    "configuration": "the cell's configuration",
    "environment": "a `pass-env` variable",
    "nox-compat": "nox-compat's verdict code",
}


def _pin_key(pin: str) -> str:
    """A pin without the local path of a file requirement (``name @ file:///…`` → its name:
    the project's content is a part of its own)."""
    name, at, rest = pin.partition(" @ ")
    if at and rest.startswith("file:"):
        hashes = " ".join(h for h in rest.split() if not h.startswith(("file:", "--hash")))
        return f"{name} @ local {hashes}".strip()
    return pin


def _value_digest(value: str | None) -> str:
    return "unset" if value is None else hashlib.sha256(value.encode()).hexdigest()[:16]


# -- the project as built ---------------------------------------------------------------------


def wheel_digest(wheel: Path) -> str:
    """The content of a built wheel: its files, not the zip's times, and its metadata
    without the long description (a README edit is not a change of the code)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".dist-info/RECORD"):
                continue
            data = archive.read(name)
            if name.endswith(".dist-info/METADATA"):
                data = _metadata_headers(data)
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def _metadata_headers(data: bytes) -> bytes:
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    kept, skipping = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = line.lower().startswith(b"description:")
        if not skipping:
            kept.append(line)
    return b"\n".join(kept)


def tree_files(root: Path, skip: set[Path] = frozenset()) -> list[Path]:
    """The project's files: what git tracks and leaves unignored, else a walk that skips
    only the usual state folders at the top (``src/pkg/build/`` is source)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            timeout=60,
            check=True,
        ).stdout.decode("utf-8", "surrogateescape")
        files = [root / name for name in out.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        files = [
            p
            for p in root.rglob("*")
            if p.is_file()
            and not (p.relative_to(root).parts[0] in _TREE_SKIP or _IGNORED_PARTS & set(p.parts))
        ]
    return sorted(
        f for f in files if f.is_file() and f not in skip and not (_IGNORED_PARTS & set(f.parts))
    )


def files_digest(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file_digest(path).encode() + b"\0")
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    stat = path.stat()
    memo = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _digests:
        _digests[memo] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return _digests[memo]


# -- what the tests observed ------------------------------------------------------------------


def install_recorder(venv: Path) -> None:
    """Put the recorder into ``venv``: every Python process there records while
    ``COMPAT_INPUTS`` is set (subprocesses of the tests included)."""
    for site in _site_packages(venv):
        source = (PLUGIN_DIR / f"{RECORDER}.py").read_bytes()
        target = site / f"{RECORDER}.py"
        if not target.is_file() or target.read_bytes() != source:
            target.write_bytes(source)
        pth = site / f"{RECORDER}.pth"
        line = f"import os; os.environ.get('COMPAT_INPUTS') and __import__('{RECORDER}')\n"
        if not pth.is_file() or pth.read_text() != line:
            pth.write_text(line)


def _site_packages(venv: Path) -> list[Path]:
    return [
        p
        for p in (*venv.glob("lib/python*/site-packages"), venv / "Lib/site-packages")
        if p.is_dir()
    ]


@dataclass
class Observed:
    """What the test step's processes read, listed and connected to."""

    inputs: dict[str, str]
    network: list[str]
    untraced: list[str]  # why the cell is keyed by the whole project tree


class Paths:
    """How observed paths are written in a key: relative to the project root inside its
    repository (``../pytest.ini`` above it in a monorepo), ``~/…`` in the home folder,
    absolute elsewhere — never the absolute path of this checkout."""

    def __init__(self, matrix: Matrix) -> None:
        self.root = matrix.root.resolve()
        self.anchor = _repository_top(self.root)
        self.home = Path.home().resolve()
        self.metadata_files = {
            (self.root / i.file).resolve() for i in matrix.integrations if i.file
        }
        outputs = {matrix.docs_path, matrix.docs_path.with_suffix(".json")}
        if matrix.settings.notices:
            outputs.add(matrix.root / matrix.settings.notices)
        self.outputs = {p.resolve() for p in outputs}
        self.skipped = (  # the tool's own state and plugin (in the key as its code)
            matrix.state_dir.resolve(),
            matrix.results_dir.resolve(),
            PLUGIN_DIR.resolve(),
        )

    def shown(self, path: Path) -> str | None:
        """How ``path`` is written, or None when it is not an input (tool outputs…)."""
        if _IGNORED_PARTS & set(path.parts) or path in self.outputs:
            return None
        if any(path == s or s in path.parents for s in self.skipped):
            return None
        if any(p.suffix == ".egg-info" and p.parent == self.root for p in path.parents):
            return None  # the project's own metadata, made from its pyproject.toml
        if path == self.root or self.root in path.parents:
            return path.relative_to(self.root).as_posix()
        if path == self.anchor or self.anchor in path.parents:
            return Path(os.path.relpath(path, self.root)).as_posix()
        if self.home in path.parents:
            return "~/" + path.relative_to(self.home).as_posix()
        if path.parts[1:2] in (("etc",), ("usr",)):
            return None  # the operating system's files: the machine, not the project
        return path.as_posix()

    def absolute(self, shown: str) -> Path:
        if shown.startswith("~/"):
            return self.home / shown[2:]
        path = Path(shown)
        return path if path.is_absolute() else Path(os.path.normpath(self.root / path))


@functools.cache
def _repository_top(root: Path) -> Path:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return root
    top = out.stdout.strip()
    return Path(top).resolve() if out.returncode == 0 and top else root


def observe(matrix: Matrix, folder: Path, watched: list[str], tests: tuple[str, ...]) -> Observed:
    """Read the recorders' logs in ``folder`` (and ``watched``: the ini and conftest files
    pytest used or looked for) into digests by path.

    pytest's collection lists every folder from its rootdir down to the test paths, but
    collects only the path that leads to them (the conftest files on the way are watched):
    the listings above the ``tests`` paths do not count, those within them do.
    """
    paths = Paths(matrix)
    above = {
        parent
        for test in tests
        for parent in (matrix.root / test.split("::", 1)[0]).resolve().parents
    }
    entries: dict[str, str] = {}
    network: set[str] = set()
    untraced: list[str] = []
    lines = [
        line
        for log in sorted(folder.glob("*.log"))
        for line in log.read_text("utf-8", "surrogateescape").splitlines()
    ]
    lines += [f"r {path}" for path in watched]
    for line in lines:
        kind, _, value = line.partition(" ")
        value = value.replace("\\n", "\n").replace("\\\\", "\\")
        if kind == "n":
            network.add(value.replace(" ", ":"))
        elif kind == "x":
            untraced.append(value)
        elif kind in ("r", "l", "i", "c"):
            path = Path(os.path.abspath(value))
            if kind == "c" and path in above:
                continue
            shown = paths.shown(path)
            if shown is not None:
                name = {"r": shown, "i": f"{shown}/(modules)"}.get(kind, f"{shown}/")
                entries.setdefault(name, "")
    inputs = {name: current(paths, name) for name in sorted(entries)}
    if untraced:
        inputs[TREE] = tree_digest(matrix, paths)
    return Observed(inputs, sorted(network), sorted(set(untraced)))


def current(paths: Paths, name: str) -> str:
    """The digest of one entry of ``inputs`` as it is now."""
    if name.endswith("/(modules)"):
        return _listing(paths.absolute(name[: -len("/(modules)")]), modules=True)
    if name.endswith("/"):
        return _listing(paths.absolute(name[:-1]), modules=False)
    path = paths.absolute(name)
    try:
        if path.is_dir():
            return "folder"
        if path.resolve() in paths.metadata_files:
            return _without_metadata_block(path)
        return file_digest(path)
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return "unreadable"


def _listing(folder: Path, *, modules: bool) -> str:
    """The names in ``folder``, those of the machine aside (virtualenvs, tool state, caches,
    whatever git ignores): they differ from one checkout to the next and are no project
    content."""
    try:
        with os.scandir(folder) as found:
            names = sorted(
                entry.name
                for entry in found
                if not _tooling(entry) and (not modules or _module_like(entry))
            )
    except FileNotFoundError:
        return ABSENT
    except OSError:
        return "unreadable"
    ignored = _git_ignored(str(folder), tuple(names))
    return digest_of([n for n in names if n not in ignored])


@functools.lru_cache(maxsize=1024)
def _git_ignored(folder: str, names: tuple[str, ...]) -> frozenset[str]:
    """The ``names`` in ``folder`` that git ignores (caches, build output, local tools: a
    fresh clone has none of them); none outside a repository."""
    if not names:
        return frozenset()
    try:
        out = subprocess.run(
            ["git", "-C", folder, "check-ignore", "--stdin", "-z"],
            input="\0".join(names).encode("utf-8", "surrogateescape"),
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(out.stdout.decode("utf-8", "surrogateescape").split("\0")) - {""}


def _tooling(entry: os.DirEntry) -> bool:
    name = entry.name
    if name in _TREE_SKIP or name.endswith((".pyc", ".egg-info")):
        return True
    return entry.is_dir() and os.path.isfile(os.path.join(entry.path, "pyvenv.cfg"))


def _module_like(entry: os.DirEntry) -> bool:
    """A name the import system or ``importlib.metadata`` could find in a folder on
    ``sys.path``: modules, packages, distributions."""
    name = entry.name
    if name.endswith((".dist-info", ".egg-link", ".pth")):
        return True
    if not entry.is_dir():
        return name.endswith(_MODULE_SUFFIXES)
    try:  # a package, or a namespace package with modules (not a folder of docs or data)
        return name.isidentifier() and any(
            n.endswith(_MODULE_SUFFIXES) for n in os.listdir(entry.path)
        )
    except OSError:
        return False


def _without_metadata_block(path: Path) -> str:
    """An integration module without its generated metadata block (``compat metadata
    --write`` changes no verdict)."""
    from compat import metadata as blocks

    source = path.read_bytes().decode("utf-8", "surrogateescape")
    with contextlib.suppress(Exception):  # an odd module: its bytes as they are
        source = blocks.rewrite(source, "")
    return hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def tree_digest(matrix: Matrix, paths: Paths | None = None) -> str:
    paths = paths or Paths(matrix)
    files = [f for f in tree_files(matrix.root) if paths.shown(f.resolve()) is not None]
    digest = hashlib.sha256()
    for path in files:
        name = path.relative_to(matrix.root).as_posix()
        digest.update(f"{name}\0{current(paths, name)}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


# -- the history: a few earlier verdicts per cell ----------------------------------------------

HISTORY = 4  # verdicts kept per cell besides the stored one (switching back to a branch)


def _history_path(matrix: Matrix, session: str) -> Path:
    return matrix.state_dir / "history" / f"{session}.json"


def history(matrix: Matrix, session: str) -> list[Result]:
    """Earlier verdicts of the cell, newest first (what could not be read is forgotten)."""
    from compat.results import Result, ResultError

    path = _history_path(matrix, session)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
        return [Result.from_dict(r, str(path)) for r in records][:HISTORY]
    except (OSError, ValueError, TypeError, ResultError):
        return []


def remember(matrix: Matrix, result: Result | None) -> None:
    """Keep ``result`` (a verdict being replaced) in the cell's history when it could stand
    again later: deterministic, with its inputs."""
    from compat.fileio import write_atomic

    if result is None or not result.key or not result.status.deterministic:
        return
    same = (result.key, result.inputs)
    kept = [r for r in history(matrix, result.session) if (r.key, r.inputs) != same]
    records = [result.to_dict(), *(r.to_dict() for r in kept)][:HISTORY]
    with contextlib.suppress(OSError):  # a read-only state folder: no history, nothing lost
        write_atomic(_history_path(matrix, result.session), json.dumps(records))


# -- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    reuse: bool
    reason: str  # why it runs (or "unchanged")


def reusable(candidate: Result | None, cell_key: dict[str, str], matrix: Matrix) -> Decision:
    """Whether ``candidate`` (a stored result of the cell) is what a real run would give."""
    if candidate is None:
        return Decision(False, "never run")
    if not candidate.status.deterministic:
        return Decision(False, f"its last verdict ({candidate.status}) is never reused")
    problem = inconsistent(candidate)
    if problem:
        return Decision(False, f"the stored record was refused: {problem}")
    changed = [_KEY_NAMES.get(k, k) for k in cell_key if candidate.key.get(k) != cell_key[k]]
    if changed:
        return Decision(False, f"changed: {', '.join(changed)}")
    if candidate.network and not matrix.settings.reuse_networked:
        return Decision(False, f"its tests used the network ({', '.join(candidate.network[:3])})")
    paths = Paths(matrix)
    for name, digest in candidate.inputs.items():
        now = tree_digest(matrix, paths) if name == TREE else current(paths, name)
        if now != digest:
            what = "the project tree" if name == TREE else name
            return Decision(False, f"changed: {what}" + (" (gone)" if now == ABSENT else ""))
    return Decision(True, "unchanged")


def inconsistent(result: Result) -> str:
    """Why a record's status disagrees with its own counts ("" when it agrees)."""
    from compat.results import Status

    tests, status = result.tests, result.status
    red = tests.get("failed", 0) + tests.get("errors", 0) + tests.get("subtests_failed", 0)
    if status is Status.NOT_APPLICABLE:
        return ""
    if result.installed is None or result.installed != result.requested:
        return f"status {status} but {result.package} {result.requested} was not installed"
    if status is Status.FAILED and not (red or result.failures):
        return "status failed, but no test failed"
    if status.passing and (red or result.failures or not tests.get("passed")):
        return f"status {status}, but {red} test(s) failed and {tests.get('passed', 0)} passed"
    if status is Status.DEPRECATED and not result.deprecations:
        return "status deprecated, but no deprecation recorded"
    if status is Status.SKIPPED and (red or tests.get("passed")):
        return "status skipped, but tests passed or failed"
    if not result.key or (status is not Status.NOT_APPLICABLE and not result.inputs):
        return "no record of its inputs"
    return ""
