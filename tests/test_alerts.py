"""`compat upstream --verify`: alerts that rest on real cells (uv, pytest, the local index)
and the fake GitHub API — a failing release files one P0 issue naming the failing test and
the first bad release, a later failing one updates it, a passing one closes it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from pkgindex import IndexServer, Release

from compat.cli import main

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")
REPO = "me/mylib"
SMOKE = "import acme_sdk\n\n\ndef test_greets():\n    assert acme_sdk.greet() == 'hi'\n"
GOOD = "def greet():\n    return 'hi'\n"
BAD = "def greet():\n    return 'bye'\n"
NOW = datetime.now(timezone.utc)


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def acme(version: str, body: str = GOOD, days: float = 400, **kw) -> Release:
    return Release(
        "acme-sdk", version, modules={"acme_sdk/__init__.py": body}, upload_time=ago(days), **kw
    )


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_installed(*TOOLS)
    return index_server


def project(root: Path, index: IndexServer, settings: str = "", python: str = PY) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "tests/test_acme.py").write_text(SMOKE)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "mylib"\nversion = "1"\ndependencies = ["acme-sdk>=1.0"]\n'
    )
    (root / "compat.toml").write_text(
        f'[settings]\npython = ["{python}"]\nindex-url = "{index.simple_url}"\n'
        f'tests = ["tests"]\ntest-requires = ["pytest"]\ninstall-project = false\n{settings}\n'
        '[settings.policy]\nminors = 5\n\n[integrations.acme]\npackage = "acme-sdk"\n'
    )
    return root


def cli(root: Path, capsys, *args: str) -> tuple[int, str]:
    code = main([*args, "--config", str(root / "compat.toml")])
    out, err = capsys.readouterr()
    return code, out + err


def monitor(root: Path, capsys, *extra: str) -> tuple[int, str]:
    return cli(
        root, capsys, "upstream", "--verify", "--days", "2", "--create-issues", "--repo", REPO,
        *extra,
    )  # fmt: skip


def test_a_failing_release_is_one_p0_alert_updated_then_closed(
    index: IndexServer, fake: FakeGitHub, tmp_path: Path, capsys
):
    index.add(acme("1.0.0"), acme("1.1.0", BAD, days=10), acme("1.2.0", BAD, days=0.5))
    root = project(tmp_path / "p", index)
    # The weekly run tested 1.0.0 and committed its verdict; the daily runner starts empty.
    assert cli(root, capsys, "run", f"compat-acme-min-{PY}")[0] == 0
    cli(root, capsys, "report")
    shutil.rmtree(root / ".compat/results")

    code, out = monitor(root, capsys)
    assert code == 1, out
    assert "newest tested 1.0.0" in out  # from the committed docs JSON: a fresh checkout
    assert "API diff against 1.0.0" in out  # the baseline is the last tested release
    assert "P0      1.2.0" in out and f"{PY} failing: tests/test_acme.py::test_greets" in out
    assert "first bad release: 1.1.0 (bisect" in out
    [issue] = fake.issues[REPO]
    assert issue["title"] == "[Release Alert] acme 1.2.0"
    assert [label["name"] for label in issue["labels"]] == ["release-alert", "acme", "P0"]
    body = issue["body"]
    assert "Priority **P0**: a stable release inside your declared range installs" in body
    assert "- `tests/test_acme.py::test_greets`" in body
    assert "First bad release: **1.1.0**" in body and "1.0.0 passes" in body

    writes = len(fake.writes())
    code, out = monitor(root, capsys)  # the same verdict (reused): the issue is left alone
    assert code == 1 and "unchanged     [Release Alert] acme 1.2.0 #1" in out
    assert len(fake.writes()) == writes

    index.add(acme("1.2.1", BAD, days=0.2))  # the breakage goes on: the same issue, updated
    code, out = monitor(root, capsys, "--refresh")
    assert code == 1 and "commented     [Release Alert] acme 1.2.0 #1" in out
    assert len(fake.issues[REPO]) == 1
    [comment] = fake.comments[(REPO, 1)]
    assert "**acme-sdk 1.2.0, 1.2.1**" in comment["body"]

    index.add(acme("1.3.0", days=0.1))  # fixed upstream: the alert is closed, with why
    code, out = monitor(root, capsys, "--refresh")
    assert code == 0, out
    assert "PASSES  1.3.0" in out and "closed        [Release Alert] acme 1.2.0 #1" in out
    assert fake.issues[REPO][0]["state"] == "closed" and len(fake.issues[REPO]) == 1
    assert "**acme-sdk 1.3.0**, a later release, passes" in fake.comments[(REPO, 1)][-1]["body"]


def test_a_failing_prerelease_is_p1(index: IndexServer, fake: FakeGitHub, tmp_path, capsys):
    index.add(acme("1.0.0"), acme("2.0.0rc1", BAD, days=0.5))
    root = project(tmp_path / "p", index, settings="prereleases = true")
    code, out = monitor(root, capsys, "--json")
    assert code == 1, out
    data = json.loads(out[: out.rindex("}") + 1])
    [release] = data["integrations"][0]["releases"]
    assert (release["version"], release["priority"]) == ("2.0.0rc1", "P1")
    assert release["verified"]["cells"][0]["session"] == f"compat-acme-pre-{PY}"
    [issue] = fake.issues[REPO]
    assert [label["name"] for label in issue["labels"]] == ["release-alert", "acme", "P1"]
    assert "it is a prerelease" in issue["body"]


def test_cells_that_cannot_be_judged_never_alert(index, fake: FakeGitHub, tmp_path, capsys):
    index.add(acme("1.0.0"), acme("1.1.0", BAD, days=0.5))
    root = project(tmp_path / "p", index, python="3.99")  # no such interpreter
    code, out = monitor(root, capsys)
    assert code == 2, out  # could not do its job: said, never an incompatibility
    assert "not judged (error, no alert): Python 3.99 was not found" in out
    assert "LOW     1.1.0" in out  # unverified: the notes and the API diff decide, as before
    assert fake.issues[REPO] == []


def test_a_passing_release_files_nothing_and_is_listed_in_the_pull_request(
    index: IndexServer, fake: FakeGitHub, tmp_path: Path, capsys
):
    index.add(acme("1.0.0"), acme("1.1.0", days=0.5))
    fake.add_repo("acme/acme-sdk")
    notes = "## Breaking changes\n- the `legacy` module is gone\n"
    fake.add_release("acme/acme-sdk", "v1.1.0", notes, published_at=ago(0.5))
    root = project(tmp_path / "p", index)
    config = root / "compat.toml"
    config.write_text(config.read_text() + 'repo = "acme/acme-sdk"\n')
    code, out = monitor(root, capsys)
    assert code == 0, out
    assert "PASSES  1.1.0" in out and '"Breaking changes" section' in out
    assert fake.issues[REPO] == []  # the notes alone never open an issue when the tests pass

    # The weekly pull request lists it, from the stored verdicts, with what the notes say.
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "start"]):
        subprocess.run(["git", "-c", "user.name=M", "-c", "user.email=m@x", *args], cwd=root,
                       check=True, capture_output=True)  # fmt: skip
    assert cli(root, capsys, "report")[0] == 0
    code, out = cli(root, capsys, "pull-request", "--dry-run")
    assert code == 0, out
    assert "## Upstream releases" in out
    assert f"- ✅ tested 1.1.0 ({ago(0.5)[:10]}): passes" in out
    assert '  - notes: `"Breaking changes" section' in out
