"""Methods removed from a class of the package that your code calls by name on an object of a
type it cannot see (``response.read()``): always ``possible``.

Finding them needs no full load: a text scan of both trees finds the files where a method
of one of those names is defined fewer times in the new release (or the file is gone); only
those modules are read with griffe to name the class and confirm the method is gone from it.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import griffe

from compat.apidiff.load import Api
from compat.apidiff.model import Breakage
from compat.uses import Use


def removed_methods(old: Api, new: Api, calls: list[Use]) -> list[Breakage]:
    """A ``possible`` breakage per public class method gone that ``calls`` name."""
    by_name: dict[str, list[str]] = {}
    for use in calls:
        by_name.setdefault(use.path, []).append(use.where)
    if not by_name:
        return []
    found = []
    for module_path, lost in _candidates(old, new, set(by_name)):
        module = old.lookup(module_path)
        if module is None or not module.is_module:
            continue
        for cls in _public_classes(module):
            for name in sorted(lost):
                if _gone(old, new, cls, name):
                    message = (
                        f"{cls.path}.{name}: was removed; your code calls .{name}() on an "
                        "object whose type it cannot see"
                    )
                    where = list(dict.fromkeys(by_name[name]))
                    found.append(
                        Breakage("possible", "object-removed", f"{cls.path}.{name}", message, where)
                    )
    return found


def _candidates(old: Api, new: Api, names: set[str]) -> list[tuple[str, set[str]]]:
    """(module path, method names defined fewer times in the new release), per module."""
    pattern = re.compile(
        r"^[ \t]+(?:async[ \t]+)?def[ \t]+(" + "|".join(map(re.escape, sorted(names))) + r")\s*\(",
        re.MULTILINE,
    )
    out: dict[str, set[str]] = {}
    for top in sorted(old.names):
        base = old.root / top
        files = sorted(base.rglob("*.py*")) if base.is_dir() else [base.with_suffix(".py")]
        for file in files:
            if file.suffix not in (".py", ".pyi") or not file.is_file():
                continue
            before = Counter(pattern.findall(_text(file)))
            if not before:
                continue
            twin = new.root / file.relative_to(old.root)
            after = Counter(pattern.findall(_text(twin))) if twin.is_file() else Counter()
            lost = {n for n, count in before.items() if count > after[n]}
            if lost:
                out.setdefault(_module_path(file.relative_to(old.root)), set()).update(lost)
    return sorted(out.items())


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _module_path(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _public_classes(module: griffe.Object) -> list[griffe.Object]:
    return [
        m
        for name, m in module.members.items()
        if not m.is_alias and m.is_class and not name.startswith("_")
    ]


def _gone(old: Api, new: Api, cls: griffe.Object, name: str) -> bool:
    """Whether ``cls`` defined method ``name`` and the class of the same path lost it."""
    own = cls.members.get(name)
    if own is None or own.is_alias or not own.is_function:
        return False
    twin = new.lookup(cls.path)
    if twin is None or not twin.is_class or new.member(twin, name) is not None:
        return False
    return not (new.external_bases(twin) - old.external_bases(cls))
