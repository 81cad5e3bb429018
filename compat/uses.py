"""What your code uses of an upstream package, found statically with ``ast``.

For every file: the upstream names it imports (``import a.b``, ``from a.b import C as D``,
``importlib.import_module("a.b")``, ``pytest.importorskip("a")`` and one level of helper
around them), the attributes it reaches on them (``D.method``,
``client.chat.completions.create`` where ``client = OpenAI()`` or ``client = make_client()``
for a local function returning one), the classes it subclasses, the arguments it passes to
upstream callables, the methods it overrides in subclasses, and the methods it calls on
objects whose type it cannot see (``response.read()``); each with ``file:line``.

Paths are dotted upstream paths; ``()`` marks a call result, so ``openai.OpenAI().chat`` is
the ``chat`` attribute of an ``OpenAI`` instance. A ``method`` use has the method's name as
its path; such guesses come from test modules and from modules that import the upstream
(elsewhere in a library they are mostly calls on its own objects).

Which code is "yours" is decided once, in ``integration_files``: the project's own packages
(``project_code``), the integration's tests and its ``file``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KINDS = ("import", "attribute", "call", "subclass", "override", "method")
_GUARDS = {"ImportError", "ModuleNotFoundError", "AttributeError", "Exception", "BaseException"}
_IMPORTERS = ("import_module", "importorskip")  # importlib.import_module, pytest.importorskip
# Methods of builtin values: a call of these on an unknown object is not worth a guess.
_BUILTIN_METHODS = {
    name for kind in (str, bytes, list, dict, set, tuple, int, float, object) for name in dir(kind)
} | {"setter", "getter", "deleter"}


@dataclass(frozen=True)
class Use:
    """One place where the code touches an upstream name."""

    kind: str  # one of KINDS
    path: str  # dotted upstream path, e.g. "openai.OpenAI().chat.completions.create"
    where: str  # "tests/test_smoke.py:12"
    keywords: tuple[str, ...] = ()  # call: the keyword arguments passed
    positional: int = 0  # call: how many positional arguments are passed
    star: bool = False  # call: passes *args or **kwargs, so the arity is unknown
    guarded: bool = False  # inside ``try: … except ImportError`` (or a broader handler)

    @property
    def root(self) -> str:
        return self.path.split(".", 1)[0]


def segments(path: str) -> list[str]:
    """``"a.B().c"`` -> ``["a", "B", "()", "c"]``."""
    out: list[str] = []
    for part in path.split("."):
        name = part
        while name.endswith("()"):
            name = name[:-2]
        out.append(name)
        out.extend("()" for _ in range((len(part) - len(name)) // 2))
    return out


def collect(paths: Iterable[Path], roots: Iterable[str] | None = None) -> list[Use]:
    """The uses in ``paths`` (files, or folders searched for ``*.py``) of the ``roots`` modules.

    ``roots`` are top-level import names (``langchain_core``); ``None`` keeps every import.
    ``method`` uses are kept unless the code defines a function of that name itself.
    Raises ``FileNotFoundError`` for a path that does not exist, ``SyntaxError`` for bad code.
    """
    wanted = set(roots) if roots is not None else None
    uses: list[Use] = []
    own: set[str] = set()
    for file in _python_files(paths):
        tree = ast.parse(file.read_text(encoding="utf-8", errors="replace"), filename=str(file))
        own |= {
            n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        found = _Visitor(_display(file), _import_helpers(tree)).run(tree)
        imports = any(u.kind == "import" and (wanted is None or u.root in wanted) for u in found)
        methods = wanted is None or imports or _is_test_module(file)
        uses.extend(
            u
            for u in found
            if (methods if u.kind == "method" else wanted is None or u.root in wanted)
        )
    return [u for u in uses if u.kind != "method" or u.path not in own]


def _is_test_module(file: Path) -> bool:
    name = file.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def extract(source: str, filename: str = "<string>") -> list[Use]:
    """The upstream uses in one module's source (every absolute import counts as upstream)."""
    tree = ast.parse(source, filename=filename)
    return _Visitor(filename, _import_helpers(tree)).run(tree)


def integration_files(matrix, package: str) -> tuple[list[Path], list[str]]:
    """The code whose uses of ``package`` count: the project's own packages, and the tests and
    ``file`` of the integration(s) of ``package`` in a matrix; and a line for each configured
    path that does not exist. ``compat apidiff`` and the release monitor both ask here."""
    from packaging.utils import canonicalize_name

    paths: list[Path] = []
    missing: list[str] = []
    for integ in matrix.integrations:
        if canonicalize_name(integ.package) != canonicalize_name(package):
            continue
        for item in (*integ.tests, *([integ.file] if integ.file else [])):
            path = matrix.root / item
            if path.exists():
                paths.append(path)
            else:
                missing.append(f"{item} (integration {integ.name}) does not exist")
    if paths or missing:
        paths += project_code(matrix.root)
    return list(dict.fromkeys(paths)), list(dict.fromkeys(missing))


NOT_CODE = {"tests", "test", "docs", "doc", "examples", "example", "scripts", "benchmarks",
            "build", "dist", "site-packages", "node_modules", "__pycache__"}  # fmt: skip
NOT_MODULES = {"setup.py", "noxfile.py", "conftest.py", "tasks.py", "fabfile.py", "manage.py"}


def packages(root: Path) -> list[Path]:
    """The project's import packages: ``<pkg>`` folders with __init__.py, and under ``src/``
    any folder of Python code (namespace packages such as ``src/opentelemetry`` included)."""
    found = []
    for base in (root / "src", root):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if not child.is_dir() or child.name in NOT_CODE or child.name.startswith("."):
                continue
            if (child / "__init__.py").is_file() or (
                base.name == "src" and any(child.rglob("*.py"))
            ):
                found.append(child)
    return found


def project_code(root: Path) -> list[Path]:
    """The project's own modules: its packages, and single modules at the top or in src/
    (not its tests, docs, examples, scripts or build files)."""
    files = []
    for package in packages(root):
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(package).parts
            if not any(p in NOT_CODE or p.startswith(".") for p in parts[:-1]):
                files.append(path)
    for base in (root, root / "src"):
        if base.is_dir():
            files += [
                path
                for path in sorted(base.glob("*.py"))
                if path.name not in NOT_MODULES and not path.name.startswith("test_")
            ]
    return files


def _python_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.py") if ".venv" not in p.parts))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return list(dict.fromkeys(files))


def _display(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(file)


def _import_helpers(tree: ast.Module) -> set[str]:
    """Module-level functions that return ``import_module(arg)`` / ``importorskip(arg)`` of
    their first parameter, such as ``def need(module): return pytest.importorskip(module)``."""
    helpers = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.args.args:
            continue
        param = node.args.args[0].arg
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Return)
                and isinstance(sub.value, ast.Call)
                and _is_importer(sub.value)
                and sub.value.args
                and isinstance(sub.value.args[0], ast.Name)
                and sub.value.args[0].id == param
            ):
                helpers.add(node.name)
    return helpers


def _is_importer(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in _IMPORTERS


def _imported_name(call: ast.Call) -> str | None:
    """The module a call of an importer names with a string: ``import_module("a.b")``."""
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
        return first.value if not first.value.startswith(".") else None
    return None


class _Scope:
    """Local names bound to upstream paths, and what an expression stands for."""

    def __init__(self, helpers: set[str]) -> None:
        self.names: dict[str, str] = {}  # local name -> upstream path
        self.returns: dict[str, str] = {}  # local function -> upstream path of its result
        self.helpers = helpers  # local functions that import the module they are given
        self.classes: list[list[str]] = []  # upstream bases of the enclosing classes

    def resolve(self, node: ast.AST) -> str | None:
        """The upstream path an expression stands for, or None."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            if self.importing(node):
                return _imported_name(node)
            if _is_super(node) and self.classes and len(self.classes[-1]) == 1:
                return self.classes[-1][0] + "()"
            if isinstance(node.func, ast.Name) and node.func.id in self.returns:
                return self.returns[node.func.id]
            base = self.resolve(node.func)
            return f"{base}()" if base else None
        return None

    def importing(self, call: ast.Call) -> bool:
        """Whether ``call`` imports a module: an importer or a local helper around one."""
        if isinstance(call.func, ast.Name) and call.func.id in self.helpers:
            return True
        return _is_importer(call)

    def bind(self, target: ast.AST, path: str | None) -> None:
        if isinstance(target, ast.Name):
            self.bind_name(target.id, path)

    def bind_name(self, name: str, path: str | None) -> None:
        if path:
            self.names[name] = path
        else:
            self.names.pop(name, None)

    def annotated(self, annotation: ast.AST | None) -> str | None:
        """``x: Client`` binds ``x`` to an instance: ``pkg.Client()``."""
        path = self.resolve(annotation) if annotation is not None else None
        return path + "()" if path else None


def _is_super(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "super"


class _Bindings(ast.NodeVisitor):
    """Imports and the statements that bind names: what local names stand for upstream."""

    def __init__(self, filename: str, helpers: set[str]) -> None:
        self.filename = filename
        self.scope = _Scope(helpers)
        self.uses: list[Use] = []
        self.guard = 0

    def run(self, tree: ast.AST) -> list[Use]:
        self.visit(tree)
        return self.uses

    def add(self, kind: str, path: str, node: ast.AST, **extra) -> None:
        where = f"{self.filename}:{getattr(node, 'lineno', 0)}"
        self.uses.append(Use(kind, path, where, guarded=self.guard > 0, **extra))

    # imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add("import", alias.name, node)
            if alias.asname:
                self.scope.names[alias.asname] = alias.name
            else:
                top = alias.name.split(".", 1)[0]
                self.scope.names[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative imports are the user's own code
        for alias in node.names:
            if alias.name == "*":
                self.add("import", node.module, node)
                continue
            path = f"{node.module}.{alias.name}"
            self.add("import", path, node)
            self.scope.names[alias.asname or alias.name] = path

    # try / except ImportError
    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(h) for h in node.handlers)
        self.guard += guarded
        for stmt in node.body:
            self.visit(stmt)
        self.guard -= guarded
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

    visit_TryStar = visit_Try

    # bindings
    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        path = self.scope.resolve(node.value)
        for target in node.targets:
            self.scope.bind(target, path)
            if not isinstance(target, ast.Name):
                self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        path = self.scope.resolve(node.value) if node.value is not None else None
        self.scope.bind(node.target, path or self.scope.annotated(node.annotation))

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.scope.bind(item.optional_vars, self.scope.resolve(item.context_expr))
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With


class _Visitor(_Bindings):
    """Walks one module in source order and records its uses (see ``_Scope`` for bindings)."""

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self._visit_decorator(deco)
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.annotation is not None:
                self.visit(arg.annotation)
                self.scope.bind_name(arg.arg, self.scope.annotated(arg.annotation))
        for default in (*args.defaults, *(d for d in args.kw_defaults if d is not None)):
            self.visit(default)
        for stmt in node.body:
            self.visit(stmt)
        result = self.scope.annotated(node.returns) or self._returned(node)
        if result and not self.scope.classes:
            self.scope.returns[node.name] = result

    visit_AsyncFunctionDef = visit_FunctionDef

    def _returned(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        """The upstream path every ``return`` of a local function gives, when they agree."""
        paths = {
            self.scope.resolve(sub.value) if sub.value is not None else None
            for sub in ast.walk(node)
            if isinstance(sub, ast.Return)
        }
        return paths.pop() if len(paths) == 1 else None

    def _visit_decorator(self, deco: ast.expr) -> None:
        """``@app.route(...)``/``@app.hook``: a call, recorded as such or as a ``method`` use."""
        if isinstance(deco, ast.Attribute) and self.scope.resolve(deco) is None:
            if not isinstance(deco.value, ast.Constant):
                self.add("method", deco.attr, deco)
            self.visit(deco.value)
        else:
            self.visit(deco)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for deco in node.decorator_list:
            self._visit_decorator(deco)
        bases = []
        for base in node.bases:
            path = self.scope.resolve(base)
            if path:
                bases.append(path)
                self.add("subclass", path, base)
            else:
                self.visit(base)
        for keyword in node.keywords:
            self.visit(keyword.value)
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and _overridable(stmt.name):
                for base in bases:
                    self.add("override", f"{base}.{stmt.name}", stmt)
        self.scope.classes.append(bases)
        for stmt in node.body:
            self.visit(stmt)
        self.scope.classes.pop()
        self.scope.names.pop(node.name, None)

    # reaching attributes and calling
    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self.scope.resolve(node)
        if path and isinstance(node.ctx, ast.Load):
            self.add("attribute", path, node)
            self._visit_call_base(node.value)
        else:
            self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        if self.scope.importing(node):
            module = _imported_name(node)
            if module:
                self.add("import", module, node)
        path = self.scope.resolve(node.func)
        if path and not _is_super(node):
            keywords = tuple(k.arg for k in node.keywords if k.arg is not None)
            star = any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            )
            positional = sum(not isinstance(a, ast.Starred) for a in node.args)
            self.add("call", path, node, keywords=keywords, positional=positional, star=star)
            if isinstance(node.func, ast.Attribute):
                self._visit_call_base(node.func.value)
        elif not _is_super(node):
            self._unknown_method(node)
            self.visit(node.func)
        for arg in node.args:
            self.visit(arg)
        for keyword in node.keywords:
            self.visit(keyword.value)

    def _unknown_method(self, node: ast.Call) -> None:
        """``x.name(...)`` on an object whose type we cannot see: a ``method`` use."""
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr in _BUILTIN_METHODS:
            return
        receiver = func.value
        if isinstance(receiver, ast.Constant | ast.JoinedStr | ast.List | ast.Dict | ast.Set):
            return
        if isinstance(receiver, ast.Name | ast.Attribute | ast.Call | ast.Subscript):
            self.add("method", func.attr, node)

    def _visit_call_base(self, node: ast.AST) -> None:
        """Visit what a call's receiver contains besides the chain already recorded."""
        while isinstance(node, ast.Attribute):
            node = node.value
        if isinstance(node, ast.Call):
            self.visit(node)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in _GUARDS for t in types)


def _overridable(name: str) -> bool:
    """Hooks like ``_run`` count; dunders (``__init__``, ``__eq__``) always exist somewhere."""
    return not (name.startswith("__") and name.endswith("__"))
