"""One release's API as griffe reads it, statically: no import, upstream code never runs.

Full mode loads every module with ``griffe.GriffeLoader``. Targeted mode reads a module only
when a lookup reaches it, so checking a few uses of a large package reads a few files; each
module read is completed the way griffe's loader completes a package — stubs (``.pyi``)
merged, ``__all__`` and ``from x import *`` expanded by griffe itself — so a name is found
the same way whatever was read before it.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable
from pathlib import Path

import griffe

from compat.apidiff.dists import search_path
from compat.apidiff.model import ApiDiffError

ALIAS_ERRORS = (griffe.AliasResolutionError, griffe.CyclicAliasError)
logging.getLogger("griffe").setLevel(logging.CRITICAL)  # we report load errors ourselves


class _Modules:
    """Reading the modules of one unpacked release: all at once, or as lookups reach them."""

    def __init__(self, tree: Path, names: Iterable[str], *, lazy: bool = True) -> None:
        self.tree = tree
        self.root = search_path(tree)
        self.names = set(names)
        self.collection = griffe.ModulesCollection()
        self.loader = griffe.GriffeLoader(
            search_paths=[self.root],
            allow_inspection=False,
            store_source=False,
            modules_collection=self.collection,
            lines_collection=griffe.LinesCollection(),
        )
        self.modules: dict[str, griffe.Module] = {}  # read so far (lazy mode), by path
        self._reading: set[str] = set()
        self._bases_loaded: set[str] = set()
        if not lazy:
            self._load_all()

    def _load_all(self) -> None:
        for name in sorted(self.names):
            try:
                self.loader.load(name, find_stubs_package=False)
            except griffe.LoadingError as exc:
                raise ApiDiffError(f"cannot read {name} in {self.tree.name}: {exc}") from None
            except ImportError:
                continue  # listed in the metadata, not in the archive

    def loaded(self) -> list[griffe.Module]:
        return [m for m in self.collection.members.values() if m.is_module]

    def top(self, name: str) -> griffe.Module | None:
        if name in self.collection.members:
            return self.collection.members[name]
        return self._read(name, self.root / name, None) if name in self.names else None

    def submodule(self, module: griffe.Object, name: str) -> griffe.Module | None:
        """``module.name`` read from its file, when ``module`` is a package that has it."""
        path = f"{module.path}.{name}"
        if path in self.modules:
            return self.modules[path]
        existing = module.members.get(name)
        if existing is not None and not existing.is_alias and existing.is_module:
            return existing
        folder = _package_dir(module)
        return self._read(name, folder / name, module) if folder else None

    def _read(self, name: str, base: Path, parent: griffe.Module | None) -> griffe.Module | None:
        """Visit one module (its ``.py`` and ``.pyi``), then expand its wildcards and exports."""
        if base.is_dir():
            files = [base / "__init__.py", base / "__init__.pyi"]
        else:
            files = [base.with_name(name + ".py"), base.with_name(name + ".pyi")]
        found = [f for f in files if f.is_file()]
        if found:
            module = self._visit(name, found[0], parent)
        elif base.is_dir():  # a namespace package: a folder without __init__
            module = griffe.Module(name, filepath=[base], parent=parent)
        else:
            return None
        (parent or self.collection).set_member(name, module)
        self.modules[module.path] = module
        if len(found) == 2:
            self._merge_stub(module, found[1])
        self._complete(module)
        return module

    def _merge_stub(self, module: griffe.Module, stub: Path) -> None:
        """Merge the stub into the module as griffe does, reading what the merge needs; when
        it cannot, add the stub's extra members."""
        exports = module.exports
        for _ in range(10):
            try:
                griffe.merge_stubs(module, self._visit(module.name, stub, module.parent))
                if exports and not module.exports:  # `__all__: list[str]` in the stub
                    module.exports = exports
                return
            except griffe.AliasResolutionError as exc:
                if not self.load_path(exc.alias.target_path):
                    break
            except griffe.CyclicAliasError:
                break
        extra = self._visit(module.name, stub, module.parent)
        for key, member in extra.members.items():
            if key not in module.members:
                module.set_member(key, member)

    def _visit(self, name: str, path: Path, parent: griffe.Module | None) -> griffe.Module:
        try:
            return self._visit_file(name, path, parent)
        except (SyntaxError, UnicodeDecodeError, OSError) as exc:
            raise ApiDiffError(f"cannot read {path.relative_to(self.tree)}: {exc}") from None

    def _visit_file(self, name: str, path: Path, parent: griffe.Module | None) -> griffe.Module:
        return griffe.visit(
            name,
            filepath=path,
            code=path.read_text(encoding="utf-8-sig"),
            parent=parent,
            lines_collection=self.loader.lines_collection,
            modules_collection=self.collection,
        )

    def _complete(self, module: griffe.Module) -> None:
        """Read what ``__all__`` and ``from x import *`` refer to, then let griffe expand them."""
        self._reading.add(module.path)
        sources = [m.wildcard for m in module.members.values() if m.is_alias and m.wildcard]
        for export in module.exports or ():
            if isinstance(export, griffe.ExprName):
                sources.append(export.canonical_path.rsplit(".", 1)[0])
        for source in sources:
            if source not in self._reading and source.split(".")[0] in self.names:
                self.load_path(source)
        try:
            self.loader.expand_exports(module)
            self.loader.expand_wildcards(module, external=False)
        except ALIAS_ERRORS:
            pass  # what could not be expanded stays a wildcard: see ``unexpanded_wildcards``
        self._reading.discard(module.path)

    def load_path(self, path: str) -> int:
        """Read the modules along a dotted path; how many were newly read."""
        before = len(self.modules)
        parts = path.split(".")
        obj = self.top(parts[0])
        for part in parts[1:]:
            if obj is None or obj.is_alias or not obj.is_module:
                break
            obj = self.submodule(obj, part) or obj.members.get(part)
        return len(self.modules) - before


class Api(_Modules):
    """The API of one unpacked release (``tree``) for the import packages in ``names``."""

    def member(self, container: griffe.Object, name: str) -> griffe.Object | griffe.Alias | None:
        """``container.name``: a class's own, inherited or metaclass member; a module's member
        or submodule (a submodule shadows a member of the same name, as griffe has it)."""
        if container.is_class:
            self.load_bases(container)
            try:
                found = container.all_members.get(name)
            except ALIAS_ERRORS:
                found = container.members.get(name)
            return found if found is not None else self._metaclass_member(container, name)
        return self.submodule(container, name) or container.members.get(name)

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

    def lookup(self, path: str) -> griffe.Object | None:
        """The object at a canonical dotted path (modules, classes, their members), or None."""
        parts = path.split(".")
        obj: griffe.Object | None = self.top(parts[0])
        for part in parts[1:]:
            if obj is None or not (obj.is_module or obj.is_class):
                return None
            member = self.member(obj, part)
            obj = self.target(member) if member is not None else None
        return obj

    def load_bases(self, cls: griffe.Object) -> None:
        """Read the modules of a class's bases (and theirs), so inherited members are seen."""
        if cls.path in self._bases_loaded:
            return
        self._bases_loaded.add(cls.path)
        for base in cls.bases:
            path = canonical(base)
            if path and path.split(".")[0] in self.names:
                found = self.lookup(path)
                if found is not None and found.is_class:
                    self.load_bases(found)

    def _metaclass_member(self, cls: griffe.Object, name: str) -> griffe.Object | None:
        """A member of the class's metaclass (its properties read as class attributes)."""
        meta = canonical(cls.keywords.get("metaclass")) if cls.keywords else None
        for decorator in cls.decorators:  # @six.add_metaclass(Meta)
            value = decorator.value
            if isinstance(value, griffe.ExprCall) and str(value.function).endswith("add_metaclass"):
                meta = meta or (canonical(value.arguments[0]) if value.arguments else None)
        found = self.lookup(meta) if meta and meta.split(".")[0] in self.names else None
        if found is None or not found.is_class or name.startswith("__"):
            return None
        return self.member(found, name)

    def external_bases(self, cls: griffe.Object) -> set[str]:
        """The paths of the bases of ``cls`` (and of its bases) outside the package."""
        self.load_bases(cls)
        out: set[str] = set()
        for base in cls.bases:
            path = canonical(base) or str(base)
            name = path.split("[")[0].rsplit(".", 1)[-1]
            if name in _PLAIN_BASES:
                continue
            found = self.lookup(path) if path.split(".")[0] in self.names else None
            if found is None or not found.is_class:
                out.add(path.split("[")[0])
            elif found.path != cls.path:
                out |= self.external_bases(found)
        return out


_PLAIN_BASES = {"object", "ABC", "Generic", "Protocol", "Exception", "BaseException"}


def canonical(expr: object) -> str | None:
    """The dotted path a base class or annotation names (``Base[T]``: ``Base``), if one."""
    if isinstance(expr, griffe.ExprSubscript):
        expr = expr.left
    if not isinstance(expr, griffe.ExprName | griffe.ExprAttribute):
        return None
    try:
        return expr.canonical_path
    except ALIAS_ERRORS:
        return None


def _package_dir(module: griffe.Object) -> Path | None:
    filepath = module.filepath
    if isinstance(filepath, list):
        return filepath[0] if filepath else None
    if filepath and Path(filepath).stem == "__init__":
        return Path(filepath).parent
    return None


def unexpanded_wildcards(module: griffe.Object) -> list[str]:
    """The modules of ``from x import *`` that could not be expanded (outside the package)."""
    return [m.wildcard for m in module.members.values() if m.is_alias and m.wildcard]


def lazily_exported(module: griffe.Object, name: str) -> bool:
    """Whether a module with a ``__getattr__`` mentions ``name`` as a string there or in a
    module-level mapping/sequence (a lazy export table such as ``_LAZY = {"Name": ...}``)."""
    if not module.is_module or "__getattr__" not in module.members:
        return False
    paths = module.filepath if isinstance(module.filepath, list) else [module.filepath]
    for path in paths:
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, SyntaxError, ValueError):
            return True  # cannot tell: assume it may be exported
        if _mentions(tree, name):
            return True
    return False


def _mentions(tree: ast.Module, name: str) -> bool:
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
