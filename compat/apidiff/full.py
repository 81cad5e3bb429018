"""Full mode: every breaking change griffe finds in the public API, ranked, and those no user
touches set aside (``hidden``, with the reason) instead of listed.

Hidden: objects in private modules or with private names (``pkg._impl.helper``); in
experimental, internal, test or tool-plugin parts (``pkg.experimental``, ``pkg.testing``,
``pkg.mypy``); special names (``__version__``, the parameters of ``__eq__``); type variables; changes of
``self`` or of positional-only parameters named the stub way (``__x``);
kind changes between an attribute and a class or function (``Foo = make_class()`` that
became ``class Foo``, ``chebadd: _FuncBinOp`` in a stub: at runtime the same object);
parameters that moved beyond the third position (callers pass those by name).
"""

from __future__ import annotations

import re

import griffe

from compat.apidiff.load import ALIAS_ERRORS, Api, lazily_exported
from compat.apidiff.model import Breakage

_CERTAIN_KINDS = {
    griffe.BreakageKind.OBJECT_REMOVED,
    griffe.BreakageKind.OBJECT_CHANGED_KIND,
    griffe.BreakageKind.PARAMETER_REMOVED,
    griffe.BreakageKind.PARAMETER_ADDED_REQUIRED,
    griffe.BreakageKind.PARAMETER_CHANGED_REQUIRED,
    griffe.BreakageKind.PARAMETER_CHANGED_KIND,
    griffe.BreakageKind.PARAMETER_MOVED,
}
_PARAMETER_VERBS = {
    griffe.BreakageKind.PARAMETER_REMOVED: "was removed",
    griffe.BreakageKind.PARAMETER_ADDED_REQUIRED: "was added as required",
    griffe.BreakageKind.PARAMETER_CHANGED_REQUIRED: "is now required",
    griffe.BreakageKind.PARAMETER_MOVED: "moved",
}
_EXPERIMENTAL = re.compile(
    r"^(experimental|beta|alpha|preview|unstable|internal|internals|testing|tests?|"
    r"conftest|contrib|vendor|vendored|compat|mypy|pytest_plugin|plugins?)$"
)
_CALLED_BY_NAME = {"__init__", "__new__", "__call__"}  # special methods users call directly


def compare(old: Api, new: Api) -> tuple[list[Breakage], list[str]]:
    """Every change griffe finds between the loaded modules of two releases, and a note for
    each module griffe could not compare."""
    found: list[Breakage] = []
    notes: list[str] = []
    for api in (old, new):
        for module in api.loaded():
            _drop_outside_class_aliases(module, set())
    for old_module in old.loaded():
        name = old_module.name
        new_module = new.top(name)
        if new_module is None:
            found.append(Breakage("certain", "object-removed", name, f"module {name} was removed"))
            continue
        try:
            for item in griffe.find_breaking_changes(old_module, new_module):
                found.append(_from_griffe(item, new))
        except ALIAS_ERRORS as exc:
            notes.append(f"the comparison of {name} stopped early: {exc}")
    return found, notes


def _drop_outside_class_aliases(obj: griffe.Object, seen: set[str]) -> None:
    """Remove aliases inside classes that point outside the package (``numeric = psycopg.
    types.numeric`` in a class body): griffe's diff cannot tell whether they are public."""
    if obj.path in seen:
        return
    seen.add(obj.path)
    for name, member in list(obj.members.items()):
        if member.is_alias:
            if obj.is_class and not _resolves(member):
                obj.del_member(name)
        elif member.is_module or member.is_class:
            _drop_outside_class_aliases(member, seen)


def _resolves(alias: griffe.Alias) -> bool:
    try:
        return alias.final_target is not None
    except ALIAS_ERRORS:
        return False


def hidden_reason(item: griffe.Breakage) -> str:
    """Why no user is likely to touch what ``item`` is about ("" when one may)."""
    parts = item.obj.path.split(".")
    special = [p for p in parts if p.startswith("__") and p.endswith("__")]
    if any(p.startswith("_") and p not in special for p in parts):
        return "private"
    if any(_EXPERIMENTAL.match(p.lower()) for p in parts[1:]):
        return "experimental, internal or a tool plugin"
    if special and special[-1] not in _CALLED_BY_NAME:
        return "special name"
    old, new = item.old_value, item.new_value
    param = old if isinstance(old, griffe.Parameter) else new
    if isinstance(param, griffe.Parameter) and (
        param.name in ("self", "cls") or param.name.startswith("__")
    ):
        return "a positional-only parameter (its name is not part of the API)"
    if item.kind is griffe.BreakageKind.OBJECT_REMOVED and _is_type_variable(item.obj):
        return "type variable"
    if item.kind is griffe.BreakageKind.OBJECT_CHANGED_KIND and _redeclared(old, item.obj):
        return "declared differently (attribute, class or function), likely the same at runtime"
    if item.kind is griffe.BreakageKind.PARAMETER_MOVED and isinstance(old, griffe.Parameter):
        position = next((i for i, p in enumerate(item.obj.parameters) if p.name == old.name), 0)
        if position > 3 or (new is not None and new.kind is griffe.ParameterKind.keyword_only):
            return "a parameter beyond the third position"
    return ""


def _redeclared(old_kind: griffe.Kind, new: griffe.Object) -> bool:
    """An attribute that became a class or function, or a class or function now declared as
    an attribute that is not a literal (``chebadd: _FuncBinOp`` in a stub, ``X = other.X``)."""
    if old_kind is griffe.Kind.ATTRIBUTE:
        return True
    if not new.is_attribute:
        return False
    value = getattr(new, "value", None)
    return (
        value is None
        or not isinstance(value, str)
        or not value[:1].isdigit()
        and value[:1] not in "'\"[{("
    )


def _is_type_variable(obj: griffe.Object) -> bool:
    value = getattr(obj, "value", None)
    return obj.is_attribute and str(value).startswith(("TypeVar(", "typing.TypeVar(", "ParamSpec("))


def _from_griffe(item: griffe.Breakage, new: Api) -> Breakage:
    kind = item.kind.name.lower().replace("_", "-")
    rank = "certain" if item.kind in _CERTAIN_KINDS else "possible"
    path = item.obj.path
    message = f"{path}: {_message(item)}"
    if item.kind is griffe.BreakageKind.OBJECT_REMOVED:
        parent, _, name = path.rpartition(".")
        holder = new.lookup(parent) if parent else None
        if holder is not None and lazily_exported(holder, name):
            rank, message = "possible", f"{message} (the module's __getattr__ may still export it)"
    return Breakage(rank, kind, path, message, hidden=hidden_reason(item))


def _message(item: griffe.Breakage) -> str:
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
