"""The pytest plugin inside every cell, driven by real ``python -m pytest -p compat_pytest_plugin``.

Each test writes a fake upstream distribution (``acme-sdk``: ``acme_sdk/`` with a dist-info
that importlib.metadata finds) beside a few stand-ins for other packages (a third-party
library, a noisy one, pydantic's deprecated-field descriptor), and a fake project whose tests
use them; then it runs pytest in the project and reads the JSON report.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "compat" / "_plugin"
CELL = "compat-acme-latest"

ACME_INIT = """
import logging
import sys
import warnings
from warnings import warn

import noisy_lib
import thirdparty_lib


def old_greet():
    warnings.warn("old_greet() is deprecated, use greet()", DeprecationWarning, stacklevel=2)
    return "hi"


def greet():
    return old_greet()  # INTERNAL-CALL


def old_bare():
    warn("old_bare() is deprecated", PendingDeprecationWarning, stacklevel=2)
    return "hi"


def old_explicit():
    caller = sys._getframe(1)
    warnings.warn_explicit(
        "old_explicit() is deprecated", FutureWarning, caller.f_code.co_filename, caller.f_lineno
    )
    return "hi"


def nameless():
    warnings.warn("deprecated", DeprecationWarning, stacklevel=2)


def via_thirdparty():
    return thirdparty_lib.call(old_greet)  # VIA-THIRDPARTY


def logs_the_old_way():
    logging.getLogger("acme").warn("a standard-library deprecation, raised inside upstream")


def uses_noisy():
    return noisy_lib.old_decorated()  # another package's deprecated function
"""

ACME_CLIENT = """
from deprecated import deprecated as deprecated_since
from typing_extensions import deprecated


class Client:
    @deprecated("Client.send() is deprecated, use Client.post()")
    def send(self):
        return "sent"

    @deprecated("")
    def run(self):
        return "ran"


@deprecated("OldClient is deprecated, use Client")
class OldClient:
    pass


@deprecated_since(reason="use Client.post()")
def old_post():
    return "posted"
"""

# crewai 1.15 reads its own pydantic field declared with Field(deprecated=True).
ACME_AGENT = """
from pydantic._internal._model_construction import _DeprecatedFieldDescriptor
from pydantic.main import BaseModel


class Agent(BaseModel):
    function_calling_llm = _DeprecatedFieldDescriptor("deprecated")

    def __init__(self):
        self.__dict__["function_calling_llm"] = None
        self.llm = self.function_calling_llm or "default"  # READS-OWN-FIELD
"""

# The `deprecated` distribution (3.x): its wrapper calls its adapter's warn(), which warns.
DEPRECATED_PACKAGE = """
import functools
import warnings


class ClassicAdapter:
    def __init__(self, reason):
        self.reason = reason

    def warn(self, msg):
        warnings.warn(msg, DeprecationWarning, stacklevel=3)

    def __call__(self, wrapped):
        @functools.wraps(wrapped)
        def wrapper_function(*args, **kwargs):
            self.warn(f"Call to deprecated function {wrapped.__name__}. ({self.reason})")
            return wrapped(*args, **kwargs)

        return wrapper_function


def deprecated(reason):
    return ClassicAdapter(reason)
"""

NOISY = """
import warnings

from typing_extensions import deprecated


def old():
    warnings.warn("noisy", DeprecationWarning, stacklevel=2)


@deprecated("noisy_lib.old_decorated() is deprecated")
def old_decorated():
    return "old"
"""

ACME_LEGACY = """
import warnings

warnings.warn("acme_sdk.legacy is deprecated", DeprecationWarning, stacklevel=2)
"""

# What crewai does on import: warnings.warn replaced by a filter that forwards to it.
ACME_FILTER = """
import warnings


def _suppress_pydantic_deprecation_warnings():
    original_warn = warnings.warn

    def filtered_warn(message, category=None, stacklevel=1, source=None):
        return original_warn(message, category, stacklevel + 1, source)

    warnings.warn = filtered_warn


_suppress_pydantic_deprecation_warnings()
"""

# What pydantic does (pydantic/_internal/_model_construction.py), reduced.
PYDANTIC_DESCRIPTOR = """
import warnings


class _DeprecatedFieldDescriptor:
    def __init__(self, msg, wrapped_property=None):
        self.msg = msg
        self.wrapped_property = wrapped_property

    def __set_name__(self, cls, name):
        self.field_name = name

    def __get__(self, obj, obj_type=None):
        if obj is None:
            raise AttributeError(self.field_name)
        warnings.warn(self.msg, DeprecationWarning, stacklevel=2)
        return obj.__dict__[self.field_name]

    def __set__(self, obj, value):  # a data descriptor: it wins over the instance's dict
        raise AttributeError(self.field_name)
"""

PYDANTIC_MAIN = """
import warnings


class BaseModel:
    def dict(self):
        warnings.warn(
            "The `dict` method is deprecated; use `model_dump` instead.", DeprecationWarning, stacklevel=2
        )
        return dict(self.__dict__)
"""

# Only when the interpreter lacks the real typing_extensions: what its deprecated() does.
TYPING_EXTENSIONS = """
import functools
import warnings


def deprecated(message, *, category=DeprecationWarning, stacklevel=1):
    def decorator(arg):
        if isinstance(arg, type):
            original_new = arg.__new__

            def __new__(cls, *args, **kwargs):
                if cls is arg:
                    warnings.warn(message, category=category, stacklevel=stacklevel + 1)
                return original_new(cls)

            arg.__new__ = staticmethod(__new__)
            return arg

        @functools.wraps(arg)
        def wrapper(*args, **kwargs):
            warnings.warn(message, category=category, stacklevel=stacklevel + 1)
            return arg(*args, **kwargs)

        return wrapper

    return decorator
"""

ACME = {
    "acme_sdk/__init__.py": ACME_INIT,
    "acme_sdk/client.py": ACME_CLIENT,
    "acme_sdk/agent.py": ACME_AGENT,
    "acme_sdk/legacy.py": ACME_LEGACY,
    "acme_sdk/filter.py": ACME_FILTER,
    "acme_sdk/extras.py": "import othervendor_sdk\n",  # upstream needs another's module
}
OTHERS = {
    "thirdparty_lib/__init__.py": "def call(function):\n    return function()\n",
    "noisy_lib/__init__.py": NOISY,
    "deprecated/__init__.py": DEPRECATED_PACKAGE,
    "pydantic/__init__.py": "",
    "pydantic/_internal/__init__.py": "",
    "pydantic/_internal/_model_construction.py": PYDANTIC_DESCRIPTOR,
    "pydantic/main.py": PYDANTIC_MAIN,
}
FOREIGN = "othervendor_sdk,zeta_client"
PROJECT_MODULE = {"mylib/__init__.py": "", "mylib/zeta_support.py": "import zeta_client\n"}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def make_site(root: Path, python: str = sys.executable) -> Path:
    """The fake upstream distribution acme-sdk 1.0 and the other packages, for PYTHONPATH."""
    write(root, {**ACME, **OTHERS})
    if not has_typing_extensions(python):
        write(root, {"typing_extensions.py": TYPING_EXTENSIONS})
    info = root / "acme_sdk-1.0.dist-info"
    record = [f"{name},," for name in ACME] + [f"{info.name}/{n},," for n in ("METADATA", "RECORD")]
    write(
        info,
        {
            "METADATA": "Metadata-Version: 2.1\nName: acme-sdk\nVersion: 1.0\n",
            "top_level.txt": "acme_sdk\n",
            "RECORD": "\n".join(record) + "\n",
        },
    )
    return root


def has_typing_extensions(python: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec("typing_extensions") is not None
    return subprocess.run([python, "-c", "import typing_extensions"]).returncode == 0


def line_of(text: str, marker: str) -> int:
    lines = textwrap.dedent(text).lstrip().splitlines()
    return next(number for number, line in enumerate(lines, 1) if marker in line)


@dataclass
class Run:
    report: dict
    output: str
    code: int

    def summary(self) -> dict[str, int]:
        """The counts of pytest's own closing summary line, named as the report names them."""
        line = [x for x in self.output.splitlines() if re.match(r"=+ .* in [\d.]+s\b", x)][-1]
        counts = {}
        for part in re.sub(r" in [\d.]+s\b.*", "", line.strip("= ")).split(", "):
            number, _, name = part.partition(" ")
            if number.isdigit() and name not in ("deselected", "warning", "warnings"):
                counts[{"error": "errors"}.get(name, name.replace(" ", "_"))] = int(number)
        return counts

    def counts(self) -> dict[str, int]:
        return {key: count for key, count in self.report["tests"].items() if count}


def run_pytest(
    tmp_path: Path,
    tests: dict[str, str],
    *args: str,
    foreign: str = FOREIGN,
    python: str = sys.executable,
) -> Run:
    project = tmp_path / "project"
    write(project, {**PROJECT_MODULE, "pytest.ini": "[pytest]\n", **tests})
    site = make_site(tmp_path / "site", python)
    report = tmp_path / "report.json"
    drop = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONWARNINGS")
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env.update(
        PYTHONPATH=os.pathsep.join([str(PLUGIN_DIR), str(site)]),
        PYTHONDONTWRITEBYTECODE="1",
        COMPAT_REPORT=str(report),
        COMPAT_UPSTREAM="acme-sdk",
        COMPAT_FOREIGN=foreign,
        COMPAT_PROJECT=str(project),
        COMPAT_CELL=CELL,
    )
    command = [python, "-m", "pytest", "-p", "compat_pytest_plugin", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert report.exists(), output
    return Run(json.loads(report.read_text()), output, done.returncode)


def deprecation(message: str, source: str, attribution: str, category="DeprecationWarning"):
    return {"category": category, "message": message, "source": source, "attribution": attribution}


# Deprecations: how they reach the plugin


def test_warnings_warn_called_by_the_project_is_usage(tmp_path: Path) -> None:
    test = """
    import acme_sdk


    def test_acme():
        assert acme_sdk.old_greet() == "hi"  # CALL
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    assert run.code == 0, run.output
    assert run.report["deprecations"] == [
        deprecation(
            "old_greet() is deprecated, use greet()",
            f"tests/test_acme.py:{line_of(test, 'CALL')}",
            "usage",
        )
    ]


def test_from_warnings_import_warn_after_a_conftest_imported_upstream(tmp_path: Path) -> None:
    """The upstream keeps the unpatched ``warn``: only the display hook sees the warning."""
    test = """
    import acme_sdk


    def test_acme():
        assert acme_sdk.old_bare() == "hi"  # CALL
    """
    run = run_pytest(
        tmp_path, {"tests/conftest.py": "import acme_sdk\n", "tests/test_acme.py": test}
    )
    assert run.code == 0, run.output
    assert run.report["deprecations"] == [
        deprecation(
            "old_bare() is deprecated",
            f"tests/test_acme.py:{line_of(test, 'CALL')}",
            "usage",
            "PendingDeprecationWarning",
        )
    ]


def test_warn_explicit(tmp_path: Path) -> None:
    test = """
    import acme_sdk


    def test_acme():
        assert acme_sdk.old_explicit() == "hi"  # CALL
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    assert run.report["deprecations"] == [
        deprecation(
            "old_explicit() is deprecated",
            f"tests/test_acme.py:{line_of(test, 'CALL')}",
            "usage",
            "FutureWarning",
        )
    ]


def test_typing_extensions_deprecated_on_upstream_objects(tmp_path: Path) -> None:
    test = """
    from acme_sdk.client import Client, OldClient


    def test_acme():
        assert Client().send() == "sent"  # SEND
        OldClient()  # OLD-CLIENT
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    assert run.code == 0, run.output
    assert run.report["deprecations"] == [
        deprecation(
            "Client.send() is deprecated, use Client.post()",
            f"tests/test_acme.py:{line_of(test, 'SEND')}",
            "usage",
        ),
        deprecation(
            "OldClient is deprecated, use Client",
            f"tests/test_acme.py:{line_of(test, 'OLD-CLIENT')}",
            "usage",
        ),
    ]


def test_deprecated_package_warning_from_a_nested_helper(tmp_path: Path) -> None:
    test = """
    from acme_sdk.client import old_post


    def test_acme():
        assert old_post() == "posted"  # CALL
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    assert run.report["deprecations"] == [
        deprecation(
            "Call to deprecated function old_post. (use Client.post())",
            f"tests/test_acme.py:{line_of(test, 'CALL')}",
            "usage",
        )
    ]


# Deprecations: attribution, names, what is not upstream's


def test_upstream_using_its_own_deprecated_api_is_internal(tmp_path: Path) -> None:
    test = """
    import acme_sdk


    def test_acme():
        assert acme_sdk.greet() == "hi"
        assert acme_sdk.old_greet() == "hi"  # CALL
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    message = "old_greet() is deprecated, use greet()"
    assert run.report["deprecations"] == [
        deprecation(
            message, f"acme_sdk/__init__.py:{line_of(ACME_INIT, 'INTERNAL-CALL')}", "internal"
        ),
        deprecation(message, f"tests/test_acme.py:{line_of(test, 'CALL')}", "usage"),
    ]


def test_call_sites_in_other_code_walk_out_to_upstream_or_project(tmp_path: Path) -> None:
    """A third-party frame, or importlib for a module-level warning at import."""
    test = """
    import importlib

    import acme_sdk
    import thirdparty_lib


    def test_acme():
        thirdparty_lib.call(acme_sdk.old_greet)  # THROUGH-THIRDPARTY
        acme_sdk.via_thirdparty()
        importlib.import_module("acme_sdk.legacy")  # IMPORT
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    message = "old_greet() is deprecated, use greet()"
    assert run.report["deprecations"] == [
        deprecation(message, f"tests/test_acme.py:{line_of(test, 'THROUGH-THIRDPARTY')}", "usage"),
        deprecation(
            message, f"acme_sdk/__init__.py:{line_of(ACME_INIT, 'VIA-THIRDPARTY')}", "internal"
        ),
        deprecation(
            "acme_sdk.legacy is deprecated",
            f"tests/test_acme.py:{line_of(test, 'IMPORT')}",
            "usage",
        ),
    ]


@pytest.mark.parametrize("wrapped_warn", [False, True])
def test_a_message_without_subject_names_what_is_deprecated(tmp_path: Path, wrapped_warn) -> None:
    test = """
    import acme_sdk
    import acme_sdk.filter  # WRAPS-WARN
    from acme_sdk.agent import Agent
    from acme_sdk.client import Client


    def test_acme():
        acme_sdk.nameless()  # NAMELESS
        Client().run()  # RUN
        assert Agent().llm == "default"
    """
    if not wrapped_warn:  # else upstream replaced warnings.warn: its wrapper is not the subject
        test = test.replace("import acme_sdk.filter  # WRAPS-WARN", "import acme_sdk.client")
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    assert run.code == 0, run.output
    assert run.report["deprecations"] == [
        deprecation(
            "deprecated: nameless", f"tests/test_acme.py:{line_of(test, 'NAMELESS')}", "usage"
        ),
        deprecation(
            "deprecated: Client.run", f"tests/test_acme.py:{line_of(test, 'RUN')}", "usage"
        ),
        deprecation(
            "deprecated: Agent.function_calling_llm",
            f"acme_sdk/agent.py:{line_of(ACME_AGENT, 'READS-OWN-FIELD')}",
            "internal",
        ),
    ]


def test_warnings_that_upstream_did_not_raise_are_ignored(tmp_path: Path) -> None:
    """Another package's (also when upstream calls it), pydantic's own, the stdlib's, the project's."""
    test = """
    import warnings

    import acme_sdk
    import noisy_lib
    import pytest
    from acme_sdk.agent import Agent


    def test_acme():
        noisy_lib.old()
        Agent().dict()
        acme_sdk.logs_the_old_way()
        acme_sdk.uses_noisy()
        warnings.warn("the project's own", DeprecationWarning)
        with pytest.deprecated_call():
            warnings.warn("expected", DeprecationWarning)
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    assert run.code == 0, run.output
    assert "The 'warn' method is deprecated" in run.output  # raised inside upstream, and shown
    assert "noisy_lib.old_decorated() is deprecated" in run.output
    assert [entry["message"] for entry in run.report["deprecations"]] == [
        "deprecated: Agent.function_calling_llm"  # upstream's own, from Agent()
    ]


# Collection: other integrations' test modules


OWN_TEST = "import acme_sdk\n\n\ndef test_acme():\n    assert acme_sdk.old_greet()\n"


def test_other_integrations_test_modules_are_skipped_and_listed(tmp_path: Path) -> None:
    tests = {
        "tests/test_acme.py": OWN_TEST,
        "tests/test_other.py": "import othervendor_sdk\n\n\ndef test_other():\n    pass\n",
        "tests/test_zeta.py": "from mylib import zeta_support\n\n\ndef test_zeta():\n    pass\n",
    }
    run = run_pytest(tmp_path, tests, "-k", "acme")
    assert run.code == 0, run.output
    reason = "a module of another integration's upstream, not installed in this cell"
    assert run.report["ignored"] == [
        {"path": "tests/test_other.py", "reason": f"No module named 'othervendor_sdk': {reason}"},
        {"path": "tests/test_zeta.py", "reason": f"No module named 'zeta_client': {reason}"},
    ]
    assert run.counts() == {"passed": 1, "skipped": 2} == run.summary()
    assert run.report["failures"] == []
    assert (
        f"{CELL}: ignored tests/test_other.py: No module named 'othervendor_sdk': {reason}"
        in run.output.splitlines()
    )


def test_other_collection_errors_still_count(tmp_path: Path) -> None:
    tests = {
        "tests/test_acme.py": OWN_TEST,
        # This cell's own upstream, even if someone listed it as foreign:
        "tests/test_acme_tools.py": "import acme_sdk.tools\n",
        # Upstream's own code needs the foreign module: upstream is broken here.
        "tests/test_acme_extras.py": "import acme_sdk.extras\n",
        "tests/test_acme_syntax.py": "def test_acme(:\n    pass\n",
        "tests/test_acme_unknown.py": "import not_foreign_at_all\n",
    }
    run = run_pytest(tmp_path, tests, "-k", "acme", foreign=FOREIGN + ",acme_sdk")
    assert run.code == 2, run.output
    assert run.report["ignored"] == []
    assert run.counts() == {"errors": 4} == run.summary()
    messages = {failure["test"]: failure["message"] for failure in run.report["failures"]}
    assert (
        messages["tests/test_acme_tools.py"]
        == "ModuleNotFoundError: No module named 'acme_sdk.tools'"
    )
    assert (
        messages["tests/test_acme_extras.py"]
        == "ModuleNotFoundError: No module named 'othervendor_sdk'"
    )
    assert "SyntaxError" in messages["tests/test_acme_syntax.py"]
    assert run.report["exitstatus"] == 2


# Counts, failures, collection


COUNTED = """
import pytest


@pytest.fixture
def broken():
    raise RuntimeError("setup broke")


@pytest.fixture
def leaky():
    yield
    raise RuntimeError("teardown broke")


def test_pass():
    pass


def test_fail():
    assert 1 == 2, "one is not two"


def test_skip():
    pytest.skip("not today")


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="known")
def test_xpass():
    pass


def test_setup_error(broken):
    pass


def test_teardown_error(leaky):
    pass
"""

SUBTESTS = """
def test_subtests(subtests):
    for i in range(3):
        with subtests.test(msg="case", i=i):
            assert i != 1
"""


@pytest.mark.parametrize("verbosity", [(), ("-v",)], ids=["default", "verbose"])
def test_counts_equal_pytests_summary_line(tmp_path: Path, verbosity: tuple[str, ...]) -> None:
    tests = {"tests/test_counted.py": COUNTED}
    if pytest.version_tuple >= (9,):  # subtests are built in from pytest 9
        tests["tests/test_subtests.py"] = SUBTESTS
    run = run_pytest(tmp_path, tests, *verbosity)
    assert run.code == 1, run.output
    assert run.counts() == run.summary()
    assert {key: run.report["tests"][key] for key in ("xfailed", "xpassed", "errors")} == {
        "xfailed": 1,
        "xpassed": 1,
        "errors": 2,
    }
    failures = {failure["test"]: failure["message"] for failure in run.report["failures"]}
    assert failures["tests/test_counted.py::test_fail"].startswith("AssertionError: one is not two")
    assert "\n" not in failures["tests/test_counted.py::test_fail"]
    assert failures["tests/test_counted.py::test_setup_error"] == (
        "error in setup: RuntimeError: setup broke"
    )
    assert failures["tests/test_counted.py::test_teardown_error"] == (
        "error in teardown: RuntimeError: teardown broke"
    )
    if pytest.version_tuple >= (9,):
        assert failures["tests/test_subtests.py::test_subtests [case] (i=1)"] == "assert 1 != 1"


def test_failures_are_capped(tmp_path: Path) -> None:
    test = """
    import pytest


    @pytest.mark.parametrize("n", range(25))
    def test_acme(n):
        raise ValueError("x" * 5000)
    """
    run = run_pytest(tmp_path, {"tests/test_acme.py": test})
    assert run.counts() == {"failed": 25} == run.summary()
    assert len(run.report["failures"]) == 20
    assert {len(failure["message"]) for failure in run.report["failures"]} == {2000}


def test_collected_before_deselection(tmp_path: Path) -> None:
    tests = {"tests/test_all.py": "def test_acme():\n    pass\n\n\ndef test_zeta():\n    pass\n"}
    selected = run_pytest(tmp_path / "selected", tests, "-k", "acme")
    assert (selected.report["collected"], selected.report["deselected"]) == (2, 1)
    assert selected.counts() == {"passed": 1} and selected.report["exitstatus"] == 0

    none_matched = run_pytest(tmp_path / "none-matched", tests, "-k", "crewai")
    assert (none_matched.report["collected"], none_matched.report["deselected"]) == (2, 2)
    assert none_matched.counts() == {} and none_matched.report["exitstatus"] == 5

    empty = {"tests/test_all.py": "import acme_sdk\n"}  # the configured paths hold no tests
    nothing = run_pytest(tmp_path / "nothing", empty, "tests", "-k", "acme")
    assert (nothing.report["collected"], nothing.report["deselected"]) == (0, 0)
    assert nothing.report["exitstatus"] == 5


# Other interpreters and pytest versions


SEVERAL = {
    "tests/conftest.py": "import acme_sdk\n",
    "tests/test_acme.py": """
    import acme_sdk
    import pytest
    from acme_sdk.client import Client


    def test_acme():
        assert acme_sdk.old_bare() == "hi"  # BARE
        assert acme_sdk.greet() == "hi"
        Client().run()  # RUN


    @pytest.mark.xfail
    def test_acme_xfail():
        assert False
    """,
    "tests/test_other.py": "import othervendor_sdk\n",
}


def expect_several(run: Run) -> None:
    test = SEVERAL["tests/test_acme.py"]
    assert run.code == 0, run.output
    assert run.report["deprecations"] == [
        deprecation(
            "old_bare() is deprecated",
            f"tests/test_acme.py:{line_of(test, 'BARE')}",
            "usage",
            "PendingDeprecationWarning",
        ),
        deprecation(
            "old_greet() is deprecated, use greet()",
            f"acme_sdk/__init__.py:{line_of(ACME_INIT, 'INTERNAL-CALL')}",
            "internal",
        ),
        deprecation(
            "deprecated: Client.run", f"tests/test_acme.py:{line_of(test, 'RUN')}", "usage"
        ),
    ]
    assert [entry["path"] for entry in run.report["ignored"]] == ["tests/test_other.py"]
    assert run.counts() == {"passed": 1, "skipped": 1, "xfailed": 1} == run.summary()


def venv_with_pytest(tmp_path: Path, python: str, index_url: str | None, *requirements: str) -> str:
    found = subprocess.run(["uv", "python", "find", python], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip(f"no Python {python} here")
    venv = tmp_path / f"venv-{python}"
    subprocess.run(["uv", "venv", "-q", "--python", python, str(venv)], check=True)
    index = ["--default-index", index_url] if index_url else []
    install = ["uv", "pip", "install", "-q", "--python", str(venv / "bin/python"), *index]
    subprocess.run([*install, *requirements], check=True, capture_output=True)
    return str(venv / "bin/python")


def test_on_python_3_13(index_server, tmp_path: Path) -> None:
    """This pytest, from the local index, on the newest Python the plugin supports."""
    index_server.add_installed("pytest", "pluggy", "iniconfig", "packaging", "pygments")
    python = venv_with_pytest(tmp_path, "3.13", index_server.simple_url, "pytest")
    expect_several(run_pytest(tmp_path, SEVERAL, python=python))


@pytest.mark.network
@pytest.mark.parametrize(("python", "pytest_spec"), [("3.9", "pytest<8"), ("3.10", "pytest<9")])
def test_on_older_python_and_pytest(tmp_path: Path, python: str, pytest_spec: str) -> None:
    """pytest 7 on Python 3.9 and pytest 8 on 3.10, from the public index."""
    python = venv_with_pytest(tmp_path, python, None, pytest_spec, "typing_extensions")
    expect_several(run_pytest(tmp_path, SEVERAL, python=python))
