"""One release's files from the index: downloaded once, checked, unpacked into the cache.

Only Python sources (``.py``, ``.pyi``) and metadata (``METADATA``, ``PKG-INFO``,
``top_level.txt``) are written, never outside the tree; nothing from the archive runs (an
sdist is unpacked, not built). Shared by the API diff and the upstream check's metadata.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import requests
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat.apidiff.model import ApiDiffError
from compat.index import File, IndexClient

_KEEP = (".py", ".pyi")
_META = ("top_level.txt", "PKG-INFO", "METADATA")
_NOT_PACKAGES = {"test", "tests", "testing", "docs", "doc", "examples", "example", "benchmarks"}
_NOT_PACKAGES |= {"scripts", "tools", "setup", "conftest", "noxfile", "build", "_build"}


def unpacked(client: IndexClient, package: str, version: str) -> Path:
    """The Python sources of ``package==version``, unpacked once into the cache and reused."""
    try:
        wanted = Version(version)
    except InvalidVersion:
        raise ApiDiffError(f"{version!r} is not a valid version") from None
    target = client.cache_dir / "dists" / f"{canonicalize_name(package)}-{wanted}"
    if target.is_dir():
        return target
    project = client.project(package)
    release = project.release(wanted)
    if release is None:
        newest = ", ".join(str(r.version) for r in project.releases[-5:]) or "none"
        raise ApiDiffError(
            f"{package} has no release {version} on {client.index_url} (newest: {newest})"
        )
    file = pick_file(release.files)
    if file is None:
        raise ApiDiffError(f"{package} {version} has no wheel nor sdist on {client.index_url}")
    if client.offline:
        raise ApiDiffError(f"{file.filename} is not in the cache ({target.parent}) and --offline")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
        try:
            archive = client.download(file, Path(tmp) / "download")
        except requests.RequestException as exc:
            raise ApiDiffError(f"cannot download {file.filename} ({type(exc).__name__})") from None
        _check_hash(archive, file)
        staging = Path(tmp) / "tree"
        _extract(archive, staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():  # not a concurrent unpack of the same release
                raise
    return target


def pick_file(files: Iterable[File]) -> File | None:
    """A pure-Python wheel, else any wheel (its .py/.pyi files), else the sdist."""

    def preference(f: File) -> tuple[int, int]:
        kind = 0 if f.filename.endswith("-none-any.whl") else 1 if f.is_wheel else 2
        sdist_ok = f.is_wheel or f.filename.endswith((".tar.gz", ".zip", ".tgz"))
        return (f.yanked is not False, kind if sdist_ok else 9)

    ranked = sorted(files, key=preference)
    return ranked[0] if ranked and preference(ranked[0])[1] != 9 else None


def core_metadata(tree: Path) -> str | None:
    """The release's core metadata: a wheel's ``METADATA``, else an sdist's ``PKG-INFO``."""
    for path in (*tree.glob("*.dist-info/METADATA"), tree / "PKG-INFO", *tree.glob("*/PKG-INFO")):
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    return None


def search_path(tree: Path) -> Path:
    """Where the import packages sit in an unpacked tree (``src/`` layouts included)."""
    src = tree / "src"
    return src if src.is_dir() and not (tree / "src" / "__init__.py").exists() else tree


def top_level_names(tree: Path) -> list[str]:
    """The import names a distribution provides: ``top_level.txt``, else the tree itself."""
    for meta in (*tree.glob("*.dist-info/top_level.txt"), *tree.glob("*.egg-info/top_level.txt")):
        names = [n.strip().replace("/", ".") for n in meta.read_text().splitlines()]
        found = [n for n in names if n and _module_exists(search_path(tree), n)]
        if found:
            return sorted(found)
    root = search_path(tree)
    names = []
    for child in root.iterdir():
        stem = child.name.removesuffix(".pyi").removesuffix(".py")
        if not stem.isidentifier() or stem in _NOT_PACKAGES or child.name.endswith("-info"):
            continue
        if child.is_dir() and any(child.rglob("*.py*")) or child.suffix in _KEEP:
            names.append(stem)
    return sorted(set(names))


def _module_exists(root: Path, name: str) -> bool:
    base = root.joinpath(*name.split("."))
    return base.is_dir() or base.with_suffix(".py").exists() or base.with_suffix(".pyi").exists()


def _check_hash(archive: Path, file: File) -> None:
    if file.sha256 and hashlib.sha256(archive.read_bytes()).hexdigest() != file.sha256:
        archive.unlink()
        raise ApiDiffError(f"{file.filename}: sha256 does not match the index's")


def _extract(archive: Path, dest: Path) -> None:
    """Unpack only Python sources and metadata; never runs anything from the archive."""
    dest.mkdir(parents=True)
    name = archive.name
    try:
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    if not info.is_dir():
                        _write(dest, info.filename, lambda i=info: zf.read(i))
        else:
            with tarfile.open(archive) as tf:
                for member in tf:
                    if member.isfile():
                        _write(dest, member.name, lambda m=member: tf.extractfile(m).read())
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ApiDiffError(f"cannot unpack {name}: {exc}") from None
    if not name.endswith(".whl"):  # sdist: everything sits under "<name>-<version>/"
        tops = list(dest.iterdir())
        if len(tops) == 1 and tops[0].is_dir():
            for child in tops[0].iterdir():
                child.rename(dest / child.name)
            tops[0].rmdir()


def _write(dest: Path, member: str, read: Callable[[], bytes]) -> None:
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts:
        return  # refuse to write outside the tree
    if not (path.suffix in _KEEP or path.name in _META):
        return
    out = dest.joinpath(*path.parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(read())
