"""The index client and `compat plan`, end to end against the local test index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pkgindex import IndexServer, Release

from compat.cli import main
from compat.index import IndexClient, IndexFailure

PY = f"{sys.version_info.major}.{sys.version_info.minor}"

ACME = [
    Release("acme-sdk", "0.9.0"),
    Release("acme-sdk", "1.0.0"),
    Release("acme-sdk", "1.1.0"),
    Release("acme-sdk", "1.1.2"),
    Release("acme-sdk", "1.2.0", yanked="broken wheel"),
    Release("acme-sdk", "2.0.0"),
    Release("acme-sdk", "2.1.0"),
    Release("acme-sdk", "2.1.1", requires_python=">=3.99"),
    Release("acme-sdk", "2.2.0rc1"),
]


@pytest.fixture
def acme(index_server: IndexServer) -> IndexServer:
    index_server.add(*ACME, Release("other-lib", "3.0.0"), Release("other-lib", "3.1.0"))
    return index_server


def project_dir(tmp_path: Path, server: IndexServer, extra: str = "") -> Path:
    (tmp_path / "proj/tests/integration").mkdir(parents=True)
    (tmp_path / "proj/tests/integration/test_smoke.py").touch()
    (tmp_path / "proj/pyproject.toml").write_text(
        '[project]\nname = "mylib"\nversion = "1"\n'
        'optional-dependencies = { acme = ["acme-sdk>=1.0.0"] }\n'
    )
    (tmp_path / "proj/compat.toml").write_text(
        f'[settings]\npython = ["{PY}"]\nindex-url = "{server.simple_url}"\n{extra}\n'
        '[integrations.acme]\npackage = "acme-sdk"\nwith = ["other-lib"]\n'
        'deps = { "<2" = ["other-lib<3.1"] }\n'
    )
    return tmp_path / "proj"


@pytest.mark.parametrize("html_only", [False, True])
def test_client_reads_releases(acme: IndexServer, html_only: bool) -> None:
    acme.html_only = html_only
    project = IndexClient(acme.simple_url).project("Acme_SDK")
    versions = [str(r.version) for r in project.releases]
    assert versions == [
        "0.9.0",
        "1.0.0",
        "1.1.0",
        "1.1.2",
        "1.2.0",
        "2.0.0",
        "2.1.0",
        "2.1.1",
        "2.2.0rc1",
    ]
    assert project.release("1.2.0").yanked and not project.release("1.1.2").yanked
    assert project.release("2.1.1").admits("3.99") and not project.release("2.1.1").admits(PY)
    if not html_only:  # PEP 700 upload times exist only in the JSON API
        assert project.release("1.0.0").upload_time < project.release("2.0.0").upload_time
    assert project.release("2.0.0").files[0].sha256


def test_unknown_package(acme: IndexServer) -> None:
    with pytest.raises(
        IndexFailure, match=rf"package 'nope' not found on the index {acme.simple_url}"
    ):
        IndexClient(acme.simple_url).project("nope")


def test_cache_makes_no_second_request(acme: IndexServer) -> None:
    IndexClient(acme.simple_url).projects(["acme-sdk", "other-lib"])
    count = len(acme.requests)
    assert count == 2
    project = IndexClient(acme.simple_url).project("acme-sdk")
    assert len(acme.requests) == count and not project.from_cache


def test_stale_cache_is_revalidated_with_etag(tmp_path: Path) -> None:
    with IndexServer(tmp_path / "idx", max_age=0) as server:
        server.add(*ACME)
        IndexClient(server.simple_url).project("acme-sdk")
        IndexClient(server.simple_url).project("acme-sdk")
        assert "If-None-Match" in server.requests[-1][2] or "if-none-match" in {
            k.lower() for k in server.requests[-1][2]
        }
        server.add(Release("acme-sdk", "3.0.0"))
        assert (
            str(IndexClient(server.simple_url).project("acme-sdk").releases[-1].version) == "3.0.0"
        )


def test_offline_and_outage_use_the_cache(acme: IndexServer, capsys) -> None:
    IndexClient(acme.simple_url).project("acme-sdk")
    count = len(acme.requests)
    offline = IndexClient(acme.simple_url, offline=True).project("acme-sdk")
    assert offline.from_cache and len(acme.requests) == count
    assert "offline; using the cached index page of 'acme-sdk'" in capsys.readouterr().err
    acme.fail = True
    client = IndexClient(acme.simple_url)
    client.session.headers["Cache-Control"] = "no-cache"  # force a request despite freshness
    assert client.project("acme-sdk").from_cache
    assert "answered 503" in capsys.readouterr().err


def test_no_cache_and_no_index(tmp_path: Path) -> None:
    with pytest.raises(IndexFailure, match="cannot reach .* and no cached copy of 'acme-sdk'"):
        IndexClient("http://127.0.0.1:9/simple").project("acme-sdk")
    with pytest.raises(IndexFailure, match="offline, and no cached copy"):
        IndexClient("http://127.0.0.1:9/simple", offline=True).project("acme-sdk")


def test_plan_table(acme: IndexServer, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(project_dir(tmp_path, acme))
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "SESSION",
        "INTEGRATION",
        "LABEL",
        "VERSION",
        "PYTHON",
        "WHY",
    ]
    assert f"compat-acme-min-{PY}" in out and "declared minimum (pyproject.toml:4)" in out
    assert "2.2.0rc1" not in out and "1.2.0" not in out


def test_plan_json(acme: IndexServer, tmp_path: Path, capsys) -> None:
    config = project_dir(tmp_path, acme, "prereleases = true") / "compat.toml"
    assert main(["plan", "--config", str(config), "--format", "json"]) == 0
    cells = json.loads(capsys.readouterr().out)
    assert [(c["label"], c["version"], c["applicable"]) for c in cells] == [
        ("min", "1.0.0", True),
        ("1.1", "1.1.2", True),
        ("2.0", "2.0.0", True),
        ("latest", "2.1.1", False),  # requires-python >=3.99: not-applicable, not missing
        ("pre", "2.2.0rc1", True),
    ]
    assert cells[0]["session"] == f"compat-acme-min-{PY}"
    assert cells[0]["requirements"] == ["acme-sdk==1.0.0", "other-lib", "other-lib<3.1"]
    assert cells[3]["requirements"] == ["acme-sdk==2.1.1", "other-lib"]
    assert {
        "session",
        "integration",
        "label",
        "package",
        "version",
        "python",
        "requirements",
    } <= set(cells[0])


def test_plan_github_matrix_via_the_installed_command(acme: IndexServer, tmp_path: Path) -> None:
    proj = project_dir(tmp_path, acme)
    done = subprocess.run(
        ["compat", "plan", "--format", "github"],
        cwd=proj,
        capture_output=True,
        text=True,
        check=True,
    )
    matrix = json.loads(done.stdout)
    assert [e["session"] for e in matrix["include"]] == [
        f"compat-acme-{label}-{PY}" for label in ("min", "1.1", "2.0", "latest")
    ]


def test_plan_errors_exit_2(acme: IndexServer, tmp_path: Path, capsys) -> None:
    proj = project_dir(tmp_path, acme)
    (proj / "compat.toml").write_text((proj / "compat.toml").read_text() + 'min = "1.0.5"\n')
    assert main(["plan", "--config", str(proj / "compat.toml")]) == 2
    assert "minimum 1.0.5 does not exist on the index" in capsys.readouterr().err
    (proj / "compat.toml").write_text(
        f'[integrations.x]\npackage = "nope"\nmin = "1"\n[settings]\nindex-url = "{acme.simple_url}"\n'
    )
    assert main(["plan", "--config", str(proj / "compat.toml")]) == 2
    assert "package 'nope' not found on the index" in capsys.readouterr().err


def test_plan_offline_without_cache_exits_2(acme: IndexServer, tmp_path: Path, capsys) -> None:
    proj = project_dir(tmp_path, acme)
    assert main(["plan", "--offline", "--config", str(proj / "compat.toml")]) == 2
    assert "offline, and no cached copy" in capsys.readouterr().err
    assert main(["plan", "--config", str(proj / "compat.toml")]) == 0
    assert main(["plan", "--offline", "--config", str(proj / "compat.toml")]) == 0  # stored plan
    (proj / ".compat/plan.json").unlink()
    assert main(["plan", "--offline", "--config", str(proj / "compat.toml")]) == 0  # cached pages
    assert "using the cached index page" in capsys.readouterr().err


@pytest.mark.network
def test_live_plan_of_this_repository() -> None:
    root = Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "compat", "plan", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    cells = json.loads(done.stdout)
    for name in ("openai", "crewai", "autogen", "langchain"):
        labels = {c["label"] for c in cells if c["integration"] == name}
        assert {"min", "latest"} <= labels


def test_python_excluded_by_requires_python_is_not_applicable(
    index_server: IndexServer, tmp_path: Path, capsys
) -> None:
    index_server.add(
        Release("new-sdk", "1.0.0"),
        Release("new-sdk", "2.0.0", requires_python=">=3.13"),
    )
    config = tmp_path / "compat.toml"
    (tmp_path / "tests/integration").mkdir(parents=True)
    (tmp_path / "tests/integration/test_smoke.py").touch()
    config.write_text(
        f'[settings]\npython = ["3.12", "3.13"]\nindex-url = "{index_server.simple_url}"\n'
        '[integrations.new]\npackage = "new-sdk"\nmin = "1.0.0"\n'
    )
    assert main(["plan", "--config", str(config), "--format", "json"]) == 0
    cells = {
        (c["label"], c["python"]): c["applicable"] for c in json.loads(capsys.readouterr().out)
    }
    assert cells == {
        ("min", "3.12"): True,
        ("min", "3.13"): True,
        ("latest", "3.12"): False,
        ("latest", "3.13"): True,
    }


@pytest.mark.network
def test_live_nox_sessions_of_this_repository() -> None:
    root = Path(__file__).parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-l"], cwd=root, capture_output=True, text=True, check=True
    )
    for name in (
        "compat-openai-min-3.11",
        "compat-crewai-latest-3.12",
        "- matrix",
        "- docs",
        "* tests",
        "* lint",
    ):
        assert name in done.stdout, done.stdout
