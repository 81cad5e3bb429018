"""What broke for one use of your code, and how sure we are: ``certain`` or ``possible``.

``certain``: the new release, read statically, makes the use fail (a name it imports is gone,
a keyword it passes is refused, a required parameter it does not pass was added, too many
positional arguments). ``possible``: it may fail, but something we cannot read may still
provide what is used (a module ``__getattr__``, a base class or ``**kwargs`` outside the
package, a type read from the other release) or the use is guarded by ``except ImportError``.
"""

from __future__ import annotations

import ast

import griffe

from compat.apidiff.load import Api, unexpanded_wildcards
from compat.apidiff.model import RANKS, Breakage, ordered
from compat.apidiff.resolve import FOUND, MISSING, UNKNOWN, Place, resolve_pair
from compat.apidiff.signatures import Accepts, accepts, function_node
from compat.uses import Use, segments


def check_uses(old: Api, new: Api, uses: list[Use]) -> tuple[list[Breakage], list[Use]]:
    """Check each use against both releases; one finding per object, every ``file:line`` kept.
    Also returns the calls of a method on an object neither release can type, as ``method``
    uses (``font = load_default(); font.getsize()``) for ``compat.apidiff.duck``."""
    found: dict[tuple[str, str, str], Breakage] = {}
    untyped: list[Use] = []
    for use in uses:
        segs = segments(use.path)
        before, after = resolve_pair(old, new, segs)
        if use.kind == "call" and _untyped_method(segs, before, after):
            untyped.append(Use("method", segs[-1], use.where, guarded=use.guarded))
        for item in _findings(use, segs, before, after, old, new):
            same = item.message if item.kind != "object-removed" else ""  # one per removal
            key = (item.kind, item.object_path, same)
            known = found.setdefault(key, item)
            if known is not item:
                if RANKS.index(item.rank) < RANKS.index(known.rank):
                    known.rank, known.message = item.rank, item.message
                known.used_at.extend(w for w in item.used_at if w not in known.used_at)
    return ordered(list(found.values())), untyped


def _untyped_method(segs: list[str], before: Place, after: Place) -> bool:
    """Whether both walks lost the type just before the last name (the method called)."""
    if not (before.status == after.status == UNKNOWN and before.index == after.index):
        return False
    named = before.index + 1 if segs[before.index] == "()" else before.index
    return named == len(segs) - 1 and segs[-1] != "()"


def _findings(
    use: Use, segs: list[str], before: Place, after: Place, old: Api, new: Api
) -> list[Breakage]:
    if after.status == MISSING and before.status == FOUND and before.index == after.index:
        return [_removed(use, segs, before, after, old, new)]
    if after.lazy and before.status == FOUND and not before.lazy and before.index == after.index:
        return [_now_lazy(use, segs, after)]
    last = len(segs) - 1
    if not (before.status == after.status == FOUND and before.index == after.index == last):
        return []
    old_obj, new_obj = before.obj, after.obj
    if old_obj is None or new_obj is None:
        return []
    rank = "possible" if after.borrowed else "certain"
    if use.kind == "subclass" and old_obj.is_class and not new_obj.is_class:
        what = new_obj.kind.value
        return [_make(use, rank, "object-changed-kind", use.path, f"is now a {what}")]
    if use.kind == "call":
        return _check_call(use, rank, accepts(old, old_obj), accepts(new, new_obj))
    if use.kind == "override" and old_obj.is_function and new_obj.is_function:
        return _check_override(use, accepts(old, old_obj), accepts(new, new_obj))
    return []


def _make(use: Use, rank: str, kind: str, path: str, message: str) -> Breakage:
    rank = "possible" if use.guarded else rank
    return Breakage(rank, kind, path, f"{path}: {message}", [use.where])


# -- removals ----------------------------------------------------------------------------------


def _removed(use: Use, segs: list[str], before: Place, after: Place, old: Api, new: Api):
    gone = ".".join(segs[: after.index + 1]).replace(".()", "()")
    holder = after.container
    rank, why = "certain", ""
    if holder is not None and holder.is_module and _dynamic_getattr(holder):
        rank, why = "possible", f"; {holder.path}.__getattr__ may still provide it"
    elif holder is not None and holder.is_module and unexpanded_wildcards(holder):
        source = unexpanded_wildcards(holder)[0]
        rank, why = "possible", f"; it may come from `from {source} import *`"
    elif holder is not None and holder.is_class:
        old_bases = old.external_bases(before.container) if _is_class(before.container) else set()
        gained = sorted(new.external_bases(holder) - old_bases)
        if gained:
            rank, why = "possible", f"; it may be inherited from {', '.join(gained)}"
    if after.borrowed:
        rank, why = "possible", why + f"; the type was read from {old.tree.name}"
    if before.lazy:
        why += f" (it was provided by {before.container.path}.__getattr__)"
    if use.kind == "override" and after.index == len(segs) - 1:
        message = f"was removed: your override of it is no longer called{why}"
    elif use.kind == "import" and after.index == len(segs) - 1:
        message = f"was removed: `{_import_line(segs)}` fails{why}"
    else:
        message = f"was removed{why}"
    return _make(use, rank, "object-removed", gone, message)


def _now_lazy(use: Use, segs: list[str], after: Place) -> Breakage:
    gone = ".".join(segs[: after.index + 1]).replace(".()", "()")
    message = (
        f"is no longer defined statically; {after.container.path}.__getattr__ mentions it, "
        "it may be lazily exported"
    )
    return _make(use, "possible", "object-removed", gone, message)


def _is_class(obj: griffe.Object | None) -> bool:
    return obj is not None and obj.is_class


def _import_line(segs: list[str]) -> str:
    return f"from {'.'.join(segs[:-1])} import {segs[-1]}" if len(segs) > 1 else f"import {segs[0]}"


def _dynamic_getattr(module: griffe.Object) -> bool:
    """Whether the module's ``__getattr__`` computes members from any name it is asked for
    (``import_module(f".{name}")``, ``getattr(_impl, name)``) rather than from a table of
    names (``_LAZY[name]``, ``if name in _LAZY``): then it may provide any name."""
    func = module.members.get("__getattr__")
    if func is None or func.is_alias or not func.is_function or not func.parameters:
        return False
    node = function_node(func)
    if node is None:
        return True
    asked = func.parameters[0].name

    def mentions(expr: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id == asked for n in ast.walk(expr))

    dynamic = table = False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and _callee_name(sub) in _DYNAMIC and mentions(sub):
            dynamic = True
        elif isinstance(sub, ast.Subscript) and mentions(sub.slice):
            table = True
        elif isinstance(sub, ast.Compare) and mentions(sub.left):
            table |= any(isinstance(op, ast.In | ast.NotIn) for op in sub.ops)
        elif isinstance(sub, ast.Call) and _callee_name(sub) == "get" and sub.args:
            table |= mentions(sub.args[0])
    return dynamic and not table


_DYNAMIC = {"import_module", "__import__", "getattr"}


def _callee_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


# -- calls and overrides -----------------------------------------------------------------------


def _check_call(use: Use, rank: str, old: Accepts | None, new: Accepts | None):
    if old is None or new is None:
        return []
    found = _check_keywords(use, rank, old, new)
    found += _check_positional(use, rank, old, new)
    passed = set(new.slots[: use.positional]) | set(use.keywords)
    for param in new.params:
        before = next((p for p in old.params if p.name == param.name), None)
        if not param.required or param.kind in _VARIADIC or param.name in passed:
            continue
        if before is not None and before.required:
            continue
        kind = "parameter-added-required" if before is None else "parameter-changed-required"
        what = "was added as required" if before is None else "is now required"
        message = f"parameter {param.name!r} {what}; your call does not pass it"
        found.append(_make(use, "possible" if use.star else rank, kind, use.path, message))
    return found


_VARIADIC = (griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword)


def _check_keywords(use: Use, rank: str, old: Accepts, new: Accepts) -> list[Breakage]:
    """Keywords the old release took (itself or through ``**kwargs``) and the new refuses."""
    found = []
    added = [n for n in new.keywords if n not in old.keywords]
    for keyword in use.keywords:
        if not old.takes(keyword) or new.takes(keyword):
            continue
        rank_here = "possible" if new.open and keyword not in new.rejected else rank
        if any(p.name == keyword for p in new.params):
            message = f"parameter {keyword!r} became positional-only; your call passes it by name"
            found.append(_make(use, rank_here, "parameter-changed-kind", use.path, message))
            continue
        hint = f" (renamed to {added[0]!r}?)" if len(added) == 1 else ""
        via = old.forwarded.get(keyword) if keyword not in old.keywords else None
        origin = f" (it was passed on to {via} through **kwargs)" if via else ""
        if keyword in new.rejected:
            message = f"parameter {keyword!r} was removed{origin}; passing it now raises{hint}"
        elif new.open:
            message = f"parameter {keyword!r} was removed{origin}; it now lands in **kwargs{hint}"
        else:
            message = f"parameter {keyword!r} was removed{origin}{hint}; your call passes it"
        found.append(_make(use, rank_here, "parameter-removed", use.path, message))
    return found


def _check_positional(use: Use, rank: str, old: Accepts, new: Accepts) -> list[Breakage]:
    """Too many positional arguments now, or an argument that now lands in another parameter."""
    if use.star or not use.positional or new.var_positional:
        return []
    old_slots, new_slots = old.slots, new.slots
    fitted = old.var_positional or use.positional <= len(old_slots)
    if use.positional > len(new_slots) and fitted:
        message = (
            f"takes {len(new_slots)} positional argument(s) now "
            f"({', '.join(new_slots) or 'none'}); your call passes {use.positional}"
        )
        return [_make(use, rank, "parameter-removed", use.path, message)]
    for i in range(min(use.positional, len(old_slots), len(new_slots))):
        if old_slots[i] != new_slots[i] and old_slots[i] not in new_slots[: use.positional]:
            message = (
                f"positional argument {i + 1} of your call now goes to {new_slots[i]!r}, "
                f"not {old_slots[i]!r}"
            )
            return [_make(use, "possible", "parameter-moved", use.path, message)]
    return []


def _check_override(use: Use, old: Accepts | None, new: Accepts | None) -> list[Breakage]:
    if old is None or new is None:
        return []
    old_names = {p.name for p in old.params}
    added = [p.name for p in new.params if p.name not in old_names and p.kind not in _VARIADIC]
    if not added:
        return []
    names = ", ".join(repr(n) for n in added)
    message = f"gained parameter(s) {names}; callers may pass them to your override"
    return [_make(use, "possible", "parameter-added", use.path, message)]
