"""What a call into one release can pass: parameters, and keywords forwarded by ``**kwargs``.

A field class ``String(**kwargs)`` that passes ``super().__init__(**kwargs)`` on to its base
accepts the base's keywords; ``Accepts`` follows such forwarding (``super().method``,
``Base.method(self, …)``, ``self.method``, ``cls(…)``, a function of the same module, a local
alias such as ``factory = kwargs.pop("cls", None) or Option``) and the keys it reads itself
(``kwargs.pop("default")``). Anything else done with ``**kwargs`` leaves it ``open``.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

import griffe

from compat.apidiff.load import Api

POSITIONAL = (griffe.ParameterKind.positional_only, griffe.ParameterKind.positional_or_keyword)
VARIADIC = (griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword)
_DEPTH = 6
_DEF = ("def ", "async def ")


@dataclass
class Accepts:
    """The parameters of a callable as a caller sees them (bound ``self`` dropped)."""

    params: list[griffe.Parameter]
    forwarded: dict[str, str] = field(default_factory=dict)  # keyword -> where it goes
    rejected: set[str] = field(default_factory=set)  # keywords it raises for (``regex`` is gone)
    open: bool = False  # takes ``**kwargs`` that go somewhere we cannot follow

    @property
    def keywords(self) -> dict[str, griffe.Parameter]:
        """Parameters that can be passed by name (their own)."""
        return {
            p.name: p
            for p in self.params
            if p.kind not in VARIADIC and p.kind is not griffe.ParameterKind.positional_only
        }

    @property
    def slots(self) -> list[str]:
        return [p.name for p in self.params if p.kind in POSITIONAL]

    @property
    def var_positional(self) -> bool:
        return any(p.kind is griffe.ParameterKind.var_positional for p in self.params)

    def takes(self, keyword: str) -> bool:
        if keyword in self.rejected:
            return False
        return keyword in self.keywords or keyword in self.forwarded


def accepts(api: Api, obj: griffe.Object, depth: int = 0) -> Accepts | None:
    """What calling ``obj`` (a function, or a class: its ``__init__``) accepts; None: unknown."""
    if obj.is_class:
        init = api.member(obj, "__init__")
        init = api.target(init) if init is not None else None
        if init is None or not init.is_function:
            return None  # e.g. a pydantic model: its fields are not visible as parameters
        obj = init
    if not obj.is_function:
        return None
    params = list(obj.parameters)
    bound = obj.parent is not None and obj.parent.is_class and "staticmethod" not in obj.labels
    if bound and params and params[0].kind in POSITIONAL:
        params = params[1:]
    found = Accepts(params)
    var_kw = next((p for p in params if p.kind is griffe.ParameterKind.var_keyword), None)
    if var_kw is not None:
        _follow(api, obj, var_kw.name, found, depth)
    return found


def _follow(api: Api, func: griffe.Object, kwargs: str, found: Accepts, depth: int) -> None:
    """Fill ``found.forwarded`` from what ``func`` does with ``**kwargs``."""
    body = function_node(func)
    if body is None or depth >= _DEPTH:
        found.open = True
        return
    locals_ = _local_assignments(body)
    for node, use in _kwargs_uses(body, kwargs):
        if use == "key":
            found.forwarded.setdefault(node, func.path)
        elif use == "rejected":
            found.rejected.add(node)
        elif use == "forward":
            target = _callee(api, func, node, locals_)
            inner = accepts(api, target, depth + 1) if target is not None else None
            if inner is None:
                found.open = True
                continue
            for name in inner.keywords:
                found.forwarded.setdefault(name, target.path)
            for name, deeper in inner.forwarded.items():
                found.forwarded.setdefault(name, deeper)
            found.rejected |= inner.rejected
            found.open |= inner.open
        else:
            found.open = True


def _kwargs_uses(body: ast.AST, kwargs: str):
    """Each use of ``kwargs`` (and of its copies, ``attrs = kwargs.copy()``): ("forward", call)
    for ``f(**kwargs)``; ("key", name) for ``kwargs.pop("name")``, ``kwargs["name"]``,
    ``"name" in kwargs`` — ("rejected", name) when it is only read to raise an error —;
    else ("other", node)."""
    parents = {child: node for node in ast.walk(body) for child in ast.iter_child_nodes(node)}
    names = {kwargs}
    for node in ast.walk(body):  # copies: x = kwargs.copy() / dict(kwargs) / {**kwargs}
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and _copy_of(node.value, kwargs):
                names.add(target.id)
    for node in ast.walk(body):
        if not (isinstance(node, ast.Name) and node.id in names):
            continue
        parent = parents.get(node)
        grand = parents.get(parent)
        if isinstance(parent, ast.keyword) and parent.arg is None:
            yield grand, "forward"
        elif isinstance(parent, ast.Attribute) and isinstance(grand, ast.Call):
            if (
                parent.attr in ("pop", "get", "setdefault")
                and grand.args
                and _string(grand.args[0])
            ):
                assign = parents.get(grand)
                local = assign.targets[0] if isinstance(assign, ast.Assign) else None
                rejected = isinstance(local, ast.Name) and _raises_if(body, local.id)
                yield grand.args[0].value, "rejected" if rejected else "key"
            elif not (parent.attr == "copy" and isinstance(parents.get(grand), ast.Assign)):
                yield node, "other"
        elif isinstance(parent, ast.Subscript) and _string(parent.slice):
            yield parent.slice.value, "key"
        elif isinstance(parent, ast.Compare) and _string(parent.left):
            test = parents.get(parent)
            rejected = isinstance(test, ast.If) and test.test is parent and _raises(test)
            yield parent.left.value, "rejected" if rejected else "key"
        elif isinstance(parent, ast.Assign) and node in parent.targets:
            continue  # the copy itself
        elif not (_copy_of(parent, kwargs) or _copy_of(grand, kwargs)):
            yield node, "other"


def _raises_if(body: ast.AST, name: str) -> bool:
    """Whether an ``if`` testing local ``name`` raises right away (``if regex: raise …``)."""
    return any(
        isinstance(node, ast.If)
        and _raises(node)
        and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.test))
        for node in ast.walk(body)
    )


def _raises(node: ast.If) -> bool:
    return bool(node.body) and isinstance(node.body[0], ast.Raise)


def _copy_of(value: ast.AST | None, name: str) -> bool:
    """``name.copy()``, ``dict(name)`` or ``{**name}``."""
    if isinstance(value, ast.Call) and not value.keywords:
        func, args = value.func, value.args
        if isinstance(func, ast.Attribute) and func.attr == "copy" and not args:
            return isinstance(func.value, ast.Name) and func.value.id == name
        if isinstance(func, ast.Name) and func.id == "dict" and len(args) == 1:
            return isinstance(args[0], ast.Name) and args[0].id == name
    if isinstance(value, ast.Dict) and value.keys == [None]:
        return isinstance(value.values[0], ast.Name) and value.values[0].id == name
    return False


def _string(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _callee(api: Api, func: griffe.Object, call: ast.Call, locals_: dict[str, ast.expr]):
    """The griffe object a forwarding call goes to, when we can tell."""
    owner = func.parent if func.parent is not None and func.parent.is_class else None
    target = call.func
    if isinstance(target, ast.Name) and target.id in locals_:
        found = [_expr_object(api, func, owner, o) for o in _alternatives(locals_[target.id])]
        return found[0] if found and None not in found else None
    return _expr_object(api, func, owner, target)


def _alternatives(value: ast.expr) -> list[ast.expr]:
    """What a local may hold: ``kwargs.pop("cls", None) or Option`` and
    ``kwargs.pop("cls", Option)`` -> [Option]; ``A if c else B`` -> [A, B]."""
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        return [v for part in value.values for v in _alternatives(part)]
    if isinstance(value, ast.IfExp):
        return [*_alternatives(value.body), *_alternatives(value.orelse)]
    if isinstance(value, ast.Call) and _callee_attr(value) in ("pop", "get") and value.args:
        default = value.args[1] if len(value.args) > 1 else None
        return [default] if default is not None and not _none(default) else []
    return [] if _none(value) else [value]


def _callee_attr(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _expr_object(api: Api, func: griffe.Object, owner, expr: ast.expr) -> griffe.Object | None:
    if isinstance(expr, ast.Attribute):
        receiver = expr.value
        if isinstance(receiver, ast.Call) and _is_super(receiver) and owner is not None:
            return _from_bases(api, owner, expr.attr)
        if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls") and owner is not None:
            member = api.member(owner, expr.attr)
            return api.target(member) if member is not None else None
        base = _expr_object(api, func, owner, receiver)
        if base is not None and (base.is_class or base.is_module):
            member = api.member(base, expr.attr)
            return api.target(member) if member is not None else None
        return None
    if isinstance(expr, ast.Name):
        if expr.id == "cls" and owner is not None:
            return owner
        module = func.module
        member = module.members.get(expr.id)
        return api.target(member) if member is not None else None
    return None


def _from_bases(api: Api, cls: griffe.Object, name: str) -> griffe.Object | None:
    """``super().name``: the first base of ``cls`` that has ``name``."""
    api.load_bases(cls)
    try:
        bases = cls.resolved_bases
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    for base in bases:
        member = api.member(base, name)
        if member is not None:
            return api.target(member)
    return None


def _is_super(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Name) and call.func.id == "super"


def _local_assignments(body: ast.AST) -> dict[str, ast.expr]:
    out: dict[str, ast.expr] = {}
    for node in ast.walk(body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                out[target.id] = node.value
    return out


@functools.lru_cache(maxsize=512)
def _lines(path: str) -> list[str] | None:
    try:
        return Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None


def function_node(func: griffe.Object) -> ast.AST | None:
    """The ``def`` of ``func`` parsed from its file (griffe keeps only line numbers)."""
    path = func.filepath
    if isinstance(path, list) or not path or not func.lineno or not func.endlineno:
        return None
    source = _lines(str(path))
    lines = source[func.lineno - 1 : func.endlineno] if source else []
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith(_DEF)]
    if not starts:
        return None
    code = "\n".join(lines[starts[0] :])
    nested = code[:1].isspace()  # a method: parse it inside a block of the same indentation
    try:
        tree = ast.parse("if True:\n" + code if nested else code)
    except SyntaxError:
        return None
    body = tree.body[0].body if nested and tree.body else tree.body
    node = body[0] if body else None
    return node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None
