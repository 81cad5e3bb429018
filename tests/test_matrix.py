"""compat.toml / [tool.compat] loading and every validation error."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from compat.matrix import ConfigError, find_config, load

BASE = """
[integrations.acme]
package = "acme-sdk"
min = "1.0.0"
"""


def write(tmp_path: Path, text: str, name: str = "compat.toml") -> Path:
    for test in ("tests/integration/test_smoke.py", "tests/smoke.py", "tests/crew.py"):
        (tmp_path / test).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / test).touch()
    (tmp_path / "mylib/integrations").mkdir(parents=True, exist_ok=True)
    (tmp_path / "mylib/integrations/crewai.py").touch()
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(tmp_path: Path, text: str, name: str = "compat.toml") -> str:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text, name))
    return str(info.value)


def test_full_schema(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [settings]
        python = ["3.11", "3.12"]
        tests = ["tests/smoke.py"]
        test-requires = ["pytest>=8", "pytest-asyncio"]
        install-project = false
        results-dir = "out/results"
        docs = "docs/matrix.md"
        index-url = "http://127.0.0.1:1/simple/"
        prereleases = true
        timeout = 120

        [settings.policy]
        majors = 3
        minors = 1

        [integrations.crewai]
        package = "crewai"
        min = "1.1.0"
        versions = "!=1.3.0"
        python = ["3.12"]
        select = "crew"
        tests = ["tests/crew.py"]
        with = ["crewai-tools"]
        deps = { "<1.6" = ["httpx<0.28"] }
        repo = "crewAIInc/crewAI"
        file = "mylib/integrations/crewai.py"
        """,
    )
    matrix = load(path)
    s = matrix.settings
    assert s.python == ("3.11", "3.12") and s.tests == ("tests/smoke.py",)
    assert s.install_project is False and s.prereleases is True and s.timeout == 120.0
    assert s.index_url == "http://127.0.0.1:1/simple" and s.policy.majors == 3
    assert matrix.results_dir == tmp_path / "out/results"
    crew = matrix.integration("crewai")
    assert crew.min == "1.1.0" and crew.min_source == "compat.toml:19"
    assert crew.versions == SpecifierSet("!=1.3.0") and crew.python == ("3.12",)
    assert crew.requirements("1.5.0") == ["crewai==1.5.0", "crewai-tools", "httpx<0.28"]
    assert crew.requirements("1.6.0") == ["crewai==1.6.0", "crewai-tools"]


def test_defaults(tmp_path: Path) -> None:
    matrix = load(write(tmp_path, BASE))
    acme = matrix.integration("acme")
    assert acme.select == "acme" and acme.python == matrix.settings.python
    assert matrix.settings.tests == ("tests/integration/test_smoke.py",)
    assert matrix.settings.policy.majors == 2 and matrix.settings.policy.minors == 2


def test_default_index_from_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("UV_INDEX_URL", "http://mirror.invalid/simple/")
    monkeypatch.delenv("UV_DEFAULT_INDEX", raising=False)
    assert load(write(tmp_path, BASE)).settings.index_url == "http://mirror.invalid/simple"


def test_tool_compat_in_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        [project]
        name = "mylib"
        dependencies = ["requests"]
        optional-dependencies = { acme = ["acme-sdk~=2.3"] }

        [tool.compat.integrations.acme]
        package = "acme-sdk"
        """,
        "pyproject.toml",
    )
    assert find_config(tmp_path) == tmp_path / "pyproject.toml"
    acme = load(tmp_path / "pyproject.toml").integration("acme")
    assert acme.min == "2.3" and acme.min_source == "pyproject.toml:5"


def test_minimum_from_pyproject_dependencies(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
        [project]
        name = "mylib"
        dependencies = [
            "requests",
            "Acme_SDK[fast] >=1.2.0, <3",
        ]
        """,
        "pyproject.toml",
    )
    acme = load(write(tmp_path, '[integrations.acme]\npackage = "acme-sdk"\n')).integration("acme")
    assert (acme.min, acme.min_source) == ("1.2.0", "pyproject.toml:6")


def test_no_minimum_anywhere(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\ndependencies = ["acme-sdk<3"]\n', "pyproject.toml")
    message = error_of(tmp_path, '\n[integrations.acme]\npackage = "acme-sdk"\n')
    assert "compat.toml:2: integrations.acme: no minimum version for 'acme-sdk'" in message
    assert "pyproject.toml" in message and "`min`" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BASE + 'mni = "1"\n',
            r"compat.toml:5: integrations.acme.mni: unknown key \(did you mean 'min'\?\)",
        ),
        (
            "[setings]\n" + BASE,
            r"compat.toml:1: setings: unknown key \(did you mean 'settings'\?\)",
        ),
        (
            '[settings]\npython = "3.12"\n' + BASE,
            r"compat.toml:2: settings.python: expected a list, got '3.12'",
        ),
        (
            '[settings]\npython = ["3"]\n' + BASE,
            r"compat.toml:2: settings.python: expected a Python version like '3.12', got '3'",
        ),
        (
            '[settings]\ntimeout = "10"\n' + BASE,
            r"settings.timeout: expected an integer or a number, got '10' \(a string\)",
        ),
        (
            "[settings]\ntimeout = -1\n" + BASE,
            r"compat.toml:2: settings.timeout: expected a positive number",
        ),
        (
            "[settings]\nprereleases = 1\n" + BASE,
            r"settings.prereleases: expected true or false, got 1",
        ),
        (
            '[settings]\ninstall-project = "yes"\n' + BASE,
            r"settings.install-project: expected true or false",
        ),
        (
            "[settings.policy]\nmajors = 0\n" + BASE,
            r"compat.toml:2: settings.policy.majors: expected a positive integer, got 0",
        ),
        (
            "[settings.policy]\nmajor = 1\n" + BASE,
            r"settings.policy.major: unknown key \(did you mean 'majors'\?\)",
        ),
        (
            '[settings]\ntest-requires = ["pytest>>8"]\n' + BASE,
            r"settings.test-requires: invalid requirement 'pytest>>8'",
        ),
        (
            BASE + 'versions = "!=1.3.x"\n',
            r"compat.toml:5: integrations.acme.versions: invalid version specifier '!=1.3.x'",
        ),
        (
            BASE.replace('"1.0.0"', '"one"'),
            r"compat.toml:4: integrations.acme.min: not a valid version: 'one'",
        ),
        (
            '[integrations.Acme]\npackage = "a"\nmin = "1"\n',
            r"compat.toml:1: integrations.Acme: integration names must be lowercase identifiers",
        ),
        (
            '[integrations."a b"]\npackage = "a"\nmin = "1"\n',
            r"integrations.a b: integration names must be",
        ),
        ('[integrations.acme]\nmin = "1"\n', r"compat.toml:1: integrations.acme.package: missing"),
        (
            '[integrations.acme]\npackage = "acme[x]"\nmin = "1"\n',
            r"integrations.acme.package: expected a distribution name",
        ),
        (BASE + 'with = ["ok", 3]\n', r"integrations.acme.with: expected a list of strings, got 3"),
        (
            BASE + 'deps = { "<2" = "httpx" }\n',
            r"integrations.acme.deps: expected a list of requirements for '<2'",
        ),
        (
            BASE + 'deps = { "<<2" = ["httpx"] }\n',
            r"integrations.acme.deps: invalid version specifier '<<2'",
        ),
        (BASE + 'repo = "not a repo"\n', r"integrations.acme.repo: expected a GitHub 'owner/name'"),
        ("[settings]\n", r"compat.toml:1: integrations: the matrix is empty"),
        ("integrations = 3\n", r"compat.toml:1: integrations: expected a table, got 3"),
        ("[integrations]\nacme = 1\n", r"compat.toml:2: integrations.acme: expected a table"),
        ("[settings\n", r"compat.toml: invalid TOML"),
    ],
)
def test_validation_errors(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(str(tmp_path / "compat.toml"))
    assert re.search(expected, message), message


def test_error_lines_in_pyproject(tmp_path: Path) -> None:
    text = '[project]\nname = "x"\n\n[tool.compat.integrations.acme]\npackage = "a"\nmin = "1"\ntimeout = 3\n'
    message = error_of(tmp_path, text, "pyproject.toml")
    assert "pyproject.toml:7: tool.compat.integrations.acme.timeout: unknown key" in message


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no compat.toml"):
        find_config(tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "compat.toml")


def test_unknown_integration_suggests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no integration named 'acm' \(did you mean 'acme'\?\)"):
        load(write(tmp_path, BASE)).integration("acm")


def test_repository_matrix_loads() -> None:
    matrix = load(Path(__file__).parent.parent / "compat.toml")
    assert [i.name for i in matrix.integrations] == ["openai", "crewai", "autogen", "langchain"]
    assert matrix.integration("autogen").package == "autogen-agentchat"
    assert all(i.min_source.startswith("pyproject.toml:") for i in matrix.integrations)
