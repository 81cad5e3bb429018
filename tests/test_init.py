"""``compat init``: a starting compat.toml from pyproject.toml shapes and package layouts."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release

from compat import init
from compat.index import IndexClient
from compat.init import InitError, add_hook, propose, write
from compat.matrix import load


def project(root: Path, pyproject: str, files: tuple[str, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(pyproject))
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return root


OPTIONAL = """
    [project]
    name = "mylib"
    version = "1"
    classifiers = [
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
    ]
    dependencies = ["requests>=2"]

    [project.optional-dependencies]
    crewai = ["crewai>=0.80.0", "crewai-tools>=0.5", "httpx<0.28"]
    autogen = ["autogen-agentchat>=0.4.2", "autogen-ext[openai]>=0.4.2"]
    dev = ["pytest>=8", "openai>=1"]
    all = ["mylib[crewai,autogen]"]
"""
FLAT = (
    "mylib/__init__.py",
    "mylib/core.py",
    "mylib/integrations/__init__.py",
    "mylib/integrations/crewai.py",
    "tests/integration/test_smoke.py",
    "tests/test_core.py",
)


def names(proposal) -> dict[str, str]:
    return {g.name: g.package for g in proposal.integrations}


def test_optional_dependency_groups_in_a_flat_layout(tmp_path: Path):
    root = project(tmp_path, OPTIONAL, FLAT)
    proposal = propose(root)
    assert names(proposal) == {"crewai": "crewai", "autogen": "autogen-agentchat"}
    crewai, autogen = proposal.integrations
    assert crewai.file == "mylib/integrations/crewai.py" and autogen.file is None
    assert crewai.with_ == ("crewai-tools>=0.5", "httpx<0.28")
    assert autogen.with_ == ("autogen-ext[openai]>=0.4.2",)
    assert crewai.floor == "0.80.0"
    assert crewai.reasons[:3] == (
        "the optional-dependency group `crewai` is named after it",
        "the module mylib/integrations/crewai.py is named after it",
        "min: the floor 0.80.0 declared in pyproject.toml (project.optional-dependencies.crewai)",
    )
    skipped = dict(proposal.skipped)
    assert skipped["requests>=2"] == (
        "no extra and no module named after it, and the project's code does not import it"
    )
    assert skipped["crewai-tools>=0.5"] == "co-installed with crewai by the group `crewai`"
    assert "openai>=1" not in skipped  # a development group is never read
    assert proposal.python == ("3.11", "3.12")
    assert proposal.tests == ("tests/integration/test_smoke.py",)

    assert write(proposal) == ["wrote compat.toml"]
    matrix = load(root / "compat.toml")  # a valid matrix, minimums from pyproject.toml
    crewai = matrix.integration("crewai")
    assert (crewai.min, crewai.file, crewai.with_) == (
        "0.80.0",
        "mylib/integrations/crewai.py",
        ("crewai-tools>=0.5", "httpx<0.28"),
    )
    assert crewai.min_source.startswith("pyproject.toml:")
    assert matrix.integration("autogen").min == "0.4.2"
    assert matrix.settings.python == ("3.11", "3.12")
    text = (root / "compat.toml").read_text()
    assert "# the optional-dependency group `crewai` is named after it\n" in text
    assert "min =" not in text.replace("# min", "")  # left to the declared floor


def test_plain_dependencies_need_a_module_named_after_them(tmp_path: Path):
    root = project(
        tmp_path,
        """
        [project]
        name = "mylib"
        version = "1"
        dependencies = ["openai>=1.40.0", "langchain-core>=0.3", "requests", "pydantic>=2"]
        """,
        (
            "mylib/__init__.py",
            "mylib/adapters/openai.py",
            "mylib/langchain/__init__.py",
            "tests/test_openai.py",
            "tests/test_langchain_tools.py",
        ),
    )
    proposal = propose(root)
    assert names(proposal) == {"openai": "openai", "langchain": "langchain-core"}
    openai, langchain = proposal.integrations
    assert openai.file == "mylib/adapters/openai.py"
    assert langchain.file == "mylib/langchain/__init__.py"
    assert openai.tests == ("tests/test_openai.py",)  # narrower than all of tests/
    assert langchain.tests == ("tests/test_langchain_tools.py",)
    assert {r for r, _ in proposal.skipped} == {"requests", "pydantic>=2"}
    write(proposal)
    matrix = load(root / "compat.toml")
    assert matrix.integration("openai").min == "1.40.0"
    assert matrix.integration("langchain").tests == ("tests/test_langchain_tools.py",)


def test_dependency_groups_and_a_src_layout(tmp_path: Path):
    root = project(
        tmp_path,
        """
        [project]
        name = "my-lib"
        version = "1"

        [dependency-groups]
        langchain = ["langchain-core>=0.3.0", "langchain-openai"]
        autogen = [{include-group = "langchain"}, "autogen-agentchat>=0.4"]
        test = ["pytest>=8", "crewai>=1"]
        """,
        (
            "src/my_lib/__init__.py",
            "src/my_lib/integrations/langchain.py",
            "src/my_lib/integrations/autogen_agentchat.py",
            "tests/integrations/test_smoke.py",
        ),
    )
    proposal = propose(root)
    assert names(proposal) == {"langchain": "langchain-core", "autogen": "autogen-agentchat"}
    langchain, autogen = proposal.integrations
    assert langchain.file == "src/my_lib/integrations/langchain.py"
    assert autogen.file == "src/my_lib/integrations/autogen_agentchat.py"
    assert langchain.with_ == ("langchain-openai",)
    assert langchain.reasons[0] == "the dependency group `langchain` is named after it"
    assert proposal.tests == ("tests/integrations/test_smoke.py",)
    write(proposal)
    matrix = load(root / "compat.toml")  # the floor is read from the dependency group
    assert matrix.integration("langchain").min == "0.3.0"
    assert matrix.integration("autogen").file == "src/my_lib/integrations/autogen_agentchat.py"


def test_no_integration_found_writes_nothing(tmp_path: Path):
    root = project(
        tmp_path,
        """
        [project]
        name = "mylib"
        version = "1"
        dependencies = ["requests>=2", "click"]

        [project.optional-dependencies]
        docs = ["sphinx"]
        """,
        ("mylib/__init__.py",),
    )
    with pytest.raises(InitError, match=r"no dependency .* checked: click, requests>=2"):
        propose(root)
    assert not (root / "compat.toml").exists()


def test_it_never_overwrites(tmp_path: Path):
    root = project(tmp_path, OPTIONAL, FLAT)
    proposal = propose(root)
    (root / "compat.toml").write_text("# mine\n")
    with pytest.raises(InitError, match="already exists"):
        propose(root)
    with pytest.raises(InitError, match="already exists"):
        write(proposal)
    assert (root / "compat.toml").read_text() == "# mine\n"
    other = project(tmp_path / "other", OPTIONAL + "\n[tool.compat]\n", FLAT)
    with pytest.raises(InitError, match=r"already has a \[tool.compat\] table"):
        propose(other)
    with pytest.raises(InitError, match="no pyproject.toml"):
        propose(tmp_path / "nothing-here")


def test_repo_from_the_project_urls_on_the_index(index_server: IndexServer, tmp_path: Path):
    index_server.add(
        Release("crewai", "0.80.0", project_urls={"Source": "https://github.com/crewAIInc/crewAI"}),
        Release("autogen-agentchat", "0.4.2", project_urls={"Homepage": "https://example.org"}),
    )
    root = project(tmp_path / "proj", OPTIONAL, FLAT)
    proposal = propose(root, IndexClient(index_server.simple_url))
    crewai, autogen = proposal.integrations
    assert crewai.repo == "crewAIInc/crewAI"
    assert crewai.reasons[-1] == "repo: from the project URLs on the index"
    assert autogen.repo is None
    assert autogen.reasons[-1] == "repo: no GitHub URL in the project URLs on the index"
    write(proposal)
    assert load(root / "compat.toml").integration("crewai").repo == "crewAIInc/crewAI"


def test_repo_lookup_failure_is_a_reason_not_an_error(index_server: IndexServer, tmp_path: Path):
    root = project(tmp_path / "proj", OPTIONAL, FLAT)
    proposal = propose(root, IndexClient(index_server.simple_url))  # nothing published
    assert proposal.integrations[0].repo is None
    assert proposal.integrations[0].reasons[-1].startswith("repo: not found (package 'crewai'")


def test_noxfile_hook(tmp_path: Path):
    source = b'"""Our sessions."""\r\n\r\nimport nox\r\n\r\n\r\n@nox.session\r\ndef tests(session):\r\n    pass\r\n'
    hooked = add_hook(source)
    assert hooked == (
        b'"""Our sessions."""\r\n\r\nimport nox\r\nimport compat.nox\r\n\r\n\r\n@nox.session\r\n'
        b"def tests(session):\r\n    pass\r\n\r\ncompat.nox.register()\r\n"
    )
    compile(hooked, "noxfile.py", "exec")
    assert add_hook(b"") == b"import compat.nox\n\ncompat.nox.register()\n"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offline", action="store_true")
    init.add_arguments(parser)
    return parser


def test_the_command_prints_why_and_edits_only_when_asked(tmp_path: Path, capsys):
    root = project(tmp_path, OPTIONAL, FLAT)
    (root / "noxfile.py").write_text("import nox\n")
    (root / ".gitignore").write_text("dist/")
    args = ["--root", str(root), "--no-index"]

    assert init.run(parser().parse_args([*args, "--dry-run"])) == 0
    out = capsys.readouterr().out
    assert "crewai: crewai (mylib/integrations/crewai.py)\n  - the optional-dependency" in out
    assert (
        "not an integration: requests>=2 (no extra and no module named after it, and the "
        "project's code does not import it)" in out
    )
    assert "--- compat.toml (not written) ---\n# Written by `compat init`" in out
    assert not (root / "compat.toml").exists()

    assert init.run(parser().parse_args(args)) == 0
    out = capsys.readouterr().out
    assert "wrote compat.toml" in out
    assert "add to noxfile.py (or rerun with --edit):\n      import compat.nox\n" in out
    assert "add .compat/ to .gitignore" in out
    assert (root / "noxfile.py").read_text() == "import nox\n"  # not edited unasked
    assert (root / ".gitignore").read_text() == "dist/"

    (root / "compat.toml").unlink()
    assert init.run(parser().parse_args([*args, "--edit"])) == 0
    out = capsys.readouterr().out
    assert "added the compat hook to noxfile.py\nadded .compat/ to .gitignore\n" in out
    assert (root / "noxfile.py").read_text() == (
        "import nox\nimport compat.nox\n\ncompat.nox.register()\n"
    )
    assert (root / ".gitignore").read_text() == "dist/\n.compat/\n"

    (root / "compat.toml").unlink()
    assert init.run(parser().parse_args([*args, "--edit"])) == 0  # hooked and ignored already
    out = capsys.readouterr().out
    assert "noxfile" not in out and ".gitignore" not in out
    assert (root / ".gitignore").read_text() == "dist/\n.compat/\n"


def test_without_a_noxfile_it_shows_one(tmp_path: Path, capsys):
    root = project(tmp_path, OPTIONAL, FLAT)
    assert init.run(parser().parse_args(["--root", str(root), "--no-index"])) == 0
    out = capsys.readouterr().out
    assert "create noxfile.py with:\n      import nox\n      import compat.nox\n" in out
    assert not (root / "noxfile.py").exists()


def test_namespace_src_layout_and_optional_only_dependencies(tmp_path: Path) -> None:
    """An OpenTelemetry-style instrumentation: src/opentelemetry/instrumentation/httpx/ (a
    namespace package) and an extra not named after its packages."""
    root = tmp_path / "otel"
    (root / "src/opentelemetry/instrumentation/httpx").mkdir(parents=True)
    (root / "src/opentelemetry/instrumentation/httpx/__init__.py").write_text(
        "from opentelemetry.instrumentation.httpx.version import __version__\n"
    )  # an import of itself, not of a distribution named opentelemetry-*
    (root / "src/opentelemetry/instrumentation/httpx/version.py").write_text("__version__ = 1\n")
    (root / "tests").mkdir()
    (root / "tests/test_httpx_integration.py").write_text("")
    (root / "tests/test_httpx2_integration.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "opentelemetry-instrumentation-httpx"\n'
        'dependencies = ["wrapt >= 1.0.0, < 3.0.0", "opentelemetry-instrumentation == 0.66b2"]\n'
        '[project.optional-dependencies]\ninstruments-any = ["httpx >= 0.18.0", "httpx2 >= 2.0.0"]\n'
    )
    proposal = propose(root)
    found = {g.name: g for g in proposal.integrations}
    assert set(found) == {"httpx", "httpx2"}  # wrapt is required: not an integration
    assert "does not import it" in dict(proposal.skipped)["opentelemetry-instrumentation==0.66b2"]
    assert found["httpx"].file == "src/opentelemetry/instrumentation/httpx/__init__.py"
    assert found["httpx"].tests == ("tests/test_httpx_integration.py",)
    assert found["httpx2"].tests == ("tests/test_httpx2_integration.py",)
    assert any("optional dependency" in reason for reason in found["httpx2"].reasons)


PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_a_plugin_for_packages_it_imports(tmp_path: Path, capsys) -> None:
    """A pytest plugin for an HTTP client: its integrations are core dependencies it imports."""
    root = project(
        tmp_path,
        f"""
        [project]
        name = "pytest-client"
        version = "1"
        requires-python = ">={PY}"
        classifiers = [
            "Programming Language :: Python :: 3.8",
            "Programming Language :: Python :: {PY}",
            "Programming Language :: Python :: 3.99",
        ]
        dependencies = ["client==0.28.*", "pytest==9.*", "typing-extensions>=4", "idna"]

        [project.optional-dependencies]
        testing = ["pytest-asyncio>=1,<2", "respx", "client[http2]"]
        """,
        ("tests/test_plugin.py",),
    )
    (root / "src/pytest_client").mkdir(parents=True)
    (root / "src/pytest_client/__init__.py").write_text(
        "from ._fixture import fixture\nimport pytest\n"
    )
    (root / "src/pytest_client/_fixture.py").write_text(
        "import client\nfrom typing_extensions import Self\nfrom client._transports import X\n"
    )
    proposal = propose(root)
    assert names(proposal) == {"client": "client", "pytest": "pytest"}
    client, pytest_ = proposal.integrations
    assert client.reasons[0] == (
        "the project's code imports client (src/pytest_client/_fixture.py:1, "
        "src/pytest_client/_fixture.py:3)"
    )
    assert (
        pytest_.reasons[0] == "the project's code imports pytest (src/pytest_client/__init__.py:2)"
    )
    assert (client.floor, pytest_.floor) == ("0.28", "9")
    assert client.select == pytest_.select == ""  # every test exercises what the code imports
    skipped = dict(proposal.skipped)
    assert (
        skipped["typing-extensions>=4"] == "a backport of the standard library, not an integration"
    )
    assert "does not import it" in skipped["idna"]
    assert proposal.python == (PY,)  # 3.8: not allowed by requires-python; 3.99: not here
    assert "not found here: 3.99" in proposal.python_reason and "3.8" not in proposal.python_reason
    assert proposal.test_requires == ("pytest-asyncio>=1,<2", "respx")
    assert proposal.test_requires_reason == (
        "test-requires: from the extra `testing` (without client[http2]: each cell pins its "
        "integration)"
    )
    assert init.run(parser().parse_args(["--root", str(root), "--no-index"])) == 0
    assert "client: client\n  - the project's code imports client" in capsys.readouterr().out
    matrix = load(root / "compat.toml")
    assert matrix.integration("client").min == "0.28"  # the plan takes the lowest 0.28.x
    assert matrix.settings.python == (PY,)
    assert matrix.settings.test_requires == ("pytest-asyncio>=1,<2", "respx")
    assert matrix.integration("pytest").select == ""


def test_test_requires_from_groups_and_requirement_files(tmp_path: Path) -> None:
    groups = project(
        tmp_path / "groups",
        """
        [project]
        name = "mylib"
        version = "1"
        [project.optional-dependencies]
        crewai = ["crewai>=1"]
        [dependency-groups]
        lint = ["ruff"]
        test = [{include-group = "base"}, "pytest-mock"]
        base = ["pytest>=8.2", "mylib[crewai]"]
        """,
    )
    proposal = propose(groups)
    assert proposal.test_requires == ("pytest>=8.2", "pytest-mock")
    assert proposal.test_requires_reason == "test-requires: from the dependency group `test`"

    files = project(
        tmp_path / "files",
        """
        [project]
        name = "mylib"
        version = "1"
        [project.optional-dependencies]
        crewai = ["crewai>=1"]
        """,
        ("tests/test_smoke.py",),
    )
    (files / "requirements").mkdir()
    (files / "requirements/base.txt").write_text("# shared\nhypothesis>=6  # property tests\n")
    (files / "requirements/test.txt").write_text(
        "-r base.txt\n--index-url https://example.org/simple\n-e .\npytest-cov\n./local-pkg\n"
    )
    proposal = propose(files)
    assert proposal.test_requires == ("pytest", "hypothesis>=6", "pytest-cov")
    assert proposal.test_requires_reason == (
        "test-requires: from requirements/test.txt; pytest added: the cells run it"
    )
    write(proposal)
    assert load(files / "compat.toml").settings.test_requires == proposal.test_requires

    bare = project(
        tmp_path / "bare",
        '[project]\nname = "x"\ndependencies = ["crewai>=1"]\n',
        ("x/__init__.py", "x/crewai.py"),
    )
    proposal = propose(bare)
    assert proposal.test_requires == () and "no test extra" in proposal.test_requires_reason
    assert "test-requires =" not in proposal.toml()
