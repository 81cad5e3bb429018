"""Read and validate the compatibility matrix (compat.toml or ``[tool.compat]``).

Every error names the file, the line, the key and what was expected.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat.errors import CompatError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
PYTHON_RE = re.compile(r"^3\.\d+$")
PUBLIC_INDEX = "https://pypi.org/simple"


class ConfigError(CompatError):
    """A problem in the user's configuration; the message is ready to print."""


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
    index_url: str = PUBLIC_INDEX
    prereleases: bool = False
    timeout: float = 900.0
    policy: Policy = field(default_factory=Policy)


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

    def requirements(self, version: str) -> list[str]:
        """What a cell of this integration at ``version`` installs (besides the project)."""
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
    if source.name == "pyproject.toml":
        if "compat" not in data.get("tool", {}):
            raise ConfigError(f"{source}: no [tool.compat] table")
        data, prefix = data["tool"]["compat"], ("tool", "compat")
    return _Loader(source, prefix).matrix(data)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
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


@dataclass
class _Loader:
    source: Path
    prefix: tuple[str, ...]

    def __post_init__(self) -> None:
        self.text = self.source.read_text(encoding="utf-8")

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

    def check_requirement(self, at: tuple[str, ...], item: str) -> None:
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            raise self.error(at, f"invalid requirement {item!r}: {exc}") from None

    def check_python(self, at: tuple[str, ...], item: str) -> None:
        if not PYTHON_RE.match(item):
            raise self.error(at, f"expected a Python version like '3.12', got {item!r}")

    def specifier(self, at: tuple[str, ...], text: str) -> SpecifierSet:
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            raise self.error(
                at, f"invalid version specifier {text!r} (e.g. '>=1.2,!=1.3.0')"
            ) from None

    def matrix(self, data: dict[str, Any]) -> Matrix:
        self.check_keys(data, ["settings", "integrations"], ())
        settings = self.settings(self.get(data, (), "settings", dict, {}))
        integrations = self.get(data, (), "integrations", dict, {})
        if not integrations:
            raise self.error(
                ("integrations",),
                "the matrix is empty: declare at least one [integrations.NAME] table "
                "with a `package`",
            )
        pyproject = _Pyproject.read(self.source.parent / "pyproject.toml")
        items = tuple(
            self.integration(name, table, settings, pyproject)
            for name, table in integrations.items()
        )
        return Matrix(self.source.parent, self.source, settings, items)

    def settings(self, table: dict[str, Any]) -> Settings:
        at = ("settings",)
        self.check_keys(table, _SETTINGS_KEYS, at)
        policy_table = self.get(table, at, "policy", dict, {})
        self.check_keys(policy_table, ["majors", "minors"], (*at, "policy"))
        policy = Policy(
            **{
                key: self.positive(policy_table, (*at, "policy"), key)
                for key in ("majors", "minors")
                if key in policy_table
            }
        )
        timeout = self.get(table, at, "timeout", (int, float), 900)
        if timeout <= 0:
            raise self.error((*at, "timeout"), f"expected a positive number, got {timeout}")
        current = f"{sys.version_info.major}.{sys.version_info.minor}"
        return Settings(
            python=self.strings(table, at, "python", (current,), self.check_python),
            tests=self.strings(table, at, "tests", Settings.tests),
            test_requires=self.strings(
                table, at, "test-requires", Settings.test_requires, self.check_requirement
            ),
            install_project=self.get(table, at, "install-project", bool, True),
            results_dir=self.get(table, at, "results-dir", str, Settings.results_dir),
            docs=self.get(table, at, "docs", str, Settings.docs),
            index_url=(self.get(table, at, "index-url", str, None) or default_index_url()).rstrip(
                "/"
            ),
            prereleases=self.get(table, at, "prereleases", bool, False),
            timeout=float(timeout),
            policy=policy,
        )

    def positive(self, table: dict, at: tuple[str, ...], key: str) -> int:
        value = self.get(table, at, key, int)
        if value < 1:
            raise self.error((*at, key), f"expected a positive integer, got {value}")
        return value

    def integration(
        self, name: str, table: Any, settings: Settings, pyproject: _Pyproject
    ) -> Integration:
        at = ("integrations", name)
        if not isinstance(table, dict):
            raise self.error(at, f"expected a table [integrations.{name}], got {_describe(table)}")
        if not NAME_RE.match(name):
            raise self.error(
                at,
                "integration names must be lowercase identifiers matching "
                "[a-z0-9][a-z0-9_-]* (they become nox session names)",
            )
        self.check_keys(table, _INTEGRATION_KEYS, at)
        package = self.get(table, at, "package", str)
        if not package:
            raise self.error(
                (*at, "package"),
                'missing: the distribution name on the index, e.g. package = "crewai"',
            )
        if not re.match(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$", package):
            raise self.error(
                (*at, "package"),
                f"expected a distribution name, got {package!r} (put extras and other "
                "packages in `with`)",
            )
        if "min" in table:
            minimum = self.get(table, at, "min", str)
            try:
                Version(minimum)
            except InvalidVersion:
                raise self.error((*at, "min"), f"not a valid version: {minimum!r}") from None
            min_source = f"{self.source.name}:{locate(self.text, self.prefix + (*at, 'min'))}"
        else:
            found = pyproject.lower_bound(package)
            if found is None:
                raise self.error(
                    at,
                    f"no minimum version for {package!r}: declare a lower bound such as "
                    f"'{package}>=X.Y' in pyproject.toml [project] dependencies or "
                    "optional-dependencies, or set `min` here",
                )
            minimum, min_source = found
        versions = self.get(table, at, "versions", str)
        deps: list[tuple[SpecifierSet, tuple[str, ...]]] = []
        for spec, reqs in self.get(table, at, "deps", dict, {}).items():
            where = (*at, "deps")
            if not isinstance(reqs, list) or not all(isinstance(r, str) for r in reqs):
                raise self.error(where, f"expected a list of requirements for {spec!r}")
            for req in reqs:
                self.check_requirement(where, req)
            deps.append((self.specifier(where, spec), tuple(reqs)))
        repo = self.get(table, at, "repo", str)
        if repo is not None and not re.match(r"^[\w.-]+/[\w.-]+$", repo):
            raise self.error((*at, "repo"), f"expected a GitHub 'owner/name', got {repo!r}")
        return Integration(
            name=name,
            package=package,
            min=minimum,
            min_source=min_source,
            python=self.strings(table, at, "python", settings.python, self.check_python),
            select=self.get(table, at, "select", str, name),
            tests=self.strings(table, at, "tests", settings.tests),
            versions=self.specifier((*at, "versions"), versions) if versions else None,
            with_=self.strings(table, at, "with", (), self.check_requirement),
            deps=tuple(deps),
            repo=repo,
            file=self.get(table, at, "file", str),
        )


_SETTINGS_KEYS = [
    "python", "tests", "test-requires", "install-project", "results-dir", "docs",
    "index-url", "prereleases", "timeout", "policy",
]  # fmt: skip
_INTEGRATION_KEYS = [
    "package", "min", "versions", "python", "select", "tests", "with", "deps", "repo", "file",
]  # fmt: skip
_TYPE_NAMES = {
    str: "a string", int: "an integer", float: "a number", bool: "true or false",
    list: "a list", dict: "a table",
}  # fmt: skip


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return f"{value!r} ({name})"
    return repr(value)


def default_index_url() -> str:
    """The index uv would use: UV_DEFAULT_INDEX, UV_INDEX_URL, PIP_INDEX_URL, else PyPI."""
    for var in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(var):
            return os.environ[var].rstrip("/")
    return PUBLIC_INDEX


@dataclass
class _Pyproject:
    """The lower bounds a project's pyproject.toml declares for its dependencies."""

    path: Path
    text: str
    data: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> _Pyproject:
        if not path.is_file():
            return cls(path, "", {})
        return cls(path, path.read_text(encoding="utf-8"), read_toml(path))

    def lower_bound(self, package: str) -> tuple[str, str] | None:
        """(version, "pyproject.toml:LINE") of the first lower bound found for ``package``."""
        project = self.data.get("project", {})
        groups = [(("project", "dependencies"), project.get("dependencies", []))]
        for extra, reqs in project.get("optional-dependencies", {}).items():
            groups.append((("project", "optional-dependencies", extra), reqs))
        wanted = canonicalize_name(Requirement(package).name)
        for keys, reqs in groups:
            for text in reqs:
                version = _lower_bound(text, wanted)
                if version:
                    return version, f"{self.path.name}:{self._line(keys, text)}"
        return None

    def _line(self, keys: tuple[str, ...], requirement: str) -> int:
        start = locate(self.text, keys)
        lines = self.text.splitlines()
        for number in range(start, len(lines) + 1):
            if requirement in lines[number - 1]:
                return number
        return start


def _lower_bound(text: str, wanted: str) -> str | None:
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    if canonicalize_name(req.name) != wanted:
        return None
    bounds = [
        Version(s.version)
        for s in req.specifier
        if s.operator in (">=", "~=", "==") and "*" not in s.version
    ]
    return str(max(bounds)) if bounds else None
