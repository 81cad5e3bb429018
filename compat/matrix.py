"""Read and validate the compatibility matrix (compat.toml or ``[tool.compat]``).

Every error names the file, the line, the key and what was expected; paths the matrix names
must exist. The declared range of each upstream comes from pyproject.toml (``compat.declared``).
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from compat.declared import DeclaredRange, declared_range
from compat.errors import CompatError
from compat.text import environment_redactor
from compat.uvconfig import PUBLIC_INDEX, IndexSetting, find_index

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_NAME = 50  # integration names become session and file names
PYTHON_RE = re.compile(r"^3\.\d+$")
DEPRECATION_MODES = ("usage", "all")

__all__ = ["PUBLIC_INDEX", "ConfigError", "Integration", "Matrix", "Policy", "Settings", "load"]


class ConfigError(CompatError):
    """A problem in the user's configuration; the message is ready to print, with every
    credential in it hidden (a bad index URL, a requirement with a token, …)."""

    def __init__(self, message: str) -> None:
        super().__init__(environment_redactor()(message))


@dataclass(frozen=True)
class Policy:
    majors: int = 2
    minors: int = 2


@dataclass(frozen=True)
class Settings:
    python: tuple[str, ...]
    tests: tuple[str, ...] = ("tests/integration/test_smoke.py",)
    test_requires: tuple[str, ...] = ("pytest>=8",)
    install_project: bool = True
    results_dir: str = ".compat/results"
    docs: str = "docs/compatibility-matrix.md"
    index: IndexSetting = field(
        default_factory=lambda: IndexSetting(PUBLIC_INDEX, "default", False)
    )
    prereleases: bool = False
    timeout: float = 900.0
    policy: Policy = field(default_factory=Policy)
    pass_env: tuple[str, ...] = ()
    deprecations: str = "usage"  # "usage": only warnings about APIs you call; "all"
    notices: str | None = None  # path of the generated runtime-notices module
    notices_category: str = "UserWarning"
    snapshot: str = ""  # see the index as it was then (RFC 3339, UTC); "" = now
    audit: int = 1  # reusable verdicts re-run per sweep to check the reuse key
    reuse_networked: bool = False  # reuse verdicts whose tests used the network
    ci_jobs: int = 4  # the weekly workflow runs the cells in at most this many jobs
    range_updates: bool = True  # `compat pull-request` proposes the range edits verdicts justify
    refresh: bool = False  # not a key: ask the index again even when cached pages are fresh

    @property
    def index_url(self) -> str:
        return self.index.url


@dataclass(frozen=True)
class Integration:
    name: str
    package: str
    min: str
    min_source: str  # where the minimum was declared, e.g. "pyproject.toml:12"
    python: tuple[str, ...]
    select: str
    tests: tuple[str, ...]
    versions: SpecifierSet | None = None
    with_: tuple[str, ...] = ()
    deps: tuple[tuple[SpecifierSet, tuple[str, ...]], ...] = ()
    repo: str | None = None
    file: str | None = None
    declared: DeclaredRange = field(default_factory=lambda: DeclaredRange(""))

    def requirements(self, version: str) -> list[str]:
        """The integration's own requirements at ``version``: the pin, ``with`` and ``deps``."""
        reqs = [f"{self.package}=={version}", *self.with_]
        for spec, extra in self.deps:
            if spec.contains(version, prereleases=True):
                reqs.extend(extra)
        return reqs


@dataclass(frozen=True)
class Matrix:
    root: Path
    source: Path
    settings: Settings
    integrations: tuple[Integration, ...]
    notes: tuple[str, ...] = ()  # things worth saying once (which file was used, …)

    def integration(self, name: str) -> Integration:
        for integ in self.integrations:
            if integ.name == name:
                return integ
        raise ConfigError(
            f"{self.source}: no integration named {name!r}"
            f"{_did_you_mean(name, [i.name for i in self.integrations])}"
        )

    @property
    def results_dir(self) -> Path:
        return self.root / self.settings.results_dir

    @property
    def docs_path(self) -> Path:
        return self.root / self.settings.docs

    @property
    def state_dir(self) -> Path:
        """``.compat/``: virtualenvs, locks and results of this project (ignored by git)."""
        return self.root / ".compat"


def parse_snapshot(text: str) -> str:
    """``2026-11-01`` or an RFC 3339 time -> ``2026-11-01T00:00:00Z`` (UTC); ValueError."""
    value = text.strip()
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def seeing(matrix: Matrix, *, snapshot: str | None = None, refresh: bool = False) -> Matrix:
    """``matrix`` seeing the index as it was at ``snapshot``, or as it is right now."""
    settings = matrix.settings
    if snapshot:
        settings = replace(settings, snapshot=parse_snapshot(snapshot))
    if refresh:
        settings = replace(settings, refresh=True)
    return replace(matrix, settings=settings)


def find_config(start: Path | None = None) -> Path:
    """The nearest compat.toml, or a pyproject.toml with ``[tool.compat]``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "compat.toml").is_file():
            return folder / "compat.toml"
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "compat" in read_toml(pyproject).get("tool", {}):
            return pyproject
    raise ConfigError(
        f"no compat.toml (or [tool.compat] in pyproject.toml) in {here} or its parents; "
        "pass --config or see the README for its tables"
    )


def load(path: str | Path | None = None) -> Matrix:
    """Load and validate the matrix at ``path`` (default: found from the cwd)."""
    source = Path(path).resolve() if path else find_config()
    if not source.is_file():
        raise ConfigError(f"{source}: no such file")
    data = read_toml(source)
    prefix: tuple[str, ...] = ()
    notes = []
    pyproject = source.parent / "pyproject.toml"
    if source.name == "pyproject.toml":
        if "compat" not in data.get("tool", {}):
            raise ConfigError(f"{source}: no [tool.compat] table")
        data, prefix = data["tool"]["compat"], ("tool", "compat")
    elif pyproject.is_file() and "compat" in read_toml(pyproject).get("tool", {}):
        notes.append(
            f"using {source.name}; the [tool.compat] table in pyproject.toml is ignored "
            "(keep one of the two)"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a table of settings and integrations")
    matrix = _Loader(source, prefix).matrix(data)
    return Matrix(matrix.root, matrix.source, matrix.settings, matrix.integrations, tuple(notes))


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def locate(text: str, keys: tuple[str, ...]) -> int:
    """Best-effort line (1-based) of a dotted key path in TOML text; 1 when not found."""
    best = 1
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if header := re.match(r"^\[\[?([^\]]+)\]\]?", line):
            table = tuple(_split_key(header.group(1)))
            if table == keys[: len(table)] and len(table) <= len(keys):
                best = number
                if table == keys:
                    return number
            continue
        if key := re.match(r"^([A-Za-z0-9_.\"' -]+?)\s*=", line):
            full = table + tuple(_split_key(key.group(1)))
            if full == keys[: len(full)]:
                return number
    return best


def _split_key(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', key)]


_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    list: "a list", dict: "a table",
}  # fmt: skip


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return f"{value!r} ({name})"[:120]
    return repr(value)[:120]


@dataclass
class _Reader:
    """Typed access to the TOML tables; every error carries the file and line."""

    source: Path
    prefix: tuple[str, ...]

    def __post_init__(self) -> None:
        self.text = self.source.read_text(encoding="utf-8")

    def where(self, keys: tuple[str, ...]) -> str:
        return f"{self.source.name}:{locate(self.text, self.prefix + keys)}"

    def error(self, keys: tuple[str, ...], message: str) -> ConfigError:
        full = self.prefix + keys
        line = locate(self.text, full)
        return ConfigError(f"{self.source}:{line}: {'.'.join(full)}: {message}")

    def check_keys(self, table: dict[str, Any], allowed: Iterable[str], at: tuple[str, ...]):
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                hint = _did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
                raise self.error((*at, key), f"unknown key{hint}")

    def get(self, table: dict, at: tuple[str, ...], key: str, kind: type | tuple, default=None):
        if key not in table:
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(_TYPE_NAMES[k] for k in kinds)
            raise self.error((*at, key), f"expected {names}, got {_describe(value)}")
        return value

    def strings(self, table: dict, at: tuple[str, ...], key: str, default=None, check=None):
        value = self.get(table, at, key, list, None)
        if value is None:
            return default
        for item in value:
            if not isinstance(item, str):
                raise self.error((*at, key), f"expected a list of strings, got {_describe(item)}")
            if check:
                check((*at, key), item)
        return tuple(value)

    def requirement(self, at: tuple[str, ...], item: str) -> None:
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            raise self.error(at, f"invalid requirement {item!r}: {exc}") from None

    def python(self, at: tuple[str, ...], item: str) -> None:
        if not PYTHON_RE.match(item):
            raise self.error(at, f"expected a Python version like '3.12', got {item!r}")

    def path(self, root: Path):
        """A check that each test path exists (``path::node`` allowed)."""

        def check(at: tuple[str, ...], item: str) -> None:
            target = item.split("::", 1)[0]
            if not (root / target).exists():
                raise self.error(at, f"{target} does not exist (in {root})")

        return check

    def specifier(self, at: tuple[str, ...], text: str) -> SpecifierSet:
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            raise self.error(
                at, f"invalid version specifier {text!r} (e.g. '>=1.2,!=1.3.0')"
            ) from None

    def positive(self, table: dict, at: tuple[str, ...], key: str) -> int:
        value = self.get(table, at, key, int)
        if value < 1:
            raise self.error((*at, key), f"expected a positive integer, got {value}")
        return value


@dataclass
class _Loader:
    """The schema: [settings], [settings.policy], [integrations.NAME]."""

    source: Path
    prefix: tuple[str, ...]

    def __post_init__(self) -> None:
        self.read = _Reader(self.source, self.prefix)
        self.root = self.source.parent

    def matrix(self, data: dict[str, Any]) -> Matrix:
        read = self.read
        read.check_keys(data, ["settings", "integrations"], ())
        settings = self.settings(read.get(data, (), "settings", dict, {}))
        integrations = read.get(data, (), "integrations", dict, {})
        if not integrations:
            raise read.error(
                ("integrations",),
                "the matrix is empty: declare at least one [integrations.NAME] table "
                "with a `package`",
            )
        pyproject_path = self.root / "pyproject.toml"
        pyproject = read_toml(pyproject_path) if pyproject_path.is_file() else {}
        lines = pyproject_path.read_text(encoding="utf-8").splitlines() if pyproject else []
        items = tuple(
            self.integration(name, table, settings, pyproject, lines)
            for name, table in integrations.items()
        )
        return Matrix(self.root, self.source, settings, items)

    def settings(self, table: dict[str, Any]) -> Settings:
        read, at = self.read, ("settings",)
        read.check_keys(table, _SETTINGS_KEYS, at)
        policy_table = read.get(table, at, "policy", dict, {})
        read.check_keys(policy_table, ["majors", "minors"], (*at, "policy"))
        policy = Policy(
            **{
                key: read.positive(policy_table, (*at, "policy"), key)
                for key in ("majors", "minors")
                if key in policy_table
            }
        )
        timeout = read.get(table, at, "timeout", (int, float), 900)
        if not math.isfinite(timeout) or timeout <= 0:
            raise read.error(
                (*at, "timeout"), f"expected a positive number of seconds, got {timeout}"
            )
        index_url = read.get(table, at, "index-url", str, None)
        if index_url is not None and not _is_url(index_url):
            raise read.error(
                (*at, "index-url"),
                f"expected an http(s) or file URL such as 'https://pypi.org/simple', got {index_url!r}",
            )
        deprecations = read.get(table, at, "deprecations", str, "usage")
        if deprecations not in DEPRECATION_MODES:
            raise read.error(
                (*at, "deprecations"),
                f"expected 'usage' (warnings about APIs your code calls) or 'all', got {deprecations!r}",
            )
        current = f"{sys.version_info.major}.{sys.version_info.minor}"
        where = read.where((*at, "index-url"))
        snapshot = read.get(table, at, "snapshot", str, "")
        if snapshot:
            try:
                snapshot = parse_snapshot(snapshot)
            except ValueError:
                raise read.error(
                    (*at, "snapshot"),
                    f"expected a date like '2026-11-01' or an RFC 3339 time, got {snapshot!r}",
                ) from None
        return Settings(
            python=read.strings(table, at, "python", (current,), read.python),
            tests=read.strings(table, at, "tests", Settings.tests, read.path(self.root)),
            test_requires=read.strings(
                table, at, "test-requires", Settings.test_requires, read.requirement
            ),
            install_project=read.get(table, at, "install-project", bool, True),
            results_dir=read.get(table, at, "results-dir", str, Settings.results_dir),
            docs=read.get(table, at, "docs", str, Settings.docs),
            index=find_index(self.root, index_url, where),
            prereleases=read.get(table, at, "prereleases", bool, False),
            timeout=float(timeout),
            policy=policy,
            pass_env=read.strings(table, at, "pass-env", ()),
            deprecations=deprecations,
            notices=read.get(table, at, "notices", str, None),
            notices_category=read.get(table, at, "notices-category", str, "UserWarning"),
            snapshot=snapshot,
            audit=self.count(table, at, "audit", 1),
            reuse_networked=read.get(table, at, "reuse-networked", bool, False),
            ci_jobs=self.ci_jobs(table, at),
            range_updates=read.get(table, at, "range-updates", bool, True),
        )

    def count(self, table: dict, at: tuple[str, ...], key: str, default: int) -> int:
        value = self.read.get(table, at, key, int, default)
        if value < 0:
            raise self.read.error((*at, key), f"expected 0 or a positive integer, got {value}")
        return value

    def ci_jobs(self, table: dict[str, Any], at: tuple[str, ...]) -> int:
        """``ci-jobs``: 1 to 256 (GitHub's limit of jobs per matrix)."""
        if "ci-jobs" not in table:
            return Settings.ci_jobs
        value = self.read.positive(table, at, "ci-jobs")
        if value > MAX_CI_JOBS:
            raise self.read.error(
                (*at, "ci-jobs"), f"expected at most {MAX_CI_JOBS} (GitHub's limit), got {value}"
            )
        return value

    def integration(
        self, name: str, table: Any, settings: Settings, pyproject: dict, lines: list[str]
    ) -> Integration:
        read, at = self.read, ("integrations", name)
        if not isinstance(table, dict):
            raise read.error(at, f"expected a table [integrations.{name}], got {_describe(table)}")
        if not NAME_RE.match(name) or len(name) > MAX_NAME:
            raise read.error(
                at,
                f"integration names must be lowercase identifiers matching [a-z0-9][a-z0-9_-]* "
                f"of at most {MAX_NAME} characters (they become nox session and file names)",
            )
        read.check_keys(table, _INTEGRATION_KEYS, at)
        package = read.get(table, at, "package", str)
        if not package:
            raise read.error(
                (*at, "package"),
                'missing: the distribution name on the index, e.g. package = "crewai"',
            )
        if not re.match(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$", package):
            raise read.error(
                (*at, "package"),
                f"expected a distribution name, got {package!r} (put extras and other "
                "packages in `with`)",
            )
        pythons = read.strings(table, at, "python", settings.python, read.python)
        declared = declared_range(package, pyproject, lines, "pyproject.toml")
        if "min" in table:
            minimum = read.get(table, at, "min", str)
            try:
                Version(minimum)
            except InvalidVersion:
                raise read.error((*at, "min"), f"not a valid version: {minimum!r}") from None
            min_source = read.where((*at, "min"))
        else:
            found = declared.floor(pythons)
            if found is None:
                raise read.error(
                    at,
                    f"no minimum version for {package!r}: declare a lower bound such as "
                    f"'{package}>=X.Y' in pyproject.toml [project] dependencies, "
                    "optional-dependencies or dependency-groups, or set `min` here",
                )
            minimum, min_source = found
        versions = read.get(table, at, "versions", str)
        deps: list[tuple[SpecifierSet, tuple[str, ...]]] = []
        for spec, reqs in read.get(table, at, "deps", dict, {}).items():
            where = (*at, "deps")
            if not isinstance(reqs, list) or not all(isinstance(r, str) for r in reqs):
                raise read.error(where, f"expected a list of requirements for {spec!r}")
            for req in reqs:
                read.requirement(where, req)
            deps.append((read.specifier(where, spec), tuple(reqs)))
        repo = read.get(table, at, "repo", str)
        if repo is not None and not re.match(r"^[\w.-]+/[\w.-]+$", repo):
            raise read.error((*at, "repo"), f"expected a GitHub 'owner/name', got {repo!r}")
        tests = read.strings(table, at, "tests", settings.tests, read.path(self.root))
        missing = [t for t in tests if not (self.root / t.split("::", 1)[0]).exists()]
        if missing:  # the default of settings.tests, never checked above
            raise read.error(
                at,
                f"no tests: {missing[0]} (the default of settings.tests) does not exist in "
                f"{self.root}; set `tests` in [settings] or here",
            )
        file = read.get(table, at, "file", str)
        if file is not None and not (self.root / file).is_file():
            raise read.error((*at, "file"), f"{file} does not exist (in {self.root})")
        return Integration(
            name=name,
            package=package,
            min=minimum,
            min_source=min_source,
            python=pythons,
            select=read.get(table, at, "select", str, name),
            tests=tests,
            versions=read.specifier((*at, "versions"), versions) if versions else None,
            with_=read.strings(table, at, "with", (), read.requirement),
            deps=tuple(deps),
            repo=repo,
            file=file,
            declared=declared,
        )


def _is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https", "file") and bool(parts.netloc or parts.path)


_SETTINGS_KEYS = [
    "python", "tests", "test-requires", "install-project", "results-dir", "docs",
    "index-url", "prereleases", "timeout", "policy", "pass-env", "deprecations",
    "notices", "notices-category", "snapshot", "audit", "reuse-networked",
    "ci-jobs", "range-updates",
]  # fmt: skip
MAX_CI_JOBS = 256
_INTEGRATION_KEYS = [
    "package", "min", "versions", "python", "select", "tests", "with", "deps", "repo", "file",
]  # fmt: skip
