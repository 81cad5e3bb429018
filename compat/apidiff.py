"""What changed in a package's API between two releases, and what of it touches your code.

The two releases' wheels (an sdist only when a release has no wheel) are downloaded from the
index and their Python sources unpacked into the cache; griffe reads them statically (no
import, no build: upstream code never runs). ``full_diff`` lists every breaking change griffe
finds; ``targeted_diff`` keeps those that touch what your code uses (see ``compat.uses``),
ranked ``certain`` or ``possible``, each with the ``file:line`` of the use.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import griffe
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat import matrix as matrix_mod
from compat.errors import CompatError
from compat.index import File, IndexClient
from compat.uses import Use, collect, segments

RANKS = ("certain", "possible")
_KEEP = (".py", ".pyi")
_META = ("top_level.txt", "PKG-INFO", "METADATA")
_NOT_PACKAGES = {"test", "tests", "testing", "docs", "doc", "examples", "example", "benchmarks"}
_NOT_PACKAGES |= {"scripts", "tools", "setup", "conftest", "noxfile", "build", "_build"}
logging.getLogger("griffe").setLevel(logging.CRITICAL)  # we report load errors ourselves


class ApiDiffError(CompatError):
    """The diff could not be made (unknown version, broken archive); message ready to print."""


@dataclass
class Breakage:
    """One breaking change; ``used_at`` holds the ``file:line`` of each use it touches."""

    rank: str  # "certain" | "possible"
    kind: str  # e.g. "object-removed", "parameter-removed", "parameter-added-required"
    object_path: str  # the upstream object, as your code names it (full mode: griffe's path)
    message: str
    used_at: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- distributions


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
    file = _pick_file(release.files)
    if file is None:
        raise ApiDiffError(f"{package} {version} has no wheel nor sdist on {client.index_url}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
        archive = client.download(file, Path(tmp) / "download")
        _check_hash(archive, file)
        staging = Path(tmp) / "tree"
        _extract(archive, staging)
        try:
            os.replace(staging, target)
        except OSError:
            if not target.is_dir():  # not a concurrent unpack of the same release
                raise
    return target


def _pick_file(files: Iterable[File]) -> File | None:
    """A pure-Python wheel, else any wheel (its .py/.pyi files), else the sdist."""

    def preference(f: File) -> tuple[int, int]:
        kind = 0 if f.filename.endswith("-none-any.whl") else 1 if f.is_wheel else 2
        sdist_ok = f.is_wheel or f.filename.endswith((".tar.gz", ".zip", ".tgz"))
        return (f.yanked is not False, kind if sdist_ok else 9)

    ranked = sorted(files, key=preference)
    return ranked[0] if ranked and preference(ranked[0])[1] != 9 else None


def _check_hash(archive: Path, file: File) -> None:
    if file.sha256 and hashlib.sha256(archive.read_bytes()).hexdigest() != file.sha256:
        archive.unlink()
        raise ApiDiffError(f"{file.filename}: sha256 does not match the index's")


def _extract(archive: Path, dest: Path) -> None:
    """Unpack only Python sources and metadata; never runs anything from the archive."""
    dest.mkdir(parents=True)
    name = archive.name
    try:
        if name.endswith(".whl") or name.endswith(".zip"):
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


def _write(dest: Path, member: str, read) -> None:
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts:
        return  # refuse to write outside the tree
    if not (path.suffix in _KEEP or path.name in _META):
        return
    out = dest.joinpath(*path.parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(read())


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


class Api:
    """One release's API as griffe reads it (statically). ``lazy``: a module is read only when
    a lookup reaches it, so checking a few uses of a large package reads a few files."""

    def __init__(self, tree: Path, names: Iterable[str], *, lazy: bool = True) -> None:
        self.tree = tree
        self.root = search_path(tree)
        self.names = set(names)
        self.collection = griffe.ModulesCollection()
        self.lines = griffe.LinesCollection()
        self._bases_loaded: set[str] = set()
        self.visited = 0  # modules read by this object (lazy mode)
        if not lazy:
            loader = griffe.GriffeLoader(
                search_paths=[self.root],
                allow_inspection=False,
                store_source=False,
                modules_collection=self.collection,
                lines_collection=self.lines,
            )
            for name in sorted(self.names):
                try:
                    loader.load(name, find_stubs_package=False)
                except griffe.LoadingError as exc:
                    raise ApiDiffError(f"cannot read {name} in {tree.name}: {exc}") from None
                except ImportError:
                    continue  # listed in the metadata, not in the archive

    def top(self, name: str) -> griffe.Module | None:
        if name in self.collection.members:
            return self.collection.members[name]
        return self._visit(name, self.root / name, None) if name in self.names else None

    def loaded(self) -> list[griffe.Module]:
        return [m for m in self.collection.members.values() if m.is_module]

    def _visit(self, name: str, base: Path, parent: griffe.Module | None) -> griffe.Module | None:
        candidates = (base / "__init__.py", base / "__init__.pyi")
        candidates += (base.with_name(name + ".py"), base.with_name(name + ".pyi"))
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            return None
        try:
            module = griffe.visit(
                name,
                filepath=path,
                code=path.read_text(encoding="utf-8-sig"),
                parent=parent,
                lines_collection=self.lines,
                modules_collection=self.collection,
            )
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            raise ApiDiffError(f"cannot read {path.relative_to(self.tree)}: {exc}") from None
        (parent or self.collection).set_member(name, module)
        self.visited += 1
        return module

    def submodule(self, module: griffe.Object, name: str) -> griffe.Module | None:
        """``module.name`` read from its file, when ``module`` is a package that has it."""
        existing = module.members.get(name)
        if existing is not None and not existing.is_alias and existing.is_module:
            return existing
        filepath = module.filepath
        if isinstance(filepath, list) or not filepath or filepath.stem != "__init__":
            return None
        return self._visit(name, Path(filepath).parent / name, module)

    def load_path(self, path: str) -> bool:
        """Read the modules along a dotted path; whether something new was read."""
        parts = path.split(".")
        before = self.visited
        obj = self.top(parts[0])
        for part in parts[1:]:
            if obj is None or obj.is_alias or not obj.is_module:
                break
            member = obj.members.get(part)
            obj = self.submodule(obj, part) or member
        return self.visited > before

    def member(self, container: griffe.Object, name: str) -> griffe.Object | griffe.Alias | None:
        if container.is_class:
            self.load_bases(container)
            try:
                return container.all_members.get(name)
            except _ALIAS_ERRORS:
                return container.members.get(name)
        found = container.members.get(name)
        found = self.submodule(container, name) or found  # a submodule shadows a same name
        if found is None:  # maybe brought in by `from x import *`
            for alias in list(container.members.values()):
                if alias.is_alias and alias.wildcard and self.load_path(alias.wildcard):
                    source = self.collection.members.get(alias.wildcard.split(".")[0])
                    source = _walk_modules(source, alias.wildcard.split(".")[1:])
                    if source is not None and not name.startswith("_"):
                        found = self.member(source, name)
                        if found is not None:
                            break
        return found

    def target(self, member: griffe.Object | griffe.Alias) -> griffe.Object | None:
        """The object an alias finally points to, reading modules on the way; None if outside."""
        for _ in range(50):
            if not member.is_alias:
                return member
            try:
                return member.final_target
            except griffe.CyclicAliasError:
                return None
            except griffe.AliasResolutionError as exc:
                if not self.load_path(exc.alias.target_path):
                    return None
        return None

    def load_bases(self, cls: griffe.Object) -> None:
        """Read the modules of a class's bases (and theirs), so inherited members are seen."""
        if cls.path in self._bases_loaded:
            return
        self._bases_loaded.add(cls.path)
        for base in cls.bases:
            if isinstance(base, griffe.ExprName | griffe.ExprAttribute):
                try:
                    path = base.canonical_path
                except _ALIAS_ERRORS:
                    continue
                self.load_path(path)
                found = _resolve(self, path.split("."))
                if found.status == "found" and found.obj is not None and found.obj.is_class:
                    self.load_bases(found.obj)


def _walk_modules(obj: griffe.Object | None, parts: list[str]) -> griffe.Object | None:
    for part in parts:
        if obj is None:
            return None
        obj = obj.members.get(part)
    return obj


# ---------------------------------------------------------------- diffs


def full_diff(client: IndexClient, package: str, old: str, new: str) -> list[Breakage]:
    """Every breaking change griffe finds in the public API between two releases."""
    old_tree, new_tree = unpacked(client, package, old), unpacked(client, package, new)
    names = top_level_names(old_tree)
    old_api, new_api = Api(old_tree, names, lazy=False), Api(new_tree, names, lazy=False)
    found: list[Breakage] = []
    for old_module in old_api.loaded():
        name = old_module.name
        new_module = new_api.top(name)
        if new_module is None:
            found.append(Breakage("certain", "object-removed", name, f"module {name} was removed"))
            continue
        for item in griffe.find_breaking_changes(old_module, new_module):
            found.append(_from_griffe(item, new_api))
    return _sorted(found)


def targeted_diff(
    client: IndexClient, package: str, old: str, new: str, uses: list[Path]
) -> list[Breakage]:
    """The breaking changes between two releases that touch what the code in ``uses`` uses."""
    old_tree, new_tree = unpacked(client, package, old), unpacked(client, package, new)
    names = top_level_names(old_tree)
    try:
        found = collect(uses, names)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ApiDiffError(f"cannot read the code that uses {package}: {exc}") from None
    return diff_uses(Api(old_tree, names), Api(new_tree, names), found)


_CERTAIN_KINDS = {
    griffe.BreakageKind.OBJECT_REMOVED,
    griffe.BreakageKind.OBJECT_CHANGED_KIND,
    griffe.BreakageKind.PARAMETER_REMOVED,
    griffe.BreakageKind.PARAMETER_ADDED_REQUIRED,
    griffe.BreakageKind.PARAMETER_CHANGED_REQUIRED,
    griffe.BreakageKind.PARAMETER_CHANGED_KIND,
    griffe.BreakageKind.PARAMETER_MOVED,
}


def _from_griffe(item: griffe.Breakage, new_api: Api) -> Breakage:
    kind = item.kind.name.lower().replace("_", "-")
    rank = "certain" if item.kind in _CERTAIN_KINDS else "possible"
    path = item.obj.path
    message = f"{path}: {_griffe_message(item)}"
    if item.kind is griffe.BreakageKind.OBJECT_REMOVED:
        parent, _, name = path.rpartition(".")
        holder = _resolve(new_api, segments(parent)) if parent else None
        if holder and holder.status == "found" and _lazily_exported(holder.obj, name):
            rank, message = "possible", f"{message} (the module's __getattr__ may still export it)"
    return Breakage(rank, kind, path, message)


def _griffe_message(item: griffe.Breakage) -> str:
    """A plain one-line explanation (griffe's own carries colours and temp paths)."""
    old, new = item.old_value, item.new_value
    what = item.kind.value[0].lower() + item.kind.value[1:]
    param = old if isinstance(old, griffe.Parameter) else new
    if not isinstance(param, griffe.Parameter):
        return what if old is None or new is None else f"{what}: {old} -> {new}"
    if isinstance(old, griffe.Parameter) and isinstance(new, griffe.Parameter):
        if item.kind is griffe.BreakageKind.PARAMETER_CHANGED_KIND:
            return f"parameter {param.name!r} changed kind: {old.kind.value} -> {new.kind.value}"
        if item.kind is griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT:
            return f"parameter {param.name!r} default changed: {old.default} -> {new.default}"
    details = f" ({item.details})" if item.details else ""
    verb = _PARAMETER_VERBS.get(item.kind, what)
    return f"parameter {param.name!r} {verb}{details}"


_PARAMETER_VERBS = {
    griffe.BreakageKind.PARAMETER_REMOVED: "was removed",
    griffe.BreakageKind.PARAMETER_ADDED_REQUIRED: "was added as required",
    griffe.BreakageKind.PARAMETER_CHANGED_REQUIRED: "is now required",
    griffe.BreakageKind.PARAMETER_MOVED: "moved",
}


def _sorted(found: list[Breakage]) -> list[Breakage]:
    return sorted(found, key=lambda b: (RANKS.index(b.rank), b.object_path, b.kind, b.message))


def diff_uses(old_api: Api, new_api: Api, uses: list[Use]) -> list[Breakage]:
    """Check each use against both APIs; group the findings by object, keep every ``file:line``."""
    found: dict[tuple[str, str, str], Breakage] = {}
    for use in uses:
        for item in _check(old_api, new_api, use):
            same = item.message if item.kind != "object-removed" else ""  # one per removal
            key = (item.kind, item.object_path, same)
            known = found.setdefault(key, item)
            if known is not item:
                if RANKS.index(item.rank) < RANKS.index(known.rank):
                    known.rank = item.rank
                known.used_at.extend(w for w in item.used_at if w not in known.used_at)
    return _sorted(list(found.values()))


def _check(old_api: Api, new_api: Api, use: Use) -> list[Breakage]:
    segs = segments(use.path)
    before = _resolve(old_api, segs)
    if before.status != "found":
        return []  # not part of the old API as far as we can see: no verdict
    after = _resolve(new_api, segs)
    if after.status == "missing":
        return [_removed(use, segs, after, new_api)]
    if after.status != "found" or before.obj is None or after.obj is None:
        return []
    old_obj, new_obj = before.obj, after.obj
    if use.kind == "subclass" and old_obj.is_class and not new_obj.is_class:
        what = new_obj.kind.value
        return [_make(use, "certain", "object-changed-kind", use.path, f"is now a {what}")]
    if use.kind == "call":
        return _check_call(use, (old_api, old_obj), (new_api, new_obj))
    if use.kind == "override" and old_obj.is_function and new_obj.is_function:
        return _check_override(use, (old_api, old_obj), (new_api, new_obj))
    return []


def _make(use: Use, rank: str, kind: str, path: str, message: str) -> Breakage:
    rank = "possible" if use.guarded else rank
    return Breakage(rank, kind, path, f"{path}: {message}", [use.where])


def _removed(use: Use, segs: list[str], after: _Resolution, api: Api) -> Breakage:
    gone = _join(segs[: after.index + 1])
    name = segs[after.index]
    rank, why = "certain", ""
    holder = after.obj
    if holder is not None and holder.is_module and _lazily_exported(holder, name):
        message = f"is no longer defined statically; {holder.path}.__getattr__ mentions it"
        return _make(
            use, "possible", "object-removed", gone, message + ", it may be lazily exported"
        )
    elif holder is not None and holder.is_class and _has_external_bases(api, holder):
        rank, why = "possible", "; it may still be inherited from a base class outside the package"
    if use.kind == "override" and after.index == len(segs) - 1:
        message = f"was removed: your override of it is no longer called{why}"
    elif use.kind == "import" and after.index == len(segs) - 1:
        message = f"was removed: `{_import_line(segs)}` fails{why}"
    else:
        message = f"was removed{why}"
    return _make(use, rank, "object-removed", gone, message)


def _import_line(segs: list[str]) -> str:
    return f"from {'.'.join(segs[:-1])} import {segs[-1]}" if len(segs) > 1 else f"import {segs[0]}"


def _join(segs: list[str]) -> str:
    return ".".join(segs).replace(".()", "()")


_POSITIONAL = (griffe.ParameterKind.positional_only, griffe.ParameterKind.positional_or_keyword)
_VARIADIC = (griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword)


def _parameters(api: Api, obj: griffe.Object) -> list[griffe.Parameter] | None:
    """The parameters a call passes into (``__init__``'s for a class), bound ``self`` dropped."""
    if obj.is_class:
        init = api.member(obj, "__init__")
        init = api.target(init) if init is not None else None
        if init is None or not init.is_function:
            return None  # e.g. a pydantic model: its fields are not visible as parameters
        obj = init
    if not obj.is_function:
        return None
    params = list(obj.parameters)
    if params and params[0].name in ("self", "cls") and params[0].kind in _POSITIONAL:
        params = params[1:]
    return params


def _required(param: griffe.Parameter) -> bool:
    return param.default is None and param.kind not in _VARIADIC


def _check_call(use: Use, old: tuple[Api, griffe.Object], new: tuple[Api, griffe.Object]):
    old_params, new_params = _parameters(*old), _parameters(*new)
    if old_params is None or new_params is None:
        return []
    old_named = {p.name: p for p in old_params if p.kind not in _VARIADIC}
    new_named = {p.name: p for p in new_params if p.kind not in _VARIADIC}
    swallowing = any(p.kind is griffe.ParameterKind.var_keyword for p in new_params)
    added = [n for n in new_named if n not in old_named]
    found = []
    for keyword in use.keywords:
        if keyword in old_named and keyword not in new_named:
            hint = f" (renamed to {added[0]!r}?)" if len(added) == 1 else ""
            if swallowing:
                message = f"parameter {keyword!r} was removed; it now lands in **kwargs{hint}"
                found.append(_make(use, "possible", "parameter-removed", use.path, message))
            else:
                message = f"parameter {keyword!r} was removed{hint}; your call passes it"
                found.append(_make(use, "certain", "parameter-removed", use.path, message))
        elif (
            keyword in new_named
            and new_named[keyword].kind is griffe.ParameterKind.positional_only
            and keyword in old_named
            and old_named[keyword].kind is not griffe.ParameterKind.positional_only
        ):
            message = f"parameter {keyword!r} became positional-only; your call passes it by name"
            found.append(_make(use, "certain", "parameter-changed-kind", use.path, message))
    slots = [p.name for p in new_params if p.kind in _POSITIONAL]
    passed = set(slots[: use.positional]) | set(use.keywords)
    for param in new_params:
        before = old_named.get(param.name)
        if not _required(param) or param.name in passed or (before and _required(before)):
            continue
        kind = "parameter-added-required" if before is None else "parameter-changed-required"
        what = "was added as required" if before is None else "is now required"
        rank = "possible" if use.star else "certain"
        message = f"parameter {param.name!r} {what}; your call does not pass it"
        found.append(_make(use, rank, kind, use.path, message))
    return found


def _check_override(use: Use, old: tuple[Api, griffe.Object], new: tuple[Api, griffe.Object]):
    old_params, new_params = _parameters(*old), _parameters(*new)
    if old_params is None or new_params is None:
        return []
    old_names = {p.name for p in old_params}
    added = [p.name for p in new_params if p.name not in old_names and p.kind not in _VARIADIC]
    if not added:
        return []
    names = ", ".join(repr(n) for n in added)
    message = f"gained parameter(s) {names}; callers may pass them to your override"
    return [_make(use, "possible", "parameter-added", use.path, message)]


# ---------------------------------------------------------------- resolving dotted paths


@dataclass
class _Resolution:
    """``found``: ``obj`` is the object (None: exists, but outside what we can read);
    ``missing``: ``segs[index]`` is not a member of ``obj``; ``unknown``: cannot tell."""

    status: str
    obj: griffe.Object | None = None
    index: int = 0


_ALIAS_ERRORS = (griffe.AliasResolutionError, griffe.CyclicAliasError)
_PLAIN_BASES = {"object", "ABC", "Generic", "Protocol", "Exception", "BaseException"}


def _resolve(api: Api, segs: list[str]) -> _Resolution:
    """Walk ``segs`` (see ``compat.uses.segments``) through ``api``, following aliases,
    instances (``()``), and the annotated types of attributes and properties."""
    obj = api.top(segs[0])
    if obj is None:
        return _Resolution("missing", None, 0)
    for index, seg in enumerate(segs[1:], start=1):
        last = index == len(segs) - 1
        if seg == "()":
            obj = obj if obj.is_class else _returned_class(obj, api)
        else:
            container = obj if (obj.is_module or obj.is_class) else _value_class(obj, api)
            if container is None:
                return _Resolution("unknown", index=index)
            member = api.member(container, seg)
            if member is None:
                return _Resolution("missing", container, index)
            obj = api.target(member)
            if obj is None:
                return _Resolution("found", None, index) if last else _Resolution("unknown")
        if obj is None:
            return _Resolution("unknown", index=index)
    return _Resolution("found", obj, len(segs) - 1)


def _returned_class(obj: griffe.Object, api: Api) -> griffe.Object | None:
    return _class_of(obj.returns, api) if obj.is_function else None


def _value_class(obj: griffe.Object, api: Api) -> griffe.Object | None:
    """The class of a property's or annotated attribute's value, when it is one we can read."""
    if obj.is_function and _is_property(obj):
        return _class_of(obj.returns, api)
    if obj.is_attribute:
        return _class_of(obj.annotation, api)
    return None


def _is_property(func: griffe.Object) -> bool:
    """``@property``, ``@cached_property`` and look-alikes (``@_compat.cached_property``)."""
    if "property" in func.labels:
        return True
    return any(str(d.value).rsplit(".", 1)[-1].endswith("property") for d in func.decorators)


def _class_of(annotation: object, api: Api) -> griffe.Object | None:
    if not isinstance(annotation, griffe.ExprName):
        return None
    try:
        path = annotation.canonical_path
    except _ALIAS_ERRORS:
        return None
    found = _resolve(api, path.split("."))
    return found.obj if found.status == "found" and found.obj and found.obj.is_class else None


def _has_external_bases(api: Api, cls: griffe.Object) -> bool:
    """Whether some base class lies outside what was loaded (it may provide members)."""
    bases = [b for b in cls.bases if str(b).split("[")[0].rsplit(".")[-1] not in _PLAIN_BASES]
    api.load_bases(cls)
    try:
        resolved = cls.resolved_bases
    except _ALIAS_ERRORS:
        return True
    return len(resolved) < len(bases) or any(_has_external_bases(api, b) for b in resolved)


def _lazily_exported(module: griffe.Object, name: str) -> bool:
    """Whether a module with a ``__getattr__`` mentions ``name`` as a string there or in a
    module-level mapping/sequence (a lazy export table such as ``_LAZY = {"Name": ...}``)."""
    if not module.is_module or "__getattr__" not in module.members:
        return False
    path = module.filepath
    if isinstance(path, list):
        return False
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, SyntaxError, ValueError):
        return True  # cannot tell: assume it may be exported
    nodes: list[ast.AST] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "__getattr__":
            nodes.append(stmt)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(
            stmt.value, ast.Dict | ast.List | ast.Tuple | ast.Set | ast.Call
        ):
            nodes.append(stmt.value)
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                text = sub.value
                if name in (text, text.rsplit(".", 1)[-1], text.rsplit(":", 1)[-1]):
                    return True
    return False


# ---------------------------------------------------------------- the command


def command(args) -> int:
    """``compat apidiff PACKAGE OLD NEW [--uses PATH…] [--json]``."""
    config = _config(args.config)
    index_url = args.index_url or (
        config.settings.index_url if config else matrix_mod.default_index_url()
    )
    client = IndexClient(index_url, offline=args.offline)
    uses = [Path(p) for p in args.uses] if args.uses else integration_uses(config, args.package)
    try:
        if uses:
            found = targeted_diff(client, args.package, args.old, args.new, uses)
        else:
            found = full_diff(client, args.package, args.old, args.new)
    except ApiDiffError as exc:
        print(f"compat: error: {exc}", file=sys.stderr)
        return 2
    mode = "targeted" if uses else "full"
    if args.json:
        doc = {
            "package": args.package,
            "old": args.old,
            "new": args.new,
            "mode": mode,
            "uses": [str(p) for p in uses],
            "breakages": [b.to_dict() for b in found],
        }
        print(json.dumps(doc, indent=2))
    else:
        print(render(args.package, args.old, args.new, mode, found))
    if mode == "targeted":
        return 1 if any(b.rank == "certain" for b in found) else 0
    return 1 if found else 0


def _config(path: str | None) -> matrix_mod.Matrix | None:
    """The matrix when there is one (``--config``, or found from cwd); None without."""
    if path is None:
        try:
            path = matrix_mod.find_config()
        except matrix_mod.ConfigError:
            return None
    return matrix_mod.load(path)


def integration_uses(config, package: str) -> list[Path]:
    """The test files and ``file`` of the integration(s) of ``package`` in compat.toml."""
    if config is None:
        return []
    paths: list[Path] = []
    for integ in config.integrations:
        if canonicalize_name(integ.package) != canonicalize_name(package):
            continue
        for item in (*integ.tests, *([integ.file] if integ.file else [])):
            path = config.root / item
            if path.exists():
                paths.append(path)
            else:
                print(f"compat: {item} (integration {integ.name}) does not exist", file=sys.stderr)
    return list(dict.fromkeys(paths))


def render(package: str, old: str, new: str, mode: str, found: list[Breakage]) -> str:
    counts = {rank: sum(b.rank == rank for b in found) for rank in RANKS}
    head = f"{package} {old} -> {new} ({mode} API diff): "
    if not found:
        return head + "no breaking change found"
    lines = [head + ", ".join(f"{n} {rank}" for rank, n in counts.items() if n)]
    for item in found:
        lines.append(f"{item.rank:<8}  {item.kind:<26}  {item.message}")
        for where in item.used_at:
            lines.append(f"{'':<10}used at {where}")
    return "\n".join(lines)
