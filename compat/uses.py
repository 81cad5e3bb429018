"""What your code uses of an upstream package, found statically with ``ast``.

For every file: the upstream names it imports (``import a.b``, ``from a.b import C as D``),
the attributes it reaches on them (``D.method``, ``client.chat.completions.create`` where
``client = OpenAI()``), the classes it subclasses, the keyword arguments it passes to upstream
callables and the methods it overrides in subclasses; each with ``file:line``.

Paths are dotted upstream paths; ``()`` marks a call result, so ``openai.OpenAI().chat`` is
the ``chat`` attribute of an ``OpenAI`` instance.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KINDS = ("import", "attribute", "call", "subclass", "override")
_GUARDS = {"ImportError", "ModuleNotFoundError", "AttributeError", "Exception", "BaseException"}


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
    Raises ``FileNotFoundError`` for a path that does not exist, ``SyntaxError`` for bad code.
    """
    wanted = set(roots) if roots is not None else None
    uses: list[Use] = []
    for file in _python_files(paths):
        found = extract(file.read_text(encoding="utf-8", errors="replace"), _display(file))
        uses.extend(u for u in found if wanted is None or u.root in wanted)
    return uses


def extract(source: str, filename: str = "<string>") -> list[Use]:
    """The upstream uses in one module's source (every absolute import counts as upstream)."""
    visitor = _Visitor(filename)
    visitor.visit(ast.parse(source, filename=filename))
    return visitor.uses


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


class _Visitor(ast.NodeVisitor):
    """Walks one module in source order, binding local names to upstream paths."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.uses: list[Use] = []
        self.names: dict[str, str] = {}  # local name -> upstream path
        self.guard = 0
        self.classes: list[list[str]] = []  # upstream bases of the enclosing classes

    def add(self, kind: str, path: str, node: ast.AST, **extra) -> None:
        where = f"{self.filename}:{getattr(node, 'lineno', 0)}"
        self.uses.append(Use(kind, path, where, guarded=self.guard > 0, **extra))

    def resolve(self, node: ast.AST) -> str | None:
        """The upstream path an expression stands for, or None."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            if self._is_super(node) and self.classes and len(self.classes[-1]) == 1:
                return self.classes[-1][0] + "()"
            base = self.resolve(node.func)
            return f"{base}()" if base else None
        return None

    @staticmethod
    def _is_super(node: ast.Call) -> bool:
        return isinstance(node.func, ast.Name) and node.func.id == "super"

    # imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add("import", alias.name, node)
            if alias.asname:
                self.names[alias.asname] = alias.name
            else:
                top = alias.name.split(".", 1)[0]
                self.names[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative imports are the user's own code
        for alias in node.names:
            if alias.name == "*":
                self.add("import", node.module, node)
                continue
            path = f"{node.module}.{alias.name}"
            self.add("import", path, node)
            self.names[alias.asname or alias.name] = path

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
        path = self.resolve(node.value)
        for target in node.targets:
            self._bind(target, path)
            if not isinstance(target, ast.Name):
                self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        annotation = self.resolve(node.annotation)
        path = self.resolve(node.value) if node.value is not None else None
        self._bind(node.target, path or (annotation + "()" if annotation else None))

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._bind(item.optional_vars, self.resolve(item.context_expr))
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def _bind(self, target: ast.AST, path: str | None) -> None:
        if isinstance(target, ast.Name):
            self._bind_name(target.id, path)

    def _bind_name(self, name: str, path: str | None) -> None:
        if path:
            self.names[name] = path
        else:
            self.names.pop(name, None)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        args = node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.annotation is not None:
                self.visit(arg.annotation)
                annotation = self.resolve(arg.annotation)
                self._bind_name(arg.arg, annotation + "()" if annotation else None)
        for default in (*args.defaults, *(d for d in args.kw_defaults if d is not None)):
            self.visit(default)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for deco in node.decorator_list:
            self.visit(deco)
        bases = []
        for base in node.bases:
            path = self.resolve(base)
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
        self.classes.append(bases)
        for stmt in node.body:
            self.visit(stmt)
        self.classes.pop()
        self.names.pop(node.name, None)

    # reaching attributes and calling
    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self.resolve(node)
        if path and isinstance(node.ctx, ast.Load):
            self.add("attribute", path, node)
            self._visit_call_base(node.value)
        else:
            self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        path = self.resolve(node.func)
        if path and not self._is_super(node):
            keywords = tuple(k.arg for k in node.keywords if k.arg is not None)
            star = any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            )
            positional = sum(not isinstance(a, ast.Starred) for a in node.args)
            self.add("call", path, node, keywords=keywords, positional=positional, star=star)
            if isinstance(node.func, ast.Attribute):
                self._visit_call_base(node.func.value)
        elif not self._is_super(node):
            self.visit(node.func)
        for arg in node.args:
            self.visit(arg)
        for keyword in node.keywords:
            self.visit(keyword.value)

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
