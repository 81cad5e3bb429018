"""The two entry points: ``targeted_diff`` (what your code uses) and ``full_diff`` (all of it).

Both download and unpack the two releases (``dists``), read them with griffe (``load``) and
return a ``Diff``; they raise ``ApiDiffError`` and never print.
"""

from __future__ import annotations

from pathlib import Path

from compat.apidiff.dists import top_level_names, unpacked
from compat.apidiff.duck import removed_methods
from compat.apidiff.full import compare
from compat.apidiff.load import Api
from compat.apidiff.model import ApiDiffError, Diff, ordered
from compat.apidiff.rules import check_uses
from compat.index import IndexClient
from compat.uses import collect


def targeted_diff(client: IndexClient, package: str, old: str, new: str, uses: list[Path]) -> Diff:
    """The breaking changes between two releases that touch what the code in ``uses`` uses."""
    old_tree, new_tree = unpacked(client, package, old), unpacked(client, package, new)
    names = top_level_names(old_tree)
    try:
        found = collect(uses, names)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ApiDiffError(f"cannot read the code that uses {package}: {exc}") from None
    old_api, new_api = Api(old_tree, names), Api(new_tree, names)
    direct = [u for u in found if u.kind != "method"]
    calls = [u for u in found if u.kind == "method"]
    breakages, untyped = check_uses(old_api, new_api, direct)
    calls += untyped
    seen = {b.object_path for b in breakages}
    breakages += [b for b in removed_methods(old_api, new_api, calls) if b.object_path not in seen]
    return Diff(
        package,
        old,
        new,
        "targeted",
        ordered(breakages),
        files=[str(p) for p in uses],
        uses_checked=len(direct),
    )


def full_diff(client: IndexClient, package: str, old: str, new: str) -> Diff:
    """Every breaking change griffe finds in the public API between two releases."""
    old_tree, new_tree = unpacked(client, package, old), unpacked(client, package, new)
    names = top_level_names(old_tree)
    found, notes = compare(Api(old_tree, names, lazy=False), Api(new_tree, names, lazy=False))
    shown = [b for b in found if not b.hidden]
    hidden = [b for b in found if b.hidden]
    return Diff(package, old, new, "full", ordered(shown), hidden=ordered(hidden), notes=notes)
