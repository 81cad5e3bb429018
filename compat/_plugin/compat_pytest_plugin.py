"""pytest plugin loaded into every compat cell (``-p compat_pytest_plugin``).

Standard library and pytest only (Python 3.9-3.13, pytest 7-9): it runs inside the cell's
virtualenv, where nox-compat itself is not installed. At session finish it writes a JSON
report to ``$COMPAT_REPORT``::

    {"tests": {"passed": N, "failed": N, "skipped": N, "errors": N, "xfailed": N,
               "xpassed": N, ...},  # every other category in pytest's summary line, with
                                    # underscores: "subtests_passed", "rerun", ...
     "collected": N,                # items collected, before -k/-m deselection
     "deselected": N,
     "failures": [{"test": "tests/test_x.py::test_y", "message": "one line"}],  # at most 20
     "deprecations": [{"category": "DeprecationWarning", "message": "...",
                       "source": "crewai/agent/core.py:425",
                       "attribution": "usage" | "internal"}],                     # at most 100
     "ignored": [{"path": "tests/test_other.py", "reason": "No module named 'httpx': ..."}],
     "rerun": ["tests/test_x.py::test_y"],  # the node ids that failed (at most 200)
     "watched": ["/abs/pytest.ini", ...],  # the ini and conftest files pytest used or
                                           # would have used had they existed
     "exitstatus": 0, "duration_s": 1.234}

The counts are pytest's own: each report is counted under the category that
``pytest_report_teststatus`` gives it, as the terminal summary line does.

Environment: ``COMPAT_REPORT`` (where to write), ``COMPAT_UPSTREAM`` (this cell's upstream
distributions, comma-separated), ``COMPAT_FOREIGN`` (top-level modules of the other
integrations' upstreams), ``COMPAT_PROJECT`` (the project root; default: the working
directory), ``COMPAT_ANCHOR`` (the top of the project's repository: how far up ini and
conftest candidates are watched), ``COMPAT_CELL`` (the session name, for messages).

Deprecations. Every warning that is shown or recorded (``catch_warnings(record=True)``,
which pytest uses) passes through ``warnings._showwarnmsg``, looked up on the module each
time by CPython's C warning code; the plugin wraps it when imported, before any conftest.
A Deprecation/PendingDeprecation/FutureWarning is kept when upstream issued it: the code
that called ``warn`` is upstream's, or is a helper (``typing_extensions.deprecated``,
``deprecated``, pydantic's deprecated-field descriptor, ...) wrapping an upstream object.
Its attribution comes from the call site (the place ``stacklevel`` names): project code
means ``usage`` (the project calls a deprecated API), upstream code ``internal`` (upstream
uses its own deprecated API); from a call site anywhere else the live stack is walked
outward to the first frame that is one or the other, and ``source`` names that frame.

Foreign modules. A test module that fails to import because a module of another
integration's upstream is missing (named in ``COMPAT_FOREIGN``, not importable here, and
not imported by this cell's upstream code) is skipped and listed under ``ignored``: it
tests another integration. Every other collection error stays an error.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import time
import types
import warnings

import pytest

CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
# Code that warns on behalf of an object it wraps or guards; that object decides.
HELPERS = frozenset(
    (
        "warnings",  # warnings.deprecated (3.13)
        "_py_warnings",
        "typing_extensions",
        "deprecated",
        "deprecation",
        "wrapt",
        "functools",
        "pydantic",  # its deprecated-field descriptor, only
    )
)
WARNING_MACHINERY = frozenset({"warnings", "_py_warnings"})  # where a pure-Python warn() lives
WARN_FUNCTIONS = ("warn", "warn_explicit")
SUBJECTLESS = frozenset({"", "deprecated"})
INSTALLED = ("site-packages", "dist-packages")
MAX_FAILURES = 20
MAX_RERUN = 200
CONFIG_NAMES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", "setup.py")
MAX_DEPRECATIONS = 100
MAX_MESSAGE = 2000
BASE_COUNTS = ("passed", "failed", "skipped", "errors", "xfailed", "xpassed")


def _names(variable: str) -> list[str]:
    return [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]


def _top_level_names(distribution: str) -> set[str]:
    from importlib import metadata  # only when a warning or an import error needs it

    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return set()
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for file in dist.files or ():
        top = file.parts[0]
        if top.endswith((".dist-info", ".data", ".pth")) or top in ("..", "__pycache__"):
            continue
        names.add(top[: -len(".py")] if top.endswith(".py") else top)
    return names


@functools.cache
def _upstream() -> frozenset[str]:
    """The top-level modules of this cell's upstream distributions (read when first needed:
    a cell without warnings or import errors never pays for importlib.metadata)."""
    return frozenset(name for dist in _names("COMPAT_UPSTREAM") for name in _top_level_names(dist))


def _foreign() -> frozenset[str]:
    return frozenset(_names("COMPAT_FOREIGN")) - _upstream()


PROJECT = os.path.abspath(os.environ.get("COMPAT_PROJECT") or os.getcwd())
ANCHOR = os.path.abspath(os.environ.get("COMPAT_ANCHOR") or PROJECT)
CELL = os.environ.get("COMPAT_CELL") or "compat"

_report: dict = {
    "tests": dict.fromkeys(BASE_COUNTS, 0),
    "collected": 0,
    "deselected": 0,
    "failures": [],
    "deprecations": [],
    "ignored": [],
    "rerun": [],
    "watched": [],
}
_started = time.monotonic()
_config: pytest.Config | None = None
_recording = False  # guards against warnings raised while recording one


# Where code lives


def _module_of(frame: types.FrameType) -> str:
    name = frame.f_globals.get("__name__")
    return name if isinstance(name, str) else ""


def _is_upstream(module: object) -> bool:
    return isinstance(module, str) and module.partition(".")[0] in _upstream()


@functools.cache
def _project_path(path: str) -> str | None:
    """``path`` relative to the project root when it is project code (not an installed file)."""
    if not os.path.isabs(path):
        return None  # <frozen importlib._bootstrap>, <string>, ...
    roots = {PROJECT, os.path.realpath(PROJECT)}
    environments = {sys.prefix, sys.base_prefix, sys.exec_prefix} - roots
    for candidate in (path, os.path.realpath(path)):
        for root in roots:
            if not candidate.startswith(os.path.join(root, "")):
                continue
            relative = os.path.relpath(candidate, root)
            if any(part in INSTALLED for part in relative.split(os.sep)):
                return None
            if any(candidate.startswith(os.path.join(env, "")) for env in environments):
                return None  # an interpreter or virtualenv inside the project
            return relative.replace(os.sep, "/")
    return None


def _short(path: str, module: str = "") -> str:
    """The part after site-packages, the project-relative path, or the module's own path."""
    parts = path.split(os.sep)
    for marker in INSTALLED:
        if marker in parts:
            index = len(parts) - 1 - parts[::-1].index(marker)
            return "/".join(parts[index + 1 :])
    relative = _project_path(path)
    if relative is not None:
        return relative
    depth = module.count(".") + 1 + (parts[-1] == "__init__.py")
    if module and depth < len(parts):
        return "/".join(parts[-depth:])
    return path


# Deprecations


def _wrapped_upstream(frame: types.FrameType, helper: str) -> str | None:
    """The name of the upstream object that a helper's frame warns about, if any."""
    local = frame.f_locals
    field = getattr(local.get("self"), "field_name", None)  # pydantic's deprecated-field guard
    if helper == "pydantic" and not isinstance(field, str):
        return None  # pydantic's own deprecations (.dict(), parse_obj, ...) are not upstream's
    for value in list(local.values()):
        if not isinstance(value, (type, types.FunctionType, types.MethodType)):
            continue
        if isinstance(value, type) and issubclass(value, Warning):
            continue  # the category, not the deprecated object
        if _is_upstream(getattr(value, "__module__", None)):
            name = getattr(value, "__qualname__", None) or getattr(value, "__name__", "?")
            return f"{name}.{field}" if isinstance(value, type) and isinstance(field, str) else name
    return None


def _function_name(frame: types.FrameType) -> str:
    code = frame.f_code
    if code.co_name == "<module>":
        return _module_of(frame)
    qualname = getattr(code, "co_qualname", None)  # Python 3.11+
    if qualname:
        return qualname
    owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
    if owner is None:
        return code.co_name
    owner = owner if isinstance(owner, type) else type(owner)
    return f"{owner.__qualname__}.{code.co_name}"


def _is_warning_machinery(frame: types.FrameType) -> bool:
    """``warnings.warn`` itself, or a wrapper with its signature that a package put in its
    place (crewai replaces ``warnings.warn`` with a filter): neither is what warns."""
    if _module_of(frame) in WARNING_MACHINERY and frame.f_code.co_name in WARN_FUNCTIONS:
        return True
    code = frame.f_code
    return {"message", "category"} <= set(code.co_varnames[: code.co_argcount])


def _upstream_subject(frame: types.FrameType | None) -> str | None:
    """What upstream deprecated, when upstream issued the warning from ``frame``; else None.

    Upstream issued it when its own code called ``warn``, or when helper code did (a chain
    of helper frames, such as ``deprecated``'s wrapper calling its adapter's ``warn``) on
    behalf of an upstream object found in the helpers' locals.
    """
    while frame is not None and _is_warning_machinery(frame):
        frame = frame.f_back  # a pure-Python warn(): its caller issued the warning
    if frame is not None and _is_upstream(_module_of(frame)):
        return _function_name(frame)
    while frame is not None:
        helper = _module_of(frame).partition(".")[0]
        if helper not in HELPERS:
            return None
        subject = _wrapped_upstream(frame, helper)
        if subject:
            return subject
        frame = frame.f_back
    return None


def _frame_attribution(frame: types.FrameType) -> str | None:
    if _is_upstream(_module_of(frame)):
        return "internal"
    if _project_path(frame.f_code.co_filename) is not None:
        return "usage"
    return None


def _location(frame: types.FrameType) -> str:
    return f"{_short(frame.f_code.co_filename, _module_of(frame))}:{frame.f_lineno}"


def _attribution(msg: warnings.WarningMessage, issuer: types.FrameType) -> tuple[str, str]:
    """``(attribution, source)`` from the call site, walking outward past other code."""
    place = (msg.filename, msg.lineno)
    site: types.FrameType | None = issuer
    while site is not None and (site.f_code.co_filename, site.f_lineno) != place:
        site = site.f_back
    if site is None:  # not on the stack: warn_explicit named some other place
        if _project_path(str(msg.filename)) is not None:
            return "usage", f"{_short(str(msg.filename))}:{msg.lineno}"
        site = issuer
    while site is not None:
        attribution = _frame_attribution(site)
        if attribution:
            return attribution, _location(site)
        site = site.f_back
    return "internal", f"{_short(str(msg.filename))}:{msg.lineno}"


def _record(msg: warnings.WarningMessage, issuer: types.FrameType) -> None:
    subject = _upstream_subject(issuer)
    if subject is None:
        return
    attribution, source = _attribution(msg, issuer)
    message = str(msg.message)
    if message.strip().rstrip(".").lower() in SUBJECTLESS:
        message = f"deprecated: {subject}"
    entry = {
        "category": msg.category.__name__,
        "message": message[:MAX_MESSAGE],
        "source": source,
        "attribution": attribution,
    }
    found = _report["deprecations"]
    if entry not in found and len(found) < MAX_DEPRECATIONS:
        found.append(entry)


_original_showwarnmsg = warnings._showwarnmsg


def _showwarnmsg(msg: warnings.WarningMessage) -> None:
    """Every shown or recorded warning passes here, while its stack is still live."""
    global _recording
    if not _recording and issubclass(msg.category, CATEGORIES):
        _recording = True
        try:
            _record(msg, sys._getframe(1))
        except Exception:  # the report must never break the warning machinery
            pass
        finally:
            _recording = False
    _original_showwarnmsg(msg)


warnings._showwarnmsg = _showwarnmsg


# Foreign modules


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _module_not_found(error: BaseException | None) -> ModuleNotFoundError | None:
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ModuleNotFoundError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _foreign_missing(error: BaseException | None) -> ModuleNotFoundError | None:
    """The ModuleNotFoundError behind ``error`` when it names another integration's module."""
    missing = _module_not_found(error)
    if missing is None or not missing.name:
        return None
    top = missing.name.partition(".")[0]
    if top not in _foreign() or _importable(top):
        return None
    importer = None  # the innermost frame that ran the import, importlib aside
    tb = missing.__traceback__
    while tb is not None:
        if not _module_of(tb.tb_frame).startswith(("importlib", "_frozen_importlib")):
            importer = tb.tb_frame
        tb = tb.tb_next
    if importer is not None and _is_upstream(_module_of(importer)):
        return None  # this cell's upstream itself needs it: a real error
    return missing


def _import_line(error: BaseException, path: str) -> int | None:
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    report = outcome.get_result()
    if not (report.failed and isinstance(collector, pytest.Module)):
        return
    call = getattr(report, "call", None)  # pytest keeps the CallInfo on collect reports
    error = _foreign_missing(call.excinfo.value if call and call.excinfo else None)
    if error is None:
        return
    reason = f"{error}: a module of another integration's upstream, not installed in this cell"
    path = str(collector.path)
    report.outcome = "skipped"
    report.longrepr = (path, _import_line(error, path), f"Skipped: {reason}")
    _report["ignored"].append({"path": report.nodeid, "reason": reason})


# Counts and failures


def _one_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    else:
        lines = [line.strip() for line in str(report.longrepr).splitlines() if line.strip()]
        errors = [line[1:].strip() for line in lines if line.startswith("E ")]
        text = (errors or lines or [""])[-1]
    return text.strip().partition("\n")[0][:MAX_MESSAGE]


def _failure(report: pytest.TestReport | pytest.CollectReport, test: str) -> None:
    if len(_report["failures"]) >= MAX_FAILURES:
        return
    message = _one_line(report)
    when = getattr(report, "when", "call")
    if when in ("setup", "teardown"):
        message = f"error in {when}: {message}"
    _report["failures"].append({"test": test, "message": message})


def _count(category: str) -> None:
    key = "errors" if category == "error" else category.replace(" ", "_")
    _report["tests"][key] = _report["tests"].get(key, 0) + 1


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config
    _report["watched"] = _watched(config)


def _watched(config: pytest.Config) -> list[str]:
    """pytest's ini file, and every ini or conftest file it looks for from the test paths up
    to the repository's top: one that appears later changes how the tests run."""
    found = {str(config.inipath)} if getattr(config, "inipath", None) else set()
    starts = {str(config.rootpath)}
    for arg in config.args:
        path = os.path.abspath(str(arg).split("::", 1)[0])
        starts.add(path if os.path.isdir(path) else os.path.dirname(path))
    anchor = os.path.join(ANCHOR, "")
    for start in starts:
        folder = start
        while os.path.join(folder, "").startswith(anchor):
            found.update(os.path.join(folder, name) for name in (*CONFIG_NAMES, "conftest.py"))
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return sorted(found)


def _rerun(nodeid: str) -> None:
    if nodeid and nodeid not in _report["rerun"] and len(_report["rerun"]) < MAX_RERUN:
        _report["rerun"].append(nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    assert _config is not None
    category = _config.hook.pytest_report_teststatus(report=report, config=_config)[0]
    if category and getattr(report, "count_towards_summary", True):
        _count(category)
    if report.failed:
        _rerun(report.nodeid)
        describe = getattr(report, "_sub_test_description", None) or getattr(
            report, "sub_test_description", None
        )  # a subtest: pytest 9's own, or the pytest-subtests plugin's
        _failure(report, f"{report.nodeid} {describe()}" if callable(describe) else report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _report["collected"] += sum(isinstance(item, pytest.Item) for item in report.result)
    if report.failed:
        _count("error")
        _failure(report, report.nodeid or "collection")
        _rerun(report.nodeid)
    elif report.skipped:
        _count("skipped")


def pytest_deselected(items: list[pytest.Item]) -> None:
    _report["deselected"] += len(items)


def pytest_terminal_summary(terminalreporter) -> None:
    for ignored in _report["ignored"]:
        terminalreporter.write_line(f"{CELL}: ignored {ignored['path']}: {ignored['reason']}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("COMPAT_REPORT")
    if not path:
        return
    _report["exitstatus"] = int(exitstatus)
    _report["duration_s"] = round(time.monotonic() - _started, 3)
    import json

    with open(path, "w", encoding="utf-8") as handle:
        json.dump(_report, handle)
