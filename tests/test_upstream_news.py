"""`compat upstream` (issue 10): alerts a maintainer can trust. GitHub unreachable, the API
diff's trace, what `high` means, releases the matrix already passed, JSON and warnings,
terminal-safe release notes. Local index, fake or unreachable GitHub, real result files."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from pkgindex import IndexServer, Release

from compat.cli import main
from compat.github import GitHub
from compat.index import IndexClient
from compat.matrix import load
from compat.results import Result, Status, save, session_name
from compat.upstream import check_upstream

NOW = datetime.now(timezone.utc)
OLD = "2024-03-01T00:00:00.000000Z"
USES_CLIENT = "import acme\n\n\ndef test_acme():\n    acme.Client().send('hi')\n"
CLIENT = "class Client:\n    def send(self, text):\n        return text\n"


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_project(root: Path, index: IndexServer, integrations: str, tests: dict | None = None):
    tests = {
        "tests/test_acme.py": USES_CLIENT,
        "tests/test_other.py": "def test_x():\n    pass\n",
    } | (tests or {})
    for name, text in tests.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    config = root / "compat.toml"
    config.write_text(
        f'[settings]\nindex-url = "{index.simple_url}"\npython = ["3.12"]\n\n{integrations}'
    )
    return config


ACME = (
    '[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0.0"\nrepo = "acme/acme-sdk"\n'
    'tests = ["tests/test_acme.py"]\n'
)
OTHER = (
    '[integrations.other]\npackage = "other-sdk"\nmin = "1.0.0"\nrepo = "acme/other"\n'
    'tests = ["tests/test_other.py"]\n'
)


@pytest.fixture
def fake_github(monkeypatch) -> FakeGitHub:
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setattr(GitHub, "backoff", 0.0)
        fake.add_repo("acme/acme-sdk")
        fake.add_repo("acme/other")
        yield fake


class ClosingServer:
    """Accepts TCP connections and closes them at once: GitHub 'unreachable', counted."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def test_github_unreachable_is_said_per_release_and_tried_once_per_run(
    tmp_path, index_server, monkeypatch, capsys
):
    closing = ClosingServer()
    monkeypatch.setenv("GITHUB_API_URL", closing.url)
    monkeypatch.setattr(GitHub, "backoff", 0.0)
    index_server.add(
        Release("acme-sdk", "1.0.0", modules={"acme/__init__.py": CLIENT}, upload_time=OLD),
        Release("acme-sdk", "1.1.0", modules={"acme/__init__.py": "X = 1\n"}, upload_time=ago(1)),
        Release("other-sdk", "1.0.0", upload_time=OLD),
        Release("other-sdk", "1.1.0", upload_time=ago(2)),
    )
    config = write_project(tmp_path, index_server, ACME + "\n" + OTHER)
    try:
        code, out, _ = run_cli(capsys, "upstream", "--config", str(config))
    finally:
        closing.close()
    assert code == 2
    assert out.count("release notes unavailable (GitHub unreachable)") == 2
    assert "no release notes found" not in out
    assert closing.accepted == 2  # one try and one retry, then never again in this run
    assert "HIGH    1.1.0" in out and "API diff against 1.0.0: 1 certain breakage(s)" in out
    assert "gave up after 2 attempt(s)" in out


def test_the_api_diff_always_leaves_a_trace(tmp_path, index_server, fake_github, capsys):
    index_server.add(
        Release("acme-sdk", "1.0.0", modules={"acme/__init__.py": CLIENT}, upload_time=OLD),
        Release("acme-sdk", "1.0.1", modules={"acme/__init__.py": CLIENT}, upload_time=ago(1)),
        Release("other-sdk", "1.0.0", upload_time=OLD),
        Release("other-sdk", "1.0.1", upload_time=ago(1)),
    )
    config = write_project(tmp_path, index_server, ACME + "\n" + OTHER)
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config))
    assert code == 0, out
    assert "API diff against 1.0.0: no breakage in 3 uses" in out
    assert "API diff skipped: the tests use nothing of other-sdk" in out
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config), "--json")
    traces = {
        i["integration"]: i["releases"][0]["api_diff"] for i in json.loads(out)["integrations"]
    }
    assert (traces["acme"]["status"], traces["acme"]["uses"]) == ("clean", 3)
    assert traces["other"]["status"] == "skipped"


def test_dropping_a_tested_python_is_medium_with_its_reason(
    tmp_path, index_server, fake_github, capsys
):
    index_server.add(
        Release("acme-sdk", "1.0.0", upload_time=OLD, requires_python=">=3.9"),
        Release("acme-sdk", "1.1.0", upload_time=ago(1), requires_python=">=3.13"),
    )
    config = write_project(tmp_path, index_server, ACME)
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config))
    assert code == 0, out
    assert "MEDIUM  1.1.0" in out
    assert "drops Python 3.12 that the matrix tests" in out


def store(
    results: Path, label: str, version: str, status: Status, *, in_range: bool = True
) -> None:
    save(
        Result(
            session=session_name("acme", label, "3.12.1"),
            integration="acme",
            label=label,
            package="acme-sdk",
            requested=version,
            python="3.12.1",
            status=status,
            installed=version if status is not Status.INSTALL_FAILED else None,
            started="2026-01-01T00:00:00Z",
            in_declared_range=in_range,
        ),
        results,
    )


def test_releases_the_matrix_passed_are_not_news(tmp_path, index_server, fake_github, capsys):
    index_server.add(
        Release("acme-sdk", "1.0.0", upload_time=OLD),
        Release("acme-sdk", "1.1.0", upload_time=ago(3)),
        Release("acme-sdk", "1.2.0", upload_time=ago(1)),
    )
    config = write_project(tmp_path, index_server, ACME)
    results = tmp_path / ".compat" / "results"
    store(results, "min", "1.0.0", Status.PASSED)
    store(results, "1.1", "1.1.0", Status.DEPRECATED)
    store(results, "latest", "1.2.0", Status.INSTALL_FAILED)  # not tested: not installed
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config))
    assert code == 0, out
    assert "newest tested 1.1.0" in out
    assert "tested  1.1.0" in out and "deprecated (not news)" in out
    assert "newer than the newest tested version 1.1.0" in out
    assert (
        "Summary: 1 new release from 1 of 1 integration in the last 7 days: "
        "0 high, 0 medium, 1 low; 1 already tested and passing" in out
    )
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config), "--json")
    [acme] = json.loads(out)["integrations"]
    assert [r["version"] for r in acme["releases"]] == ["1.2.0"]
    assert acme["already_tested"][0]["version"] == "1.1.0" and acme["tested"] == "1.1.0"
    code, out, _ = run_cli(
        capsys, "upstream", "--config", str(config), "--create-issues", "--dry-run",
        "--issue-level", "low",
    )  # fmt: skip
    assert "acme 1.2.0" in out and "acme 1.1.0" not in out


@pytest.mark.parametrize(("in_range", "level"), [(True, "HIGH"), (False, "MEDIUM")])
def test_a_release_the_matrix_failed_is_news(
    tmp_path, index_server, fake_github, capsys, in_range, level
):
    index_server.add(
        Release("acme-sdk", "1.0.0", upload_time=OLD),
        Release("acme-sdk", "1.1.0", upload_time=ago(1)),
    )
    config = write_project(tmp_path, index_server, ACME)
    store(tmp_path / ".compat/results", "latest", "1.1.0", Status.FAILED, in_range=in_range)
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config))
    assert f"{level:<6}  1.1.0" in out
    assert "the matrix tested it: failed" in out
    assert ("beyond declared support" in out) is not in_range


def test_json_keeps_the_repo_without_releases(tmp_path, index_server, fake_github, capsys):
    index_server.add(Release("acme-sdk", "1.0.0", upload_time=OLD))
    config = write_project(tmp_path, index_server, ACME)
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config), "--json")
    [acme] = json.loads(out)["integrations"]
    assert (acme["repo"], acme["repo_source"], acme["releases"]) == (
        "acme/acme-sdk",
        "compat.toml",
        [],
    )


def test_a_missing_test_file_is_warned_once_per_integration(
    tmp_path, index_server, fake_github, capsys
):
    index_server.add(
        Release("acme-sdk", "1.0.0", upload_time=OLD),
        Release("acme-sdk", "1.1.0", upload_time=ago(3)),
        Release("acme-sdk", "1.2.0", upload_time=ago(1)),
    )
    matrix = load(write_project(tmp_path, index_server, ACME))
    (tmp_path / "tests/test_acme.py").unlink()  # gone after the matrix was read
    report = check_upstream(matrix, IndexClient(index_server.simple_url), GitHub())
    [acme] = report.checks
    assert len(acme.releases) == 2
    assert acme.warnings == ["tests/test_acme.py (integration acme) does not exist"]
    assert capsys.readouterr().err == ""  # the engine never prints


def test_yanked_version_the_project_pins_is_high(tmp_path, index_server, fake_github, capsys):
    index_server.add(
        Release("acme-sdk", "1.0.0", upload_time=OLD),
        Release("acme-sdk", "1.1.0", upload_time=ago(1), yanked="broken wheel"),
    )
    config = write_project(tmp_path, index_server, ACME.replace('"1.0.0"', '"1.1.0"'))
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config))
    assert code == 1, out
    assert "yanked on the index: broken wheel; the project pins it" in out


def released_yesterday(index_server, fake_github, notes: str) -> None:
    """acme-sdk 1.1.0, published a day ago with ``notes`` (1.0.0 long before)."""
    index_server.add(
        Release("acme-sdk", "1.0.0", upload_time=OLD),
        Release("acme-sdk", "1.1.0", upload_time=ago(1)),
    )
    fake_github.add_release("acme/acme-sdk", "v1.1.0", notes, published_at=ago(1))


def test_release_notes_cannot_drive_the_terminal(tmp_path, index_server, fake_github, capsys):
    hostile = "## Breaking changes\n- \x1b]0;pwned\x07`Client` \x1b[2Jgone\x1b[31m\n"
    released_yesterday(index_server, fake_github, hostile)
    config = write_project(tmp_path, index_server, ACME)
    code, out, err = run_cli(capsys, "upstream", "--config", str(config), "-v")
    assert "`Client` gone" in out
    assert "\x1b" not in out + err and "\x07" not in out


def test_notes_of_tested_releases_only_inform(tmp_path, index_server, fake_github, capsys):
    """Releases the matrix passed get their notes scored (for the weekly pull request); when
    GitHub is down, that is a warning, not a failed check."""
    released_yesterday(index_server, fake_github, "## Breaking changes\n- `Client.send` is gone\n")
    config = write_project(tmp_path, index_server, ACME)
    store(tmp_path / ".compat/results", "latest", "1.1.0", Status.PASSED)
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config), "--json")
    [acme] = json.loads(out)["integrations"]
    assert code == 0 and acme["releases"] == []
    [signal] = acme["already_tested"][0]["signals"]
    assert signal["reason"].startswith('"Breaking changes" section')
    fake_github.fail_5xx = 100
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config))
    assert code == 0, out
    assert "warning: release notes of acme/acme-sdk: GitHub answered 502" in out
