"""The runtime notices module a library ships: generated from the support facts, stdlib only.

``render`` writes the source of a small module (Python >= 3.8, standard library only, no
import of nox-compat) with one function, ``check(integration)``, that the library calls when
an integration is imported. It compares the installed version of the upstream with what was
tested and warns once per process:

- the version is known to fail (a failing cell inside the declared range, or a failing
  prerelease cell): "crewai 1.2.0 is known to fail with this library (…); use 1.1.2 or
  >= 1.3.0" — the advice names the passing versions around the bad one;
- the version is outside the tested range (lowest to highest passing): a milder "not tested"
  notice.

The installed version is read from the name of the package's ``.dist-info`` folder on
``sys.path`` (``importlib.metadata`` only when there is none: it costs tens of milliseconds
to import), and a version that passed is recognised by string comparison before anything is
parsed or imported: a good installation costs one directory listing. Versions are
compared by a small PEP 440 comparator in the generated module (epoch, release, pre, post,
dev). Its limits: local labels (``+cpu``) are ignored, and a string that is not a PEP 440
version is never warned about.
"""

from __future__ import annotations

import builtins
import json
import re
import textwrap
from collections.abc import Iterable
from pathlib import Path

from packaging.version import InvalidVersion, Version

from compat.errors import CompatError
from compat.metadata import FileUpdate, clean
from compat.support import Support
from compat.text import map_text

DEFAULT_DOC = "Runtime notices about the upstream versions this library was tested with."
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


class NoticesError(CompatError):
    """The notices module cannot be generated (a bad warning category); ready to print."""


def render(
    supports: Iterable[Support], *, category: str = "UserWarning", module_doc: str = DEFAULT_DOC
) -> str:
    """The source of the notices module for ``supports``.

    ``category`` is a built-in warning class (``UserWarning``, ``RuntimeWarning``…) or the
    dotted path of the library's own (``mylib.errors.CompatWarning``), imported only when a
    warning is emitted.
    """
    _check_category(category)
    supports = [map_text(support, clean) for support in supports]  # one printable line each
    facts = {support.integration: _facts(support) for support in supports}
    doc = clean(module_doc, 2000).replace("\\", "\\\\").replace('"""', "'''")
    doc = "\n".join(textwrap.wrap(doc, 76)) or DEFAULT_DOC
    return _TEMPLATE.format(
        doc=doc,
        category=_string(category),
        tested=_literal(facts),
    )


def _check_category(category: str) -> None:
    if not _DOTTED.fullmatch(category):
        raise NoticesError(
            f"warning category {category!r}: expected a built-in warning class such as "
            "UserWarning, or a dotted path such as mylib.errors.CompatWarning"
        )
    if "." not in category:
        found = getattr(builtins, category, None)
        if not (isinstance(found, type) and issubclass(found, Warning)):
            raise NoticesError(
                f"warning category {category!r} is not a built-in warning class; "
                "give the dotted path of your own (e.g. mylib.errors.CompatWarning)"
            )


def _facts(support: Support) -> dict:
    passing = sorted(support.passing, key=_version)
    bad: dict[str, list[str]] = {}
    for issue in support.known_bad:
        bad.setdefault(issue.version, [clean(issue.reason, 160), _advice(issue.version, passing)])
    for upcoming in support.next_breaking:
        if upcoming.source == "prerelease cell":
            bad.setdefault(
                upcoming.version, [clean(upcoming.reason, 160), _advice(upcoming.version, passing)]
            )
    return {
        "package": support.package,
        "lowest": support.lowest_passing,
        "highest": support.highest_passing,
        "passing": passing,
        "known_bad": dict(sorted(bad.items(), key=lambda item: _version(item[0]))),
    }


def _advice(bad: str, passing: list[str]) -> str:
    """The passing versions around ``bad``: "1.1.2 or >= 1.3.0", "1.1.2", ">= 1.3.0", ""."""
    below = [v for v in passing if _version(v) < _version(bad)]
    above = [v for v in passing if _version(v) > _version(bad)]
    choices = []
    if below:
        choices.append(below[-1])
    if above:
        choices.append(f">= {above[0]}")
    return " or ".join(choices)


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


def _string(text: str) -> str:
    """A double-quoted Python string literal (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


def _literal(facts: dict) -> str:
    """The facts as a Python literal, one key per line, stable for ruff and black."""
    lines = ["{"]
    for name, fact in facts.items():
        lines.append(f"    {_string(name)}: {{")
        for key in ("package", "lowest", "highest"):
            value = "None" if fact[key] is None else _string(fact[key])
            lines.append(f"        {_string(key)}: {value},")
        passing = ", ".join(_string(v) for v in fact["passing"])
        comma = "," if len(fact["passing"]) == 1 else ""
        lines.append(f'        "passing": ({passing}{comma}),')
        if fact["known_bad"]:
            lines.append('        "known_bad": {')
            for version, (reason, advice) in fact["known_bad"].items():
                lines.append(
                    f"            {_string(version)}: ({_string(reason)}, {_string(advice)}),"
                )
            lines.append("        },")
        else:
            lines.append('        "known_bad": {},')
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines)


def update_file(path: Path, source: str, name: str | None = None) -> FileUpdate:
    """The notices module at ``path`` compared with ``source`` (for ``--check``/``--write``)."""
    old = path.read_bytes() if path.is_file() else None
    return FileUpdate(path, name or path.name, old, source.encode("utf-8"))


_TEMPLATE = '''\
"""{doc}

Generated by nox-compat (`compat notices --write`) from the compatibility
matrix results: regenerate it, do not edit it. Standard library only;
Python >= 3.8.

Call ``check("<integration>")`` when an integration is imported. It warns
once per process when the installed upstream version is known to fail with
this library, or lies outside the versions tested with it. A tested version
costs one directory listing and nothing else.
"""

from __future__ import annotations

import warnings

__all__ = ["CATEGORY", "TESTED", "check"]

# The default warning category: a built-in name or a dotted path (imported
# when a warning is emitted).
CATEGORY = {category}

# fmt: off
# What the compatibility matrix found, per integration: the passing versions
# inside the declared range (lowest, highest, all of them) and the versions
# known to fail, each with (the reason, the passing versions around it).
TESTED = {tested}
# fmt: on

_checked = set()
_pattern = None


def check(integration: str, category: type | None = None) -> str | None:
    """Warn once per process when the installed upstream is bad or untested.

    ``category`` overrides ``CATEGORY``. Returns the message, or None when
    the installed version is fine or unknown, or was already checked.
    """
    if integration in _checked:
        return None
    _checked.add(integration)
    facts = TESTED.get(integration)
    if facts is None:
        return None
    installed = _installed(facts["package"])
    if installed is None or installed in facts["passing"]:
        return None
    message = _message(facts, installed)
    if message is not None:
        warnings.warn(message, category or _category(), stacklevel=2)
    return message


def _installed(package: str) -> str | None:
    """The installed version of ``package``, or None.

    Read from the first ``<name>-<version>.dist-info`` folder on sys.path;
    importlib.metadata (slow to import) only when there is none.
    """
    import os
    import sys

    wanted = package.lower().replace("-", "_").replace(".", "_")
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist, _, version = name[: -len(".dist-info")].partition("-")
                normal = dist.lower().replace("-", "_").replace(".", "_")
                if normal == wanted and version:
                    return version
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _message(facts: dict, installed: str) -> str | None:
    key = _key(installed)
    if key is None:
        return None
    package = facts["package"]
    for bad, (reason, advice) in facts["known_bad"].items():
        if _key(bad) == key:
            why = f" ({{reason}})" if reason else ""
            use = f"; use {{advice}}" if advice else ""
            msg = f"{{package}} {{installed}} is known to fail with this library"
            return msg + why + use
    lowest, highest = facts["lowest"], facts["highest"]
    if lowest is None or highest is None:
        return None
    tested = f"{{lowest}} - {{highest}}" if lowest != highest else lowest
    if key < _key(lowest):
        side = "older than"
    elif key > _key(highest):
        side = "newer than"
    else:
        return None
    note = f"{{package}} {{installed}} is {{side}} the versions tested with this"
    return f"{{note}} library ({{tested}}); it may work"


def _key(version: str) -> tuple | None:
    """A PEP 440 sort key (local labels ignored); None when not a version."""
    global _pattern
    if _pattern is None:
        import re

        _pattern = re.compile(
            r"v?(?:(\\d+)!)?(\\d+(?:\\.\\d+)*)"
            r"(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\\d*))?"
            r"(?:-(\\d+)|[-_.]?(post|rev|r)[-_.]?(\\d*))?"
            r"(?:[-_.]?(dev)[-_.]?(\\d*))?"
            r"(?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?",
            re.IGNORECASE,
        )
    match = _pattern.fullmatch(version.strip())
    if match is None:
        return None
    epoch, release, pre_l, pre_n = match.group(1, 2, 3, 4)
    post_n1, post_l, post_n2, dev_l, dev_n = match.group(5, 6, 7, 8, 9)
    numbers = [int(part) for part in release.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    phases = {{"alpha": 0, "a": 0, "beta": 1, "b": 1}}
    if pre_l:
        pre = (0, phases.get(pre_l.lower(), 2), int(pre_n or 0))
    elif dev_l and not (post_l or post_n1):
        pre = (-1, 0, 0)  # 1.0.dev1 sorts before 1.0a1
    else:
        pre = (1, 0, 0)
    if post_n1:
        post = (1, int(post_n1))
    elif post_l:
        post = (1, int(post_n2 or 0))
    else:
        post = (0, 0)
    dev = (0, int(dev_n or 0)) if dev_l else (1, 0)
    return (int(epoch or 0), tuple(numbers), pre, post, dev)


def _category() -> type[Warning]:
    if "." not in CATEGORY:
        import builtins

        return getattr(builtins, CATEGORY, UserWarning)
    module, _, name = CATEGORY.rpartition(".")
    try:
        import importlib

        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return UserWarning
'''
