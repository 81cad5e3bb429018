"""The inputs that decide a cell's verdict, hashed: when none changed, the stored verdict stands.

The inputs: the fully resolved set of distributions, the Python patch version, the contents
of the cell's test files (with the conftest.py files above them and the pytest
configuration), the project's source when the project is installed, the cell's
configuration, and the nox-compat version. Contents, not times: a fresh checkout in CI gives
the same fingerprint as the working copy it came from.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path

CONFIG_FILES = ("pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg", "conftest.py")
_SKIP_DIRS = {".git", ".compat", ".nox", ".tox", ".venv", "venv", "__pycache__", "build", "dist"}
_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256 of content


@functools.cache
def tool_version() -> str:
    try:
        return metadata.version("nox-compat")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def tool_digest() -> str:
    """The version and the source of nox-compat itself (runner, plugin…): a development
    checkout that changed how verdicts are made does not reuse the old ones."""
    package = Path(__file__).resolve().parent
    return f"{tool_version()}+{files_digest(package, sorted(package.rglob('*.py')))}"


def fingerprint(inputs: dict) -> str:
    """A stable hash of JSON-able ``inputs`` (pure)."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def file_digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        _digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _digests[key]


def files_digest(root: Path, files: list[Path]) -> str:
    """One hash over the relative paths and contents of ``files``."""
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file_digest(path).encode() + b"\0")
    return digest.hexdigest()[:32]


def test_files(root: Path, tests: tuple[str, ...]) -> list[Path]:
    """The files of the test paths, the conftest.py files above them, and pytest's config."""
    found: list[Path] = [root / name for name in CONFIG_FILES if (root / name).is_file()]
    for item in tests:
        path = root / item.split("::", 1)[0]
        if path.is_dir():
            found += _walk(path)
        elif path.is_file():
            found.append(path)
        folder = path if path.is_dir() else path.parent
        while folder != root and root in folder.parents:
            if (folder / "conftest.py").is_file():
                found.append(folder / "conftest.py")
            folder = folder.parent
    return found


def source_files(root: Path) -> list[Path]:
    """The project's files: what git tracks (and untracked, not ignored), else a walk."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return _walk(root)
    files = [root / name for name in out.split("\0") if name]
    return [f for f in files if f.is_file() and not (_SKIP_DIRS & set(f.relative_to(root).parts))]


def _walk(folder: Path) -> list[Path]:
    return [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not (_SKIP_DIRS & set(p.relative_to(folder).parts))
        and p.suffix != ".pyc"
    ]
