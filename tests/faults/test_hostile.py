"""Fault injection: hostile CI artifacts, secrets in the environment and in index URLs, bad
values, unwritable folders. No input writes outside the project's own files, no secret is
printed or stored, every bad value is one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pkgindex import IndexServer
from test_verdicts import PY, acme, project, run

from compat.cli import main
from compat.issues import compat_failures
from compat.results import load_all


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_installed("pytest", "pluggy", "iniconfig", "packaging", "pygments")
    index_server.add(acme("1.0.0"), acme("1.1.0"))
    return index_server


def valid(session_label: str = "min", version: str = "1.0.0") -> dict:
    return {
        "schema": 1, "session": f"compat-acme-{session_label}-{PY}", "integration": "acme",
        "label": session_label, "package": "acme-sdk", "requested": version, "installed": version,
        "python": PY, "status": "passed", "started": "2026-11-25T10:00:00Z",
        "tests": {"passed": 1, "failed": 0, "skipped": 0, "errors": 0},
    }  # fmt: skip


@pytest.mark.parametrize(
    "change, says",
    [
        ({"session": "../../package"}, "session"),
        ({"session": "/tmp/pwned"}, "session"),
        ({"session": "compat-acme-min-3.99"}, "does not match"),
        ({"integration": "../x", "session": "compat-../x-min-3.11"}, "integration"),
        ({"label": "min/../../x"}, "label"),
        ({"status": "owned"}, "unknown status"),
        ({"requested": "1.0; rm -rf /"}, "not a version"),
        ({"tests": {"passed": "many"}}, "tests"),
        ({"schema": 99}, "unknown schema"),
    ],
)
def test_merge_refuses_hostile_artifacts(tmp_path: Path, capsys, change, says) -> None:
    root = project(tmp_path / "p", None)
    artifacts = tmp_path / "artifacts"
    (artifacts / "cell").mkdir(parents=True)
    (artifacts / "cell/good.json").write_text(json.dumps(valid("latest", "1.1.0")))
    (artifacts / "cell/bad.json").write_text(json.dumps({**valid(), **change}))
    before = {p for p in tmp_path.rglob("*")}
    assert run(root, "report", "--merge", str(artifacts), "--offline") == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and says in err
    written = {p for p in tmp_path.rglob("*")} - before
    results_dir = root / ".compat/results"
    docs = root / "docs"
    allowed = (results_dir, docs)
    assert all(
        p in results_dir.parents or any(p.is_relative_to(a) for a in allowed) for p in written
    ), written
    assert [p.name for p in results_dir.glob("*.json")] == [f"compat-acme-latest-{PY}.json"]
    assert not Path("/tmp/pwned.json").exists()


def test_secrets_never_reach_the_code_under_test_or_the_output(
    index, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_token_1")
    monkeypatch.setenv("MY_API_KEY", "sk-secret-key-2")
    monkeypatch.setenv("PASSED_THROUGH_TOKEN", "visible-3")
    test = (
        "import os\n\n\ndef test_acme():\n"
        "    assert os.environ.get('PASSED_THROUGH_TOKEN') == 'visible-3'\n"
        "    assert False, repr(dict(os.environ))\n"
    )
    root = project(
        tmp_path / "p", index, settings='pass-env = ["PASSED_THROUGH_TOKEN"]',
        tests={"tests/test_acme.py": test},
    )  # fmt: skip
    credentials = index.simple_url.replace("http://", "http://user:pw-secret-4@")
    config = root / "compat.toml"
    config.write_text(config.read_text().replace(index.simple_url, credentials))
    (root / "noxfile.py").write_text("import compat.nox\n\ncompat.nox.register()\n")
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", f"compat-acme-min-{PY}"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1  # the test failed, printing its environment
    assert run(root, "report", "--offline") == 1
    stored = (
        "".join(p.read_text() for p in root.rglob("*.json"))
        + (root / "docs/compatibility-matrix.md").read_text()
    )
    for secret in ("ghs_secret_token_1", "sk-secret-key-2", "pw-secret-4"):
        assert secret not in done.stdout + done.stderr, secret
        assert secret not in stored, secret
    assert "PASSED_THROUGH_TOKEN" in stored  # passed through on purpose


@pytest.mark.parametrize(
    "settings, says",
    [
        ('index-url = "not a url"', "settings.index-url: expected an http(s) or file URL"),
        ("timeout = nan", "settings.timeout: expected a positive number"),
        ("timeout = inf", "settings.timeout: expected a positive number"),
        ('tests = ["tests/nope.py"]', "settings.tests: tests/nope.py does not exist"),
        ('deprecations = "some"', "settings.deprecations"),
    ],
)
def test_bad_values_are_one_line(tmp_path: Path, capsys, settings, says) -> None:
    root = project(tmp_path / "p", None)
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            'tests = ["tests"]',
            settings if "tests" in settings else 'tests = ["tests"]\n' + settings,
        )
    )
    assert run(root, "plan") == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and f"{config}:" in err


def test_more_bad_values(index, tmp_path: Path, capsys) -> None:
    root = project(tmp_path / "p", index)
    config = root / "compat.toml"
    text = config.read_text()
    config.write_bytes(text.encode() + b"# caf\xe9\n")
    assert run(root, "plan") == 2
    assert "not UTF-8" in capsys.readouterr().err
    name = "a" * 300
    config.write_text(text.replace("[integrations.acme]", f"[integrations.{name}]"))
    assert run(root, "plan") == 2
    assert "at most 50 characters" in capsys.readouterr().err
    config.write_text(text.replace('package = "acme-sdk"', 'package = "acme-sdk"\nmin = "1.0.5"'))
    assert run(root, "plan") == 2
    err = capsys.readouterr().err
    assert "compat.toml:" in err and "minimum 1.0.5 does not exist on the index" in err
    config.write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--all", "-j", "-1", "--config", str(config)])
    assert exit_info.value.code == 2 and "expected a positive integer" in capsys.readouterr().err
    assert main(["issues", "--results-dir", str(tmp_path / "nonexistent")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text()
        + '\n[tool.compat.integrations.acme]\npackage = "acme-sdk"\n'
    )
    assert run(root, "plan") == 0
    assert "the [tool.compat] table in pyproject.toml is ignored" in capsys.readouterr().err


def test_unwritable_results_are_found_before_any_cell_runs(
    index, tmp_path, capsys, read_only
) -> None:
    root = project(tmp_path / "p", index)
    results = root / ".compat/results"
    results.mkdir(parents=True)
    read_only(results)
    assert run(root, "run", "--all") == 2
    assert "cannot write results there" in capsys.readouterr().err
    assert not (root / ".compat/venvs").exists()  # nothing was run
    assert load_all(results).results == {}


def test_issue_bodies_and_docs_from_hostile_cells(index, tmp_path, capsys) -> None:
    test = (  # fails on 1.1.0 only: a failure on every version would be the project's (❗)
        "from importlib.metadata import version\n\n\n"
        "def test_acme():\n"
        "    assert version('acme-sdk') == '1.0.0', "
        "'<!-- compat:end -->\\n# owned\\n<script>x</script> @admin org/repo#1'\n"
    )
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": test})
    assert run(root, "run", "--all") == 1
    assert run(root, "report") == 1
    page = (root / "docs/compatibility-matrix.md").read_text()
    assert page.count("<!-- compat:end -->") == 1 and "\n# owned" not in page
    assert run(root, "report") == 1
    assert (root / "docs/compatibility-matrix.md").read_text() == page
    assert os.environ.get("GITHUB_TOKEN") is None
    assert run(root, "issues", "--dry-run", "--json") == 1


def test_credentials_in_what_the_tests_print_are_hidden_everywhere(
    index, tmp_path, monkeypatch, capsys
) -> None:
    """Secrets the code under test was given on purpose (``pass-env``) and prints in a failure:
    a URL's password, a query token, an Authorization header, a variable's value."""
    monkeypatch.setenv("DB_PASSWORD", "pw-db-secret-5")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw-url-secret-6@db.internal/app")
    test = (  # fails on 1.1.0 only: a failure on every version would be the project's (❗)
        "import os\nfrom importlib.metadata import version\n\n\ndef test_acme():\n"
        "    print('Authorization: Bearer tok-header-secret-7')\n"
        "    if version('acme-sdk') == '1.0.0':\n        return\n"
        "    raise ConnectionError(os.environ['DATABASE_URL'] + ' via '\n"
        "        'https://api.example/v1?access_token=tok-query-secret-8 as '\n"
        "        + os.environ['DB_PASSWORD'])\n"
    )
    root = project(
        tmp_path / "p", index, settings='pass-env = ["DB_PASSWORD", "DATABASE_URL"]',
        tests={"tests/test_acme.py": test},
    )  # fmt: skip
    assert run(root, "run", "--all") == 1
    assert run(root, "report", "--offline") == 1
    bodies = [d.body for d in compat_failures(load_all(root / ".compat/results").results.values())]
    out = capsys.readouterr()
    stored = "".join(p.read_text() for p in root.rglob("*.json")) + "".join(bodies)
    stored += (root / "docs/compatibility-matrix.md").read_text() + out.out + out.err
    assert "db.internal" in stored and "ConnectionError" in stored  # the message is there
    for secret in (
        "pw-db-secret-5",
        "pw-url-secret-6",
        "tok-header-secret-7",
        "tok-query-secret-8",
    ):
        assert secret not in stored, secret


def test_a_lone_surrogate_in_a_failure_message_loses_nothing(index, tmp_path, capsys) -> None:
    """What ``os.fsdecode`` makes of an undecodable file name, in an assertion message."""
    test = (  # fails on 1.1.0 only: a failure on every version would be the project's (❗)
        "import os\nfrom importlib.metadata import version\n\n\ndef test_acme():\n"
        "    assert version('acme-sdk') == '1.0.0', "
        "'cannot open ' + os.fsdecode(b'caf\\xe9.txt') + ' \\x1b[2J'\n"
    )
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": test})
    assert run(root, "run", "--all", "-j", "1") == 1
    results = load_all(root / ".compat/results").results
    assert sorted(r.label for r in results.values()) == ["latest", "min"]
    for result in [r for r in results.values() if r.failures]:
        assert result.failures[0].message.startswith("AssertionError: cannot open caf\ufffd.txt")
        assert "\x1b" not in result.failures[0].message
    assert run(root, "report", "--offline") == 1
    assert "caf\ufffd.txt" in (root / "docs/compatibility-matrix.md").read_text(encoding="utf-8")
    capsys.readouterr()


def test_a_result_that_cannot_be_stored_does_not_stop_the_sweep(index, tmp_path, capsys) -> None:
    root = project(tmp_path / "p", index)
    results = root / ".compat/results"
    (results / f"compat-acme-min-{PY}.json").mkdir(parents=True)  # its file cannot be written
    assert run(root, "run", "--all", "-j", "1") == 2
    out = capsys.readouterr()
    assert "could not be stored" in out.err + out.out and "unexpected error" not in out.err
    assert "2 cell(s)" in out.out  # the sweep finished and said so
    stored = load_all(results).results
    assert [r.label for r in stored.values()] == ["latest"] and all(
        r.status.passing for r in stored.values()
    )


@pytest.mark.parametrize("alive", [True, False])
def test_pip_conf_with_a_percent_encoded_password(
    index, tmp_path, monkeypatch, capsys, alive
) -> None:
    """pip reads pip.conf without interpolation: ``%40`` is an encoded ``@``, not an error."""
    url = index.simple_url if alive else "http://127.0.0.1:9/simple"
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {url.replace('://', '://me:p%40ss-word-9@')}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    root = project(tmp_path / "p", None)  # no index-url: the one pip would use
    if alive:
        assert run(root, "run", "--all") == 0
        assert {r.status.value for r in load_all(root / ".compat/results").results.values()} == {
            "passed"
        }
    else:
        assert run(root, "plan") == 2
    out = capsys.readouterr()
    shown = out.out + out.err + "".join(p.read_text() for p in root.rglob("*.json"))
    assert "Interpolation" not in shown and "Traceback" not in shown
    assert "p%40ss-word-9" not in shown and "p@ss-word-9" not in shown and "ss-word-9" not in shown
    if not alive:
        assert "127.0.0.1:9" in out.err  # the index is named, its password is not


def test_configuration_errors_hide_credentials(tmp_path, capsys, monkeypatch) -> None:
    root = project(tmp_path / "p", None)
    config = root / "compat.toml"
    text = config.read_text()
    for setting, secret in (
        ('index-url = "pypi.internal/simple?token=cfg-secret-10"', "cfg-secret-10"),
        ('test-requires = ["pkg @ https://ci:cfg-secret-11@host/p.whl ; bad marker"]',
         "cfg-secret-11"),
    ):  # fmt: skip
        config.write_text(text.replace('test-requires = ["pytest"]', setting))
        assert run(root, "plan", "--offline") == 2
        err = capsys.readouterr().err
        assert "settings." in err and secret not in err, err
    monkeypatch.setenv("MY_SERVICE_TOKEN", "cfg-secret-12")
    config.write_text(text.replace("[integrations.acme]", '[integrations."cfg-secret-12 x"]'))
    assert run(root, "plan", "--offline") == 2
    err = capsys.readouterr().err
    assert "integration names" in err and "cfg-secret-12" not in err and "***" in err
