"""``compat init``: a starting compat.toml guessed from pyproject.toml and the project's layout.

An upstream counts as an integration when an optional-dependency group (or a PEP 735
dependency group) is named after it, a module of the project is named after it (the module
is then its ``file``), or the project's own code imports it (a plugin *for* a package is the
commonest integration: ``pytest-foo`` imports ``pytest`` and ``foo``); backports of the
standard library never count. Development groups (dev, test, docs, lint, …) are never read
for integrations; the test ones (else dev), or a test requirements file, give
``test-requires``. Pythons are those the classifiers and requires-python allow that this
machine has (the missing ones are named). Each guess carries its reasons, and ``run`` prints
them: the maintainer confirms. ``min`` is left to the declared floor, which the matrix reads
from pyproject.toml. Nothing existing is ever overwritten; the noxfile and .gitignore are
only appended to when asked (``--edit``).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from compat.declared import lower_bound
from compat.errors import CompatError
from compat.fileio import write_atomic, write_atomic_bytes
from compat.index import IndexClient
from compat.matrix import read_toml
from compat.upstream.repo import find_repo
from compat.uses import NOT_CODE, extract, packages, project_code

CONFIG = "compat.toml"
IGNORE_LINE = ".compat/"
HOOK = ("import compat.nox", "compat.nox.register()")
DEV_GROUPS = {
    "all", "bench", "benchmark", "benchmarks", "build", "ci", "cov", "coverage", "dev",
    "develop", "development", "doc", "docs", "format", "full", "lint", "linting", "mypy",
    "release", "style", "test", "testing", "tests", "type", "types", "typing",
}  # fmt: skip
INTEGRATION_FOLDERS = {"integrations", "integration", "contrib", "ext", "extensions", "plugins"}
BACKPORTS = {"typing-extensions", "importlib-metadata", "importlib-resources", "exceptiongroup",
             "tomli", "dataclasses", "zipp", "typing"}  # fmt: skip
TEST_GROUPS = ("test", "tests", "testing")
DEV_ONLY_GROUPS = ("dev", "develop", "development")
REQUIREMENT_FILES = {
    "test": ("requirements-test.txt", "requirements-tests.txt", "requirements_test.txt",
             "test-requirements.txt", "requirements/test.txt", "requirements/tests.txt",
             "requirements/testing.txt"),
    "dev": ("requirements-dev.txt", "requirements_dev.txt", "dev-requirements.txt",
            "requirements/dev.txt"),
}  # fmt: skip
KNOWN_PYTHONS = tuple(f"3.{minor}" for minor in range(8, 15))


class InitError(CompatError):
    """``compat init`` cannot propose a matrix (one exists, no pyproject.toml, nothing found)."""


@dataclass(frozen=True)
class Guess:
    """One proposed integration and why."""

    name: str
    package: str
    declared_in: str  # "project.optional-dependencies.crewai"
    floor: str | None  # the declared lower bound, None when pyproject.toml has none
    with_: tuple[str, ...] = ()
    file: str | None = None
    repo: str | None = None
    tests: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    select: str | None = None  # None: the default (the integration's name)


@dataclass(frozen=True)
class Proposal:
    """What ``compat init`` guessed for a project, ready to render as compat.toml."""

    root: Path
    integrations: tuple[Guess, ...]
    python: tuple[str, ...] = ()
    python_reason: str = ""
    tests: tuple[str, ...] = ()
    tests_reason: str = ""
    test_requires: tuple[str, ...] = ()
    test_requires_reason: str = ""
    skipped: tuple[tuple[str, str], ...] = ()  # (requirement, why it is not an integration)
    noxfile: str = "absent"  # "absent" | "hooked" | "unhooked"
    ignored: bool = False  # .gitignore already has the .compat/ line

    def toml(self) -> str:
        """The compat.toml text; every guess commented with its reason."""
        out = [
            "# Written by `compat init` from pyproject.toml: check each guess, then run",
            "# `compat plan` to see the cells. Minimums come from the floors declared in",
            "# pyproject.toml unless `min` is set here.",
            "",
            "[settings]",
        ]
        if self.python:
            out += [f"# {self.python_reason}", f"python = {_list(self.python)}"]
        if self.tests:
            out += [f"# {self.tests_reason}", f"tests = {_list(self.tests)}"]
        elif self.tests_reason:
            out += [f"# {self.tests_reason}"]
        if self.test_requires:
            out += [
                f"# {self.test_requires_reason}",
                f"test-requires = {_list(self.test_requires)}",
            ]
        elif self.test_requires_reason:
            out += [f"# {self.test_requires_reason}"]
        for guess in self.integrations:
            out += ["", f"[integrations.{guess.name}]"]
            out += [f"# {reason}" for reason in guess.reasons]
            out.append(f"package = {_string(guess.package)}")
            if guess.floor is None:
                out.append('# min = "X.Y"  # no floor in pyproject.toml: declare one there or here')
            if guess.with_:
                out.append(f"with = {_list(guess.with_)}")
            if guess.tests:
                out.append(f"tests = {_list(guess.tests)}")
            if guess.select is not None:
                out.append(f"select = {_string(guess.select)}")
            if guess.repo:
                out.append(f"repo = {_string(guess.repo)}")
            if guess.file:
                out.append(f"file = {_string(guess.file)}")
        return "\n".join(out) + "\n"


def _string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def _list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(_string(item) for item in items) + "]"


# -- guessing ------------------------------------------------------------------------------------


def propose(root: Path, client: IndexClient | None = None) -> Proposal:
    """Read ``root``'s pyproject.toml and layout; ``client`` (optional) finds GitHub repos."""
    root = root.resolve()
    if (root / CONFIG).exists():
        raise InitError(f"{root / CONFIG} already exists; compat init never overwrites it")
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise InitError(f"no pyproject.toml in {root}: compat init reads the dependencies there")
    data = read_toml(pyproject)
    if "compat" in data.get("tool", {}):
        raise InitError(f"{pyproject} already has a [tool.compat] table")
    project = data.get("project", {})
    own = canonicalize_name(str(project.get("name", "")))
    modules = _modules(root)
    imports = _imports(root)
    tests_dir = next((root / d for d in ("tests", "test") if (root / d).is_dir()), None)

    guesses: dict[str, Guess] = {}
    seen: set[str] = set()
    skipped: list[tuple[str, str]] = []
    for where, group, requirements in _declarations(data):
        if group is not None and canonicalize_name(group) in DEV_GROUPS:
            continue
        parsed = [r for r in (_requirement(text) for text in requirements) if r is not None]
        parsed = [r for r in parsed if canonicalize_name(r.name) != own]
        for req in parsed:
            if canonicalize_name(req.name) in seen:
                continue
            guess = _guess(req, where, group, parsed, modules, imports, root, tests_dir)
            if isinstance(guess, str):
                skipped.append((str(req), guess))
            elif guess.name in guesses:
                skipped.append(
                    (
                        str(req),
                        f"the integration {guess.name} is already {guesses[guess.name].package}",
                    )
                )
            else:
                guesses[guess.name] = guess
                seen.add(canonicalize_name(req.name))
    if not guesses:
        checked = ", ".join(sorted({name for name, _ in skipped})) or "none"
        raise InitError(
            "no dependency in pyproject.toml looks like an upstream integration (an extra or a "
            "module named after it, or imported by the project's code); checked: "
            f"{checked}. Write compat.toml by hand (README)"
        )
    found = tuple(guesses.values())
    if client is not None:
        found = tuple(_with_repo(guess, client) for guess in found)
    python, python_reason = _pythons(project, root)
    tests, tests_reason = _settings_tests(root, tests_dir)
    test_requires, test_requires_reason = _test_requires(data, root, own, found)
    return Proposal(
        root=root,
        integrations=found,
        python=python,
        python_reason=python_reason,
        tests=tests,
        tests_reason=tests_reason,
        test_requires=test_requires,
        test_requires_reason=test_requires_reason,
        skipped=tuple(skipped),
        noxfile=_noxfile_state(root / "noxfile.py"),
        ignored=_ignored(root / ".gitignore"),
    )


def _declarations(data: dict) -> list[tuple[str, str | None, list[str]]]:
    """(where, group name or None, requirement strings) in pyproject order."""
    project = data.get("project", {})
    out: list[tuple[str, str | None, list[str]]] = [
        ("project.dependencies", None, _strings(project.get("dependencies")))
    ]
    for group, reqs in (project.get("optional-dependencies") or {}).items():
        out.append((f"project.optional-dependencies.{group}", group, _strings(reqs)))
    for group, reqs in (data.get("dependency-groups") or {}).items():
        out.append((f"dependency-groups.{group}", group, _strings(reqs)))  # include-group skipped
    return out


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _names(package: str) -> list[str]:
    """Module names that would be named after ``package``: crewai; langchain_core, langchain."""
    canonical = canonicalize_name(package)
    return list(dict.fromkeys([canonical.replace("-", "_"), canonical.split("-")[0]]))


def _guess(
    req: Requirement,
    where: str,
    group: str | None,
    group_reqs: list[Requirement],
    modules: dict[str, list[str]],
    imports: dict[str, list[str]],
    root: Path,
    tests_dir: Path | None,
) -> Guess | str:
    """The integration ``req`` stands for, or why it is not one."""
    names = _names(req.name)
    if _backport(req.name):
        return "a backport of the standard library, not an integration"
    group_key = canonicalize_name(group).replace("-", "_") if group else None
    reasons = []
    leader = _group_leader(group_key, group_reqs) if group_key else None
    if leader is not None and leader is not req:
        return f"co-installed with {leader.name} by the group `{group}`"
    named_group = leader is req
    if named_group:
        kind = "optional-dependency group" if where.startswith("project.") else "dependency group"
        reasons.append(f"the {kind} `{group}` is named after it")
    module = _module_for(names, modules)
    if module:
        reasons.append(f"the module {module} is named after it")
    imported = _imported(req.name, imports)
    if imported and not named_group:
        reasons.append(imported)
    if not reasons and group is not None and where.startswith("project.optional"):
        reasons.append(
            f"an optional dependency (the extra `{group}`): the library works without it"
        )
    if not reasons:
        return "no extra and no module named after it, and the project's code does not import it"
    floor = _floor(req)
    reasons.append(
        f"min: the floor {floor} declared in pyproject.toml ({where})"
        if floor
        else f"min: no floor declared for {req.name} in pyproject.toml ({where})"
    )
    with_ = ()
    if named_group:
        with_ = tuple(str(r) for r in group_reqs if r is not req)
        if with_:
            reasons.append(f"with: the other requirements of `{group}`, as the extra installs")
    if named_group:
        name = group_key
    elif module:
        name = (
            PurePosixPath(module).stem
            if not module.endswith("__init__.py")
            else module.split("/")[-2]
        )
    else:
        name = names[-1]
    tests = _integration_tests(tests_dir, root, {name, *names})
    if tests:
        reasons.append(
            f"tests: {', '.join(tests)}, named after it (instead of the settings' tests)"
        )
    select = None
    if imported and group is None and not module and not tests:
        select = ""
        reasons.append(
            "select: every test (a core dependency your code imports: all of them exercise "
            f"it; `-k {name}` would pick tests by their names)"
        )
    return Guess(
        name=canonicalize_name(name),
        package=req.name,
        declared_in=where,
        floor=floor,
        with_=with_,
        file=module,
        tests=tests,
        reasons=tuple(reasons),
        select=select,
    )


def _group_leader(group_key: str, reqs: list[Requirement]) -> Requirement | None:
    """The requirement a group is named after: an exact name first, then a prefix match."""
    exact = [r for r in reqs if _names(r.name)[0] == group_key]
    return (exact or [r for r in reqs if group_key in _names(r.name)] or [None])[0]


def _floor(req: Requirement) -> str | None:
    """The declared floor, as the matrix reads it (``==0.28.*`` gives 0.28)."""
    bounds = [bound for spec in req.specifier if (bound := lower_bound(spec)) is not None]
    return str(max(bounds)) if bounds else None


def _backport(package: str) -> bool:
    name = canonicalize_name(package)
    return name in BACKPORTS or name.startswith("backports")


def _import_names(package: str) -> list[str]:
    """The top-level modules a distribution provides: its installed metadata when this
    environment has it (PyYAML gives yaml), else the names it would be named after."""
    from importlib.metadata import packages_distributions

    wanted = canonicalize_name(package)
    installed = [
        module
        for module, dists in packages_distributions().items()
        if any(canonicalize_name(d) == wanted for d in dists)
    ]
    return list(dict.fromkeys([*_names(package), *sorted(installed)]))


def _imported(package: str, imports: dict[str, list[str]]) -> str | None:
    """Why the project's code counts as using ``package``: where it imports it."""
    for module in _import_names(package):
        places = imports.get(module)
        if places:
            more = f" and {len(places) - 2} more" if len(places) > 2 else ""
            return f"the project's code imports {module} ({', '.join(places[:2])}{more})"
    return None


def _modules(root: Path) -> dict[str, list[str]]:
    """Module name -> paths (relative, posix) of the modules and sub-packages in the packages."""
    modules: dict[str, list[str]] = {}
    for package in packages(root):
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(package).parts
            if any(p in NOT_CODE or p.startswith(".") for p in parts[:-1]):
                continue
            if path.name == "__init__.py":
                if len(parts) == 1:
                    continue  # the project's own top-level package
                name = parts[-2]
            else:
                name = path.stem
            modules.setdefault(name, []).append(path.relative_to(root).as_posix())
    return modules


def _imports(root: Path) -> dict[str, list[str]]:
    """Top-level module -> where the project's code imports it (``src/pkg/mod.py:3``); its
    imports of itself (``opentelemetry.instrumentation.httpx`` in a namespace package) left out."""
    files = project_code(root)
    own = {_dotted(path, root) for path in files}
    found: dict[str, list[str]] = {}
    for path in files:
        where = path.relative_to(root).as_posix()
        try:
            uses = extract(path.read_text(encoding="utf-8", errors="replace"), where)
        except (SyntaxError, ValueError):
            continue  # not ours to judge here; the tests will say
        for use in uses:
            parts = use.path.split(".")
            if use.kind == "import" and not any(
                ".".join(parts[:n]) in own for n in range(1, len(parts) + 1)
            ):
                places = found.setdefault(use.root, [])
                if use.where not in places:
                    places.append(use.where)
    return found


def _dotted(path: Path, root: Path) -> str:
    """The module name of one of the project's files: ``src/a/b/__init__.py`` gives ``a.b``."""
    base = root / "src" if (root / "src") in path.parents else root
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_for(names: list[str], modules: dict[str, list[str]]) -> str | None:
    """The best module named after the package: in an integrations folder first, then shortest."""
    paths = [path for name in names for path in modules.get(name, [])]
    if not paths:
        return None

    def rank(path: str) -> tuple[int, int, str]:
        folders = set(path.split("/")[:-1])
        return (0 if folders & INTEGRATION_FOLDERS else 1, path.count("/"), path)

    return min(paths, key=rank)


def _integration_tests(tests_dir: Path | None, root: Path, names: set[str]) -> tuple[str, ...]:
    if tests_dir is None:
        return ()
    found = []
    for path in sorted(tests_dir.rglob("test_*.py")):
        stem = path.stem.removeprefix("test_")
        if stem in names or any(stem.startswith(f"{n}_") for n in names):
            found.append(path.relative_to(root).as_posix())
    return tuple(found)


def _settings_tests(root: Path, tests_dir: Path | None) -> tuple[tuple[str, ...], str]:
    if tests_dir is None:
        return (), (
            "no tests/ folder: write smoke tests of the upstream APIs you use and list them "
            "in `tests` (default tests/integration/test_smoke.py)"
        )
    for folder in ("integration", "integrations"):
        smoke = tests_dir / folder / "test_smoke.py"
        if smoke.is_file():
            return (smoke.relative_to(root).as_posix(),), "tests: the smoke tests found"
        if (tests_dir / folder).is_dir():
            path = (tests_dir / folder).relative_to(root).as_posix()
            return (path,), f"tests: the {path}/ folder"
    name = tests_dir.name
    return (name,), f"tests: all of {name}/ (narrow it to the tests of the integrations)"


def _pythons(project: dict, root: Path) -> tuple[tuple[str, ...], str]:
    """The newest two Pythons that the classifiers list and requires-python allows (without
    classifiers: the CPython releases it allows) and that this machine has."""
    from compat.environment import find_python

    listed = set()
    for classifier in project.get("classifiers", []) or []:
        match = re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", str(classifier))
        if match:
            listed.add(match.group(1))
    try:
        requires = SpecifierSet(str(project.get("requires-python", "")))
    except InvalidSpecifier:
        requires = SpecifierSet()
    if not listed and not str(requires):
        return (), ""
    candidates = sorted(listed or KNOWN_PYTHONS, key=lambda v: int(v.split(".")[1]))
    allowed = [p for p in candidates if requires.contains(f"{p}.0") or requires.contains(f"{p}.99")]
    source = " and ".join(
        part
        for part in (
            "the classifiers" if listed else "",
            f"requires-python {requires}" if str(requires) else "",
        )
        if part
    )
    present = [p for p in allowed if find_python(p, root) is not None]
    missing = [p for p in allowed if p not in present]
    chosen = tuple(present[-2:])
    if chosen:
        reason = f"python: the newest two Pythons that {source} allow and this machine has"
    else:
        reason = f"python: none of the Pythons that {source} allow is on this machine"
    if missing:
        reason += (
            f"; not found here: {', '.join(missing)} (`uv python install X.Y` to test them too)"
        )
    return chosen, reason


def _test_requires(
    data: dict, root: Path, own: str, integrations: tuple[Guess, ...]
) -> tuple[tuple[str, ...], str]:
    """The project's own test requirements: a test extra or dependency group, else a test
    requirements file, else the dev ones; without the packages the cells pin."""
    project = data.get("project", {})
    extras = project.get("optional-dependencies") or {}
    groups = data.get("dependency-groups") or {}
    found: tuple[str, list[str]] | None = None
    for kind, names in (("test", TEST_GROUPS), ("dev", DEV_ONLY_GROUPS)):
        for name in names:
            if isinstance(groups.get(name), list):
                found = (f"the dependency group `{name}`", _group(groups, name, set()))
            elif isinstance(extras.get(name), list):
                found = (f"the extra `{name}`", _extra(extras, name, own, set()))
            if found:
                break
        for relative in REQUIREMENT_FILES[kind] if found is None else ():
            if (root / relative).is_file():
                found = (relative, _requirement_file(root / relative, set()))
                break
        if found:
            break
    if found is None:
        return (), "test-requires: no test extra, dependency group or requirements file found"
    source, texts = found
    pinned = {canonicalize_name(g.package) for g in integrations}
    kept, dropped = [], []
    for text in dict.fromkeys(texts):
        req = _requirement(text)
        if req is None or canonicalize_name(req.name) == own:
            continue
        (dropped if canonicalize_name(req.name) in pinned else kept).append(text)
    reason = f"test-requires: from {source}"
    if dropped:
        reason += f" (without {', '.join(dropped)}: each cell pins its integration)"
    if "pytest" not in pinned and not any(
        canonicalize_name(r.name) == "pytest" for r in map(_requirement, kept) if r
    ):
        kept.insert(0, "pytest")
        reason += "; pytest added: the cells run it"
    return tuple(kept), reason


def _group(groups: dict, name: str, seen: set[str]) -> list[str]:
    """A PEP 735 dependency group with its ``{include-group = …}`` entries expanded."""
    if name in seen:
        return []
    seen.add(name)
    out: list[str] = []
    for item in groups.get(name) or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            out += _group(groups, item["include-group"], seen)
    return out


def _extra(extras: dict, name: str, own: str, seen: set[str]) -> list[str]:
    """An extra, with the project's own extras it names (``mylib[test,lint]``) expanded."""
    if name in seen:
        return []
    seen.add(name)
    out: list[str] = []
    for text in _strings(extras.get(name)):
        req = _requirement(text)
        if req is not None and canonicalize_name(req.name) == own:
            for extra in sorted(req.extras):
                out += _extra(extras, extra, own, seen)
        else:
            out.append(text)
    return out


def _requirement_file(path: Path, seen: set[Path]) -> list[str]:
    """The requirements of a pip requirements file (``-r`` followed; options, editables,
    paths and URLs left out)."""
    if path in seen or not path.is_file():
        return []
    seen.add(path)
    out: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).strip()
        included = re.match(r"^(-r|--requirement)[\s=]+(\S+)", line)
        if included:
            out += _requirement_file(path.parent / included.group(2), seen)
        elif line and not line.startswith("-") and _requirement(line) is not None:
            out.append(line)
    return out


def _with_repo(guess: Guess, client: IndexClient) -> Guess:
    try:
        repo = find_repo(client, client.project(guess.package))
    except CompatError as exc:
        reason = f"repo: not found ({exc})"
        repo = None
    else:
        reason = (
            "repo: from the project URLs on the index"
            if repo
            else "repo: no GitHub URL in the project URLs on the index"
        )
    return replace(guess, repo=repo, reasons=(*guess.reasons, reason))


def _noxfile_state(path: Path) -> str:
    if not path.is_file():
        return "absent"
    text = path.read_text(encoding="utf-8", errors="replace")
    return "hooked" if "compat.nox" in text and "register(" in text else "unhooked"


def _ignored(path: Path) -> bool:
    if not path.is_file():
        return False
    lines = {
        line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
    }
    return bool(lines & {".compat", ".compat/", "/.compat", "/.compat/"})


# -- writing -------------------------------------------------------------------------------------


def write(proposal: Proposal, *, edit: bool = False) -> list[str]:
    """Write compat.toml (never over an existing file); with ``edit`` also add the noxfile
    hook and the .gitignore line. Returns what was done, one line each."""
    path = proposal.root / CONFIG
    if path.exists():
        raise InitError(f"{path} already exists; compat init never overwrites it")
    write_atomic(path, proposal.toml())
    done = [f"wrote {CONFIG}"]
    if edit and proposal.noxfile == "unhooked":
        noxfile = proposal.root / "noxfile.py"
        write_atomic_bytes(noxfile, add_hook(noxfile.read_bytes()))
        done.append("added the compat hook to noxfile.py")
    if edit and not proposal.ignored:
        gitignore = proposal.root / ".gitignore"
        old = gitignore.read_bytes() if gitignore.is_file() else b""
        newline = b"\r\n" if b"\r\n" in old else b"\n"
        sep = newline if old and not old.endswith(b"\n") else b""
        write_atomic_bytes(gitignore, old + sep + IGNORE_LINE.encode() + newline)
        done.append(f"added {IGNORE_LINE} to .gitignore")
    return done


def add_hook(source: bytes) -> bytes:
    """The noxfile with ``import compat.nox`` after its imports and ``register()`` at the end."""
    text = source.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise InitError(f"noxfile.py: not valid Python ({exc.msg}); add the hook by hand") from None
    after = 0  # the number of lines taken by the leading docstring and imports
    for index, node in enumerate(tree.body):
        docstring = (
            index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        )
        if not (docstring or isinstance(node, (ast.Import, ast.ImportFrom))):
            break
        after = node.end_lineno or after
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    head, tail = "".join(lines[:after]), "".join(lines[after:])
    if head and not head.endswith("\n"):
        head += newline
    body = (head + HOOK[0] + newline + tail).rstrip("\r\n")
    return (body + newline + newline + HOOK[1] + newline).encode("utf-8")


# -- `compat init` ------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", default=".", help="the project folder with pyproject.toml (default: .)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the proposed compat.toml; write nothing"
    )
    parser.add_argument(
        "--edit",
        action="store_true",
        help="also add the hook to an existing noxfile.py and .compat/ to .gitignore",
    )
    parser.add_argument("--index-url", help="find GitHub repos from the project URLs on this index")
    parser.add_argument(
        "--no-index", action="store_true", help="do not look up GitHub repos on the index"
    )


def run(args: argparse.Namespace) -> int:
    from compat.uvconfig import find_index

    root = Path(args.root)
    client = None
    if not args.no_index:
        index = find_index(root, args.index_url, "--index-url")
        client = IndexClient(index.url, offline=getattr(args, "offline", False))
    proposal = propose(root, client)
    print(describe(proposal))
    if args.dry_run:
        print(f"\n--- {CONFIG} (not written) ---\n{proposal.toml()}", end="")
        return 0
    for line in write(proposal, edit=args.edit):
        print(line)
    print(next_steps(proposal, edited=args.edit))
    return 0


def describe(proposal: Proposal) -> str:
    """What was guessed and why, for the terminal."""
    lines = []
    for guess in proposal.integrations:
        where = f" ({guess.file})" if guess.file else ""
        lines.append(f"{guess.name}: {guess.package}{where}")
        lines += [f"  - {reason}" for reason in guess.reasons]
    for requirement, why in proposal.skipped:
        lines.append(f"not an integration: {requirement} ({why})")
    for reason in (proposal.python_reason, proposal.tests_reason, proposal.test_requires_reason):
        if reason:
            lines.append(reason)
    return "\n".join(lines)


def next_steps(proposal: Proposal, *, edited: bool = False) -> str:
    lines = ["", "Next:"]
    if proposal.noxfile == "unhooked" and not edited:
        lines.append("  add to noxfile.py (or rerun with --edit):")
        lines += [f"      {line}" for line in HOOK]
    elif proposal.noxfile == "absent":
        lines.append("  for nox sessions, create noxfile.py with:")
        lines += ["      import nox", *(f"      {line}" for line in HOOK)]
    if not proposal.ignored and not edited:
        lines.append(f"  add {IGNORE_LINE} to .gitignore (virtualenvs and results live there)")
    lines.append("  check the guesses in compat.toml, then run `compat plan`")
    return "\n".join(lines)
