"""Whose fault a cell's outcome is: the upstream's (a red verdict) or yours (``error``).

In the cell, ``verdict`` reads the test step: the plugin's report, pytest's exit code and
output, and what the cell's virtualenv holds (``Installed``). An import that fails names the
module, who imported it (your code, your tests, an installed package, the upstream) and the
distribution that provides it — or that is installed without it (then the fix is a bound).

Across the cells of an integration, ``reattribute`` reads the verdicts together, after a
sweep, over its results and the stored ones:

- a module your code imports that a passing cell had installed and this cell lacks is the
  upstream's break (``failed``): it stopped installing what your code relied on, and the
  message says which distribution to declare;
- the same failures on every tested version are yours (``error``: "fails on every tested
  version"); the run's own verdict is kept in ``Result.observed``, so that the store lets
  this error replace the red verdict of the same run, and a later sweep can undo it.

Everything here is pure, but ``index_provides`` (reads releases from the index).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from compat import procs
from compat.matrix import Matrix
from compat.results import Deprecation, Failure, Observed, Result, Status

_CONFTEST = re.compile(r"ImportError while loading conftest '([^']+)'")
_MISSING = re.compile(r"No module named '([\w.]+)'")
_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_IMPORT_ERROR = re.compile(r"No module named '|cannot import name '")
_SITE_PACKAGES = re.compile(r"(?:site|dist)-packages[/\\]([A-Za-z_]\w*)")
_FRAME = re.compile(r'^\s*(?:File "([^"]+)", line \d+, in \S+|(\S+?\.py):\d+: in \S+)')
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
# What the in-cell messages say about a failed import (read back across cells).
_IMPORTS = re.compile(
    r"^`(?P<importer>[^`]*)` \((?P<kind>your code|your tests|[^()]*, installed)\) imports "
    r"`(?P<what>[^`]+)`(?: from `(?P<module>[^`]+)`)?, which (?:(?P<dist>\S+) (?P<version>\S+) "
    r"\(installed\) does not have|is not installed)"
)
# Import names that differ from the distribution that provides them (the index cannot be
# searched by module): the most common ones.
KNOWN_DISTRIBUTIONS = {
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
    "Crypto": "pycryptodome",
    "dateutil": "python-dateutil",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "fitz": "PyMuPDF",
    "git": "GitPython",
    "google.protobuf": "protobuf",
    "jose": "python-jose",
    "jwt": "PyJWT",
    "magic": "python-magic",
    "multipart": "python-multipart",
    "MySQLdb": "mysqlclient",
    "OpenSSL": "pyOpenSSL",
    "PIL": "Pillow",
    "pkg_resources": "setuptools",
    "serial": "pyserial",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "slugify": "python-slugify",
    "yaml": "PyYAML",
    "zmq": "pyzmq",
}
_ASYNC = "async def functions are not natively supported"


@dataclass(frozen=True)
class Installed:
    """What the cell's virtualenv holds, for reading a failed pytest."""

    owners: dict[str, list[str]] = field(default_factory=dict)  # top-level module -> dists
    upstream: tuple[str, ...] = ()  # the integration's distributions: its package, `with`
    project: str = ""  # the project's distribution, when it is installed in the cell
    paths: dict[str, str] = field(default_factory=dict)  # absolute path -> how it is shown
    # The distribution named after a module on the index (``index_distribution``), if any.
    on_index: Callable[[str], str | None] = lambda module: None

    def dists(self, top: str) -> list[str]:
        return self.owners.get(top, [])

    def is_upstream(self, top: str) -> bool:
        wanted = {canonicalize_name(d) for d in self.upstream}
        if top in self.owners:
            return any(canonicalize_name(d) in wanted for d in self.owners[top])
        return canonicalize_name(top) in wanted  # not probed: the usual naming

    def is_project(self, top: str) -> bool:
        return bool(self.project) and canonicalize_name(self.project) in {
            canonicalize_name(d) for d in self.dists(top)
        }


@dataclass(frozen=True)
class Missing:
    """An import that failed: ``module`` is missing, or has no ``name``."""

    module: str
    name: str = ""
    importer: str = ""  # the file that ran the import, as shown (relative, or in <venv>)
    error: str = ""  # the exception's line

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    @property
    def what(self) -> str:
        return f"`{self.name}` from `{self.module}`" if self.name else f"`{self.module}`"


def reads_installed(report: dict | None, out: procs.Output) -> bool:
    """Whether ``verdict`` needs what the virtualenv holds (pytest crashed, or an import
    failed)."""
    return report is None or out.code in (3, 4) or bool(_IMPORT_ERROR.search(out.text))


# -- in the cell -------------------------------------------------------------------------------


def verdict(
    result: Result, report: dict | None, out: procs.Output, matrix: Matrix, installed: Installed
) -> None:
    """The verdict of the test step, from the plugin's report and pytest's exit code; every
    text kept is made free of the machine's absolute paths."""
    text = shown(out.text, installed.paths)
    tests = " ".join(matrix.integration(result.integration).tests)
    if report is None:
        _no_report(result, out.code, text, installed, tests)
    else:
        _reported(result, report, out.code, text, installed, matrix)
    result.message = shown(result.message, installed.paths)
    result.hint = shown(result.hint, installed.paths)
    result.notes = [shown(n, installed.paths) for n in result.notes]
    result.failures = [Failure(f.test, shown(f.message, installed.paths)) for f in result.failures]
    result.log_tail = shown(result.log_tail, installed.paths)


def _reported(
    result: Result, report: dict, code: int, text: str, installed: Installed, matrix: Matrix
) -> None:
    result.tests = {k: v for k, v in report.get("tests", {}).items() if isinstance(v, int)}
    result.failures = [
        Failure(f["test"], shown(f.get("message", ""), installed.paths))
        for f in report.get("failures", [])
    ]
    result.deprecations = [
        Deprecation(d["category"], d["message"], d.get("source", ""), d.get("attribution", "usage"))
        for d in report.get("deprecations", [])
    ]
    result.notes = [f"ignored {i['path']}: {i['reason']}" for i in report.get("ignored", [])]
    counts = result.tests
    collected, deselected = report.get("collected"), report.get("deselected", 0)
    integ = matrix.integration(result.integration)
    if code in (3, 4):
        _cannot_run(result, code, text, installed, " ".join(integ.tests))
    elif collected == 0 and not counts.get("errors"):
        result.status = Status.ERROR
        result.message = f"no tests were collected from {' '.join(integ.tests)}"
        result.hint = "check `tests` in compat.toml: the paths hold no tests pytest can find"
    elif (
        counts.get("failed")
        or counts.get("errors")
        or counts.get("subtests_failed")
        or code not in (0, 5)
    ):
        result.status = Status.FAILED
        missing = missing_import(text)
        if missing is not None and any(missing.error in f.message for f in result.failures):
            _missing(result, missing, installed)  # a test module that cannot be imported
            result.status = Status.FAILED  # ... is a failure of the cell's own tests
        elif not result.failures:
            result.message = f"pytest exited with {code}: {last_error(text)}"
    elif collected is not None and collected == deselected:
        result.status = Status.SKIPPED
        result.message = f"none of the {collected} collected tests matches -k {integ.select!r}"
    elif not counts.get("passed"):
        result.status = Status.SKIPPED
        result.message = "every selected test skipped"
    else:
        counted = (
            result.deprecations
            if matrix.settings.deprecations == "all"
            else result.usage_deprecations
        )
        result.status = Status.DEPRECATED if counted else Status.PASSED


def _no_report(result: Result, code: int, text: str, installed: Installed, tests: str) -> None:
    """pytest ended before the plugin could report: a conftest or a plugin that cannot be
    imported, a crash."""
    missing = missing_import(text)
    conftest = _CONFTEST.search(text)
    if missing is not None:
        _missing(result, missing, installed)
    elif conftest:
        result.status = Status.FAILED
        result.message = f"{Path(conftest.group(1)).name} cannot be imported: {last_error(text)}"
    elif code in (3, 4):
        _cannot_run(result, code, text, installed, tests)
    else:
        result.status = Status.FAILED
        frames = _SITE_PACKAGES.findall(text)
        if frames and installed.is_upstream(frames[-1]):
            result.message = _fails_early(result, installed, frames[-1], last_error(text))
        else:
            result.message = f"pytest did not finish (exit code {code}): {last_error(text)}"


def _cannot_run(result: Result, code: int, text: str, installed: Installed, tests: str) -> None:
    """pytest stopped before running tests: the upstream's fault when the last frame of the
    traceback is in the upstream (it fails to import on this Python, say), else ours."""
    missing = missing_import(text)
    if missing is not None:
        _missing(result, missing, installed)
        return
    frames = _SITE_PACKAGES.findall(text)
    if frames and installed.is_upstream(frames[-1]):
        result.status = Status.FAILED
        result.message = _fails_early(result, installed, frames[-1], last_error(text))
        return
    result.status = Status.ERROR
    result.message = f"pytest could not run (exit code {code}): {last_error(text)}"
    result.hint = f"check `tests` ({tests}), `select` and your pytest configuration"


def _missing(result: Result, missing: Missing, installed: Installed) -> None:
    """An import failed while pytest loaded the project's code, tests or plugins."""
    top, importer = missing.top, missing.importer or "?"
    importer_top = _importer_top(importer)
    if importer_top and installed.is_project(importer_top):  # the project, as installed
        importer = importer[_SITE_PACKAGES.search(importer).start(1) :]
    if installed.is_upstream(top):  # the upstream renamed or removed what is imported
        result.status = Status.FAILED
        result.message = (
            f"`{importer}` imports {missing.what}, which {result.package} "
            f"{result.installed or result.requested} does not have: {missing.error}"
        )
        return
    if importer_top and installed.is_upstream(importer_top):  # the upstream's own import
        result.status = Status.FAILED
        result.message = _fails_early(result, installed, importer_top, missing.error)
        return
    kind, where = _kind(importer, importer_top, installed)
    result.status = Status.ERROR
    owners = installed.dists(top)
    if owners:
        dist = owners[0]
        version = _version(result.freeze, dist) or "?"
        result.message = (
            f"`{importer}` ({kind}) imports {missing.what}, which {dist} {version} (installed) "
            f"does not have: {missing.error}"
        )
        result.hint = (
            f"{dist} {version} is installed, but without {missing.what} (renamed or removed): "
            f"declare the versions of {dist} that have it in {where}"
        )
        return
    result.message = (
        f"`{importer}` ({kind}) imports {missing.what}, which is not installed in the cell: "
        f"{missing.error}"
    )
    dist = known_distribution(missing.module)
    named = None if dist else installed.on_index(top)
    if dist:
        provider = f"`{dist}` (it provides `{top}`)"
    elif named:
        provider = f"`{named}` (the distribution of that name on the index; check that it provides `{top}`)"
    else:
        provider = f"the distribution that provides `{top}`"
    result.hint = f"add {provider} to {where}"


def _fails_early(result: Result, installed: Installed, top: str, error: str) -> str:
    """The message of an upstream that fails while pytest starts (in module ``top``)."""
    dist = (installed.dists(top) or [result.package])[0]
    version = _version(result.freeze, dist) or ""
    return f"{dist} {version} fails before any test runs (in `{top}`): {error}".replace("  ", " ")


def _importer_top(importer: str) -> str:
    """The top-level module of an importer shown as ``<venv>/…/site-packages/x/y.py``."""
    found = _SITE_PACKAGES.findall(importer)
    return found[-1] if found else ""


def _kind(importer: str, top: str, installed: Installed) -> tuple[str, str]:
    """Who imports (your code, your tests, an installed package) and where its fix goes."""
    if top and not installed.is_project(top):
        owner = (installed.dists(top) or [top])[0]
        return (
            f"{owner}, installed",
            "`test-requires` (the package imports it without requiring it)",
        )
    if top or not _looks_like_tests(importer):
        return "your code", "your dependencies (pyproject.toml)"
    return "your tests", "`test-requires`"


def _looks_like_tests(path: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    return (
        any(p in ("test", "tests", "testing") for p in parts[:-1])
        or name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
    )


def known_distribution(module: str) -> str | None:
    """The distribution that provides ``module`` when its name differs (known metadata)."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        found = KNOWN_DISTRIBUTIONS.get(".".join(parts[:end]))
        if found:
            return found
    return None


def missing_import(text: str) -> Missing | None:
    """The failed import in pytest's output: the module (and name), and the file that
    imported it (the last frame before the error)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        module = _MISSING.search(line)
        name = _CANNOT_IMPORT.search(line)
        if not module and not name:
            continue
        importer = ""
        for previous in reversed(lines[:index]):
            frame = _FRAME.match(previous)
            if frame:
                importer = frame.group(1) or frame.group(2)
                break
        error = line.strip().removeprefix("E").strip()
        if name:
            return Missing(name.group(2), name.group(1), _shown_importer(importer), error)
        return Missing(module.group(1), "", _shown_importer(importer), error)
    return None


def _shown_importer(path: str) -> str:
    """An importer as shown: project-relative, ``<venv>/…`` (already made so), or its end."""
    return path.replace("\\", "/")


def _version(freeze: list[str], dist: str) -> str | None:
    wanted = canonicalize_name(dist)
    for line in freeze:
        name, sep, version = line.partition("==")
        if sep and canonicalize_name(name.split("[")[0].strip()) == wanted:
            return version.strip()
    return None


def last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(("E ", "ERROR", "error:")) or "Error" in line:
            return line.removeprefix("E").strip()[:300]
    return lines[-1][:300] if lines else "no output"


def shown(text: str, paths: dict[str, str]) -> str:
    """``text`` with the machine's absolute paths replaced: the project's by relative paths,
    the cell's virtualenv by ``<venv>``, the interpreter's prefix by ``<python>``."""
    for path in sorted(paths, key=len, reverse=True):
        if not path:
            continue
        replacement = paths[path]
        text = text.replace(f"file://{path}", replacement)
        if replacement == ".":
            text = text.replace(path + "/", "").replace(path, ".")
        else:
            text = text.replace(path, replacement)
    return text


def cell_paths(root: Path, venv: Path, python_prefix: str = "") -> dict[str, str]:
    """The absolute paths ``shown`` replaces for a cell (their resolved forms too)."""
    paths = {}
    for path, as_shown in ((root, "."), (venv, "<venv>")):
        paths[str(path)] = paths[str(path.resolve())] = as_shown
    if python_prefix:
        paths[python_prefix] = "<python>"
    return paths


# -- across the cells of an integration --------------------------------------------------------

# provides(distribution, version, module, name): whether that release has the module (and
# the name in it); None when it cannot be told.
Provides = Callable[[str, str, str, str], "bool | None"]


def reattribute(results: Iterable[Result], provides: Provides) -> list[Result]:
    """The results whose verdict changes when each integration's cells are read together
    (new values; the others are unchanged): dropped dependencies are the upstream's break,
    a failure common to every tested version is yours."""
    groups: dict[str, list[Result]] = {}
    for result in results:
        groups.setdefault(result.integration, []).append(result)
    changed: list[Result] = []
    for cells in groups.values():
        current = {r.session: r for r in cells}
        for result in dropped_dependencies(list(current.values()), provides):
            current[result.session] = result
            changed.append(result)
        for result in common_failures(list(current.values())):
            changed = [c for c in changed if c.session != result.session] + [result]
    return changed


def dropped_dependencies(cells: list[Result], provides: Provides) -> list[Result]:
    """Cells whose code or tests import a module that a passing cell of the integration
    had installed: ``failed``, saying which distribution to declare."""
    passing = [r for r in cells if r.status.passing and r.freeze]
    changed = []
    for result in cells:
        if result.status not in (Status.ERROR, Status.FAILED) or not result.freeze:
            continue
        if result.observed is not None:
            continue
        failed = _failed_import(result)
        if failed is None:
            continue
        for good in sorted(passing, key=lambda p: _closeness(p, result)):
            found = _provider(failed, good, result, provides)
            if found is not None:
                changed.append(_dropped(result, good, failed, *found))
                break
    return changed


@dataclass(frozen=True)
class _Import:
    missing: Missing
    kind: str  # "your code", "your tests", "<dist>, installed"
    dist: str = ""  # installed without the module (or name)


def _failed_import(result: Result) -> _Import | None:
    """The failed import a cell's message describes (see ``_missing``), else the first
    "No module named" of its failures."""
    if result.message.startswith("your "):
        return None  # already explained
    found = _IMPORTS.match(result.message)
    if found:
        module = found["module"] or found["what"]
        name = found["what"] if found["module"] else ""
        return _Import(Missing(module, name, found["importer"]), found["kind"], found["dist"] or "")
    for text in (result.message, *(f.message for f in result.failures)):
        missing = _MISSING.search(text)
        if missing:
            return _Import(Missing(missing.group(1)), "your code")
    return None


def _closeness(good: Result, bad: Result) -> tuple:
    """The passing cells to compare with first: same Python, nearest version."""
    try:
        distance = abs(_ordinal(good.requested) - _ordinal(bad.requested))
    except InvalidVersion:
        distance = 0
    return (good.python_xy != bad.python_xy, distance, good.session)


def _ordinal(version: str) -> float:
    v = Version(version)
    return sum(part / 1000.0**i for i, part in enumerate((*v.release, 0, 0)[:4]))


def _freeze(result: Result) -> dict[str, tuple[str, str]]:
    out = {}
    for line in result.freeze:
        name, sep, version = line.partition("==")
        if sep:
            out[canonicalize_name(name.split("[")[0].strip())] = (name.strip(), version.strip())
    return out


def _provider(
    failed: _Import, good: Result, bad: Result, provides: Provides
) -> tuple[str, str, str] | None:
    """(distribution, its version in ``good``, its version in ``bad`` or "") when ``good``
    had installed what ``bad`` fails to import."""
    before, after = _freeze(good), _freeze(bad)
    module, name = failed.missing.module, failed.missing.name
    if failed.dist:  # installed without it: another version of it had it
        key = canonicalize_name(failed.dist)
        if key in before and before[key][1] != after.get(key, ("", ""))[1]:
            dist, version = before[key]
            if provides(dist, version, module, name) is not False:
                return dist, version, after.get(key, ("", ""))[1]
        return None
    dropped = [before[key] for key in before if key not in after]
    guess = canonicalize_name(module.split(".")[0]).replace("-", "_")
    for dist, version in dropped:
        found = provides(dist, version, module, name)
        if found is None:  # cannot be told: the usual naming
            found = canonicalize_name(dist).replace("-", "_") == guess
        if found:
            return dist, version, ""
    return None


def _dropped(result: Result, good: Result, failed: _Import, dist: str, had: str, has: str):
    """``result`` explained: the upstream's change took away what the project imports."""
    package = result.package
    good_version, bad_version = (
        good.installed or good.requested,
        result.installed or result.requested,
    )
    newer = _newer(bad_version, good_version)
    who = "your tests" if failed.kind == "your tests" else "your code"
    where = failed.missing.importer
    subject = f"{who} (`{where}`)" if where and where != "?" else who
    verb = "import" if who == "your tests" else "imports"
    what = failed.missing.what
    if has:  # another version of the distribution, without it
        bound = f"{dist}<{has}" if _newer(has, had) else f"{dist}>={had}"
        message = (
            f"{subject} {verb} {what}, which {dist} {had} (installed with {package} "
            f"{good_version}) has and {dist} {has} (installed with {package} {bad_version}) "
            f"does not: declare the versions of {dist} your code works with (`{bound}`)"
        )
    else:
        target = "`test-requires`" if who == "your tests" else "your dependencies"
        change = (
            f"{package} {good_version} installed and {bad_version} no longer does"
            if newer
            else f"{package} {good_version} installs and {bad_version} does not"
        )
        message = f"{subject} {verb} {what}, which {change}: declare it (add `{dist}` to {target})"
    return replace(result, status=Status.FAILED, message=message, hint="")


def _newer(a: str, b: str) -> bool:
    try:
        return Version(a) > Version(b)
    except InvalidVersion:
        return a > b


def common_failures(cells: list[Result]) -> list[Result]:
    """When every cell of an integration that ran its tests failed the same tests with the
    same errors, on two versions or more: those cells are ``error`` (yours). Cells made so
    earlier whose failure is no longer common get their own verdict back."""
    ran = [r for r in cells if _ran(r) and not r.is_bisect]
    failing = [r for r in ran if _own(r).status is Status.FAILED]
    signatures = {_signature(r) for r in failing}
    common = (
        len(failing) == len(ran)
        and len({r.requested for r in ran}) >= 2
        and len(signatures) == 1
        and bool(next(iter(signatures))[0])
    )
    changed = []
    for result in ran:
        if common and result.observed is None:
            changed.append(_yours(result, sorted({r.requested for r in ran}, key=_key)))
        elif not common and result.observed is not None:
            observed = result.observed
            changed.append(
                replace(
                    result,
                    status=observed.status,
                    message=observed.message,
                    hint=observed.hint,
                    observed=None,
                )
            )
    return changed


def _ran(result: Result) -> bool:
    return _own(result).status in (
        Status.PASSED,
        Status.DEPRECATED,
        Status.FAILED,
        Status.SKIPPED,
    )


def _own(result: Result) -> Result:
    """The result as its run judged it (before ``common_failures``)."""
    observed = result.observed
    if observed is None:
        return result
    return replace(result, status=observed.status, message=observed.message, hint=observed.hint)


def _signature(result: Result) -> tuple:
    failures = frozenset((f.test, _ADDRESS.sub("0x…", f.message)) for f in result.failures)
    counts = (result.tests.get("failed", 0), result.tests.get("errors", 0))
    return failures, counts


def _key(version: str):
    try:
        return (0, Version(version), version)
    except InvalidVersion:
        return (1, None, version)


def _yours(result: Result, versions: list[str]) -> Result:
    first = result.failures[0]
    count = result.tests.get("failed", 0) + result.tests.get("errors", 0)
    shown_versions = ", ".join(versions)
    hint = result.hint or (
        "your async tests need their plugin: add it to `test-requires` (pytest-asyncio, "
        "anyio, …) and configure it"
        if _ASYNC in first.message
        else "fix the tests or their configuration (a plugin or test dependency missing from "
        "`test-requires`, a fixture, a path): no version of the upstream passes them"
    )
    return replace(
        result,
        status=Status.ERROR,
        message=(
            f"fails on every tested version: your tests or configuration — the same {count} "
            f"failure(s) on {result.package} {shown_versions}: {first.message} ({first.test})"
        ),
        hint=hint,
        observed=Observed(result.status, result.message, result.hint),
    )


# -- reading the index (the one part with I/O) -------------------------------------------------


def index_distribution(matrix: Matrix) -> Callable[[str], str | None]:
    """The distribution named after a module (``pytest_asyncio`` -> ``pytest-asyncio``) when
    the matrix's index has one, else None (also when the index cannot answer)."""
    from compat.errors import CompatError
    from compat.index import IndexClient

    client = IndexClient(matrix.settings.index_url)

    def named(module: str) -> str | None:
        if not module.isidentifier():
            return None
        name = canonicalize_name(module)
        try:
            client.project(name)
        except (CompatError, OSError, ValueError):
            return None
        return name

    return named


def index_provides(matrix: Matrix) -> Provides:
    """``provides`` answered from the releases on the matrix's index (unpacked once into the
    cache, as the API diff does); None when a release cannot be read."""
    from compat.apidiff.dists import search_path, unpacked
    from compat.errors import CompatError
    from compat.index import IndexClient

    client = IndexClient(matrix.settings.index_url)

    @functools.cache
    def tree(dist: str, version: str) -> Path | None:
        try:
            return search_path(unpacked(client, dist, version))
        except (CompatError, OSError, ValueError):
            return None

    def provides(dist: str, version: str, module: str, name: str = "") -> bool | None:
        root = tree(dist, version)
        if root is None:
            return None
        base = root.joinpath(*module.split("."))
        files = [
            f
            for f in (
                base / "__init__.py",
                base / "__init__.pyi",
                base.with_suffix(".py"),
                base.with_suffix(".pyi"),
            )  # fmt: skip
            if f.is_file()
        ]
        if not files and not base.is_dir():
            return False
        if not name:
            return True
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        return any(pattern.search(f.read_text(encoding="utf-8", errors="replace")) for f in files)

    return provides
