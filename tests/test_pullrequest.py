"""The weekly pull request: a real git repository with a bare "origin", the fake GitHub API."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import pytest
from fakegithub import FakeGitHub

from compat import pullrequest
from compat.github import GitHub
from compat.pullrequest import BRANCH, TITLE, Change, open_or_update, summarize

REPO = "me/mylib"
DOCS_JSON = "docs/compatibility-matrix.json"
PATHS = ["docs/compatibility-matrix.md", DOCS_JSON, "mylib/acme.py", "mylib/_compat_notices.py"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def cell(version: str, status: str, python: str = "3.11.7", label: str = "", **extra) -> dict:
    return {
        "session": f"compat-acme-{label or version}-{python[:4]}",
        "label": label or version,
        "requested": version,
        "python": python,
        "status": status,
        "in_declared_range": True,
        **extra,
    }


def docs(cells: list[dict], marks=(), **fields) -> dict:
    passing = [c["requested"] for c in cells if c["status"] in ("passed", "deprecated")]
    entry = {
        "package": "acme-sdk",
        "declared": ">=1.0.0",
        "declared_min": "1.0.0",
        "lowest_passing": passing[0] if passing else None,
        "highest_passing": passing[-1] if passing else None,
        "latest_on_index": cells[-1]["requested"] if cells else None,
        "status": "passed",
        "python": ["3.11"],
        "marks": list(marks),
        "cells": cells,
        **fields,
    }
    return {"schema": 1, "generator": "nox-compat 0.2.0", "integrations": {"acme": entry}}


OLD = docs([cell("1.0.0", "passed", label="min"), cell("1.2.0", "passed", label="latest")])
NEW = docs(
    [
        cell("1.0.0", "passed", label="min"),
        cell("1.2.0", "passed", label="1.2"),
        cell("1.3.0", "passed", label="latest"),
        cell("1.4.0rc1", "failed", label="pre"),
    ],
    marks=[{"kind": "cap-lift", "text": "acme-sdk<1.3 can be lifted: 1.3.0 passes"}],
)


@pytest.fixture
def clone(tmp_path: Path, monkeypatch) -> Path:
    """A checkout of ``main`` with its bare origin, like actions/checkout leaves it."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))  # no user identity
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(origin))
    git(tmp_path, "init", "-q", "--initial-branch=main", str(work))
    files = {
        "compat.toml": '[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0.0"\n'
        'file = "mylib/acme.py"\n\n[settings]\ntests = ["tests"]\n',
        "pyproject.toml": '[project]\nname = "mylib"\nversion = "1"\n',
        "tests/test_smoke.py": "",
        "docs/compatibility-matrix.md": "# Matrix\n\nold table\n",
        DOCS_JSON: json.dumps(OLD, indent=2) + "\n",
        "mylib/acme.py": '"""Acme integration."""\n',
        "README.md": "readme\n",
    }
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", ".")
    git(work, "-c", "user.name=Maintainer", "-c", "user.email=m@example.org",
        "commit", "-q", "-m", "initial")  # fmt: skip
    git(work, "remote", "add", "origin", str(origin))
    git(work, "push", "-q", "origin", "main")
    return work


def regenerate(work: Path, new: dict = NEW, block: str = "1.0.0 - 1.3.0") -> None:
    """What the weekly run's report, metadata and notices steps leave in the working tree."""
    (work / "docs/compatibility-matrix.md").write_text("# Matrix\n\nnew table\n")
    (work / DOCS_JSON).write_text(json.dumps(new, indent=2) + "\n")
    (work / "mylib/acme.py").write_text(
        f'"""Acme integration.\n\nCompatibility:\n    {block}\n"""\n'
    )
    (work / "mylib/_compat_notices.py").write_text("TESTED = {}\n")


def publish(work: Path, **kwargs) -> pullrequest.Outcome:
    options = {"docs_json": DOCS_JSON, "github": GitHub(), "repo": REPO, **kwargs}
    return open_or_update(work, PATHS, **options)


def origin_branch(work: Path) -> str | None:
    out = git(work, "ls-remote", "origin", f"refs/heads/{BRANCH}")
    return out.split()[0] if out else None


# -- the flow ----------------------------------------------------------------------------------


def test_create_then_unchanged_then_update_one_pull_request(fake: FakeGitHub, clone: Path):
    main = git(clone, "rev-parse", "HEAD")
    regenerate(clone)
    status = git(clone, "status", "--porcelain")

    outcome = publish(clone)
    assert (outcome.action, outcome.number, outcome.pushed) == ("created", 1, True)
    assert outcome.files == (
        "docs/compatibility-matrix.json",
        "docs/compatibility-matrix.md",
        "mylib/_compat_notices.py",
        "mylib/acme.py",
    )
    # the branch: one commit on top of main, with the regenerated files, by the bot
    sha = origin_branch(clone)
    assert git(clone, "rev-parse", f"{sha}^") == main
    git(clone, "fetch", "-q", "origin", BRANCH)
    assert git(clone, "show", f"{sha}:mylib/_compat_notices.py") == "TESTED = {}"
    assert git(clone, "log", "-1", "--format=%an <%ae>|%s", sha) == (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>|"
        "Update compatibility matrix"
    )
    # the checkout is untouched: same branch, same HEAD, nothing staged
    assert git(clone, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(clone, "rev-parse", "HEAD") == main
    assert git(clone, "status", "--porcelain") == status
    assert git(clone, "diff", "--cached", "--name-only") == ""

    (pull,) = fake.pulls[REPO]
    assert pull["title"] == TITLE and pull["head"]["ref"] == BRANCH
    assert pull["base"]["ref"] == "main"
    body = pull["body"]
    assert "**acme**\n\n- ✅ newly passing: 1.3.0\n" in body
    assert "- ❌ newly failing: 1.4.0rc1 (Python 3.11: failed)\n" in body
    assert "- highest passing version: 1.2.0 → 1.3.0\n" in body
    assert "- ⬆️ a cap can be lifted: `acme-sdk<1.3 can be lifted: 1.3.0 passes`\n" in body
    assert "- `mylib/_compat_notices.py`\n" in body

    # the same files again: the same commit, nothing pushed, nothing written
    writes = len(fake.writes())
    again = publish(clone)
    assert (again.action, again.number, again.pushed) == ("unchanged", 1, False)
    assert origin_branch(clone) == sha and len(fake.writes()) == writes

    # a newer run: force-pushed, the one pull request updated
    newer = docs([*NEW["integrations"]["acme"]["cells"], cell("1.5.0", "passed", label="1.5")])
    regenerate(clone, newer, "1.0.0 - 1.5.0")
    updated = publish(clone)
    assert (updated.action, updated.number, updated.pushed) == ("updated", 1, True)
    assert origin_branch(clone) != sha
    assert git(clone, "rev-parse", f"{origin_branch(clone)}^") == main  # still one commit
    (pull,) = fake.pulls[REPO]
    assert "newly passing: 1.3.0, 1.5.0" in pull["body"]
    assert [r.method for r in fake.writes()] == ["POST", "PATCH"]


def test_a_pull_request_for_that_branch_is_already_open(fake: FakeGitHub, clone: Path):
    fake.add_pull(REPO, BRANCH, "main", TITLE, "an older description")
    fake.add_pull(REPO, "someone-else", "main", "Unrelated", "")
    regenerate(clone)
    outcome = publish(clone)
    assert (outcome.action, outcome.number) == ("updated", 1)
    assert [r.method for r in fake.writes()] == ["PATCH"]  # never a second pull request
    assert "newly passing: 1.3.0" in fake.pulls[REPO][0]["body"]


def test_one_opened_meanwhile_is_updated_not_duplicated(fake: FakeGitHub, clone: Path):
    fake.add_pull(REPO, BRANCH, "main", TITLE, "opened by a concurrent run")
    fake.hide_pulls_once = True  # our lookup misses it; GitHub refuses the second one
    regenerate(clone)
    outcome = publish(clone)
    assert (outcome.action, outcome.number) == ("updated", 1)
    assert [(r.method, r.path.split("?")[0]) for r in fake.requests] == [
        ("GET", f"/repos/{REPO}/pulls"),
        ("POST", f"/repos/{REPO}/pulls"),  # 422: A pull request already exists
        ("GET", f"/repos/{REPO}/pulls"),
        ("PATCH", f"/repos/{REPO}/pulls/1"),
    ]
    assert len(fake.pulls[REPO]) == 1


def test_nothing_changed_means_no_push_and_no_pull_request(fake: FakeGitHub, clone: Path):
    (clone / "README.md").write_text("edited, but not a generated file\n")
    outcome = publish(clone)
    assert outcome.action == "nothing changed" and "no pull request" in outcome.describe()
    assert origin_branch(clone) is None
    assert fake.requests == []


def test_dry_run_changes_nothing(fake: FakeGitHub, clone: Path):
    regenerate(clone)
    outcome = publish(clone, dry_run=True)
    assert outcome.action == "would create" and "newly passing: 1.3.0" in outcome.body
    assert origin_branch(clone) is None and fake.writes() == []
    fake.add_pull(REPO, BRANCH, "main", TITLE, "")
    assert publish(clone, dry_run=True, github=None, repo=None).action == "would create"
    assert publish(clone, dry_run=True).action == "would update"


def test_refusals(fake: FakeGitHub, clone: Path):
    regenerate(clone)
    with pytest.raises(pullrequest.PullRequestError, match="pass --repo OWNER/NAME"):
        publish(clone, github=None, repo=None)
    with pytest.raises(pullrequest.PullRequestError, match="the pull request's own branch"):
        publish(clone, base=BRANCH)
    git(clone, "checkout", "-q", "--detach")
    fake.default_branch = "trunk"
    assert publish(clone, dry_run=True).action == "would create"  # base from the API
    git(clone, "remote", "set-url", "origin", str(clone.parent / "gone.git"))
    with pytest.raises(pullrequest.PullRequestError, match="git ls-remote failed"):
        publish(clone)


def test_the_command(fake: FakeGitHub, clone: Path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    regenerate(clone)
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    pullrequest.add_arguments(parser)
    args = parser.parse_args(["--config", str(clone / "compat.toml"), "--days", "0"])
    assert pullrequest.run(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("created pull request #1 'Update compatibility matrix': https://")
    assert "    mylib/acme.py\n" in out
    (pull,) = fake.pulls[REPO]
    assert "[this run](https://github.com/me/mylib/actions/runs/42)" in pull["body"]
    # the notices module is not configured in this matrix: not committed
    assert "mylib/_compat_notices.py" not in pull["body"]


# -- the summary ---------------------------------------------------------------------------------


def test_summary_of_two_docs_documents():
    old = docs(
        [cell("1.0.0", "passed", label="min"), cell("1.2.0", "failed", label="latest")],
        marks=["⚠️ an old-style mark"],
    )
    new = docs(
        [
            cell("1.0.0", "passed", label="min"),
            cell("1.2.0", "passed", label="1.2"),
            cell("1.2.0", "passed", python="3.12.1", label="1.2"),
            cell("2.0.0", "install-failed", label="latest", in_declared_range=False),
            cell("2.0.0", "failed", python="3.12.1", label="latest", in_declared_range=False),
            cell("1.9.0", "failed", label="bisect-1.9.0"),  # bisect probes are not news
        ],
        marks=[
            "⚠️ an old-style mark",
            {"kind": "raise-floor", "text": "declared minimum 1.0.0 <!-- compat:end --> @team"},
        ],
    )
    new["integrations"]["fresh"] = docs([cell("3.0", "passed")])["integrations"]["acme"]
    old["integrations"]["gone"] = {}
    changes = summarize(old, new)
    assert [(c.integration, c.kind) for c in changes] == [
        ("acme", "passing"),
        ("acme", "failing"),
        ("acme", "fixed"),
        ("acme", "range"),
        ("acme", "latest"),
        ("acme", "mark"),
        ("fresh", "added"),
        ("fresh", "passing"),
        ("gone", "removed"),
    ]
    text = {c.kind: c.text for c in changes if c.integration == "acme"}
    assert text["failing"] == (
        "❌ newly failing: 2.0.0 (Python 3.11: install-failed, beyond declared support; "
        "Python 3.12: failed, beyond declared support)"
    )
    assert text["fixed"] == "🔧 fails no more: 1.2.0"
    assert text["range"] == "highest passing version: 1.0.0 → 1.2.0"
    assert text["mark"] == (  # inert code: no marker, no HTML comment, no ping
        "⬇️ a floor to raise: `declared minimum 1.0.0 <\u200b!-- compat:end -\u200b-> @team`"
    )
    assert summarize(None, None) == []
    assert summarize(OLD, OLD) == []


def test_outside_text_in_the_body_is_inert():
    hostile = docs([cell("1.0.0", "passed")])
    hostile["integrations"]["x](http://evil) <b>"] = hostile["integrations"].pop("acme")
    body = pullrequest.render_body(
        summarize(None, hostile), ["docs/x.md", "a`b.py"], "https://example.org/run"
    )
    assert "**`x](http://evil) <b>`**" in body
    assert "- ``a`b.py``" in body
    assert pullrequest.render_body([], ["f"]).count("No verdict changed") == 1
    assert Change("a", "b", "c").text == "c"


# -- range edits -------------------------------------------------------------------------------

CAPPED = '[project]\nname = "mylib"\nversion = "1"\n# keep me\ndependencies = [\n  "acme-sdk >=1.0.0,  <1.3",   # capped\n]\n'


def verdict(label: str, version: str, in_range: bool = True) -> dict:
    from compat.results import Result, Status

    return Result(
        session=f"compat-acme-{label}-3.11", integration="acme", label=label,
        package="acme-sdk", requested=version, python="3.11.7", status=Status.PASSED,
        installed=version, started="2026-11-30T00:00:00Z", in_declared_range=in_range,
    ).to_dict(public=True)  # fmt: skip


def test_range_edits_come_in_a_commit_of_their_own(
    fake: FakeGitHub, clone: Path, monkeypatch, capsys
):
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    (clone / "pyproject.toml").write_text(CAPPED)
    config = clone / "compat.toml"
    config.write_text(
        '[integrations.acme]\npackage = "acme-sdk"\nfile = "mylib/acme.py"\n\n'
        '[settings]\npython = ["3.11"]\ntests = ["tests"]\n'
    )
    (clone / DOCS_JSON).write_text(json.dumps(docs([verdict("min", "1.0.0")])))
    git(clone, "add", ".")
    git(clone, "-c", "user.name=M", "-c", "user.email=m@example.org", "commit", "-qm", "cap")
    main = git(clone, "rev-parse", "HEAD")
    # the weekly run: 1.3.1 and 1.4.0, beyond the cap, pass
    cells = [
        verdict("min", "1.0.0"),
        verdict("1.3", "1.3.1", False),
        verdict("latest", "1.4.0", False),
    ]
    (clone / DOCS_JSON).write_text(json.dumps(docs(cells)))
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    parser.add_argument("--offline", action="store_true")
    pullrequest.add_arguments(parser)
    args = parser.parse_args(["--config", str(config), "--offline", "--days", "0"])
    assert pullrequest.run(args) == 0
    assert "acme: <1.3 → <1.5 (cap-lift)" in capsys.readouterr().out

    tip = origin_branch(clone)
    git(clone, "fetch", "-q", "origin", BRANCH)
    assert git(clone, "log", "--format=%s", f"{main}..{tip}").splitlines() == [
        "Update the declared ranges from the compatibility verdicts",
        "Update compatibility matrix",
    ]
    assert git(clone, "diff-tree", "-r", "--name-only", "--no-commit-id", tip) == "pyproject.toml"
    edited = subprocess.run(["git", "show", f"{tip}:pyproject.toml"], cwd=clone,
                            capture_output=True, text=True).stdout  # fmt: skip
    assert edited == CAPPED.replace("<1.3", "<1.5")  # byte for byte, comments kept
    assert (clone / "pyproject.toml").read_text() == CAPPED  # the checkout is untouched
    (pull,) = fake.pulls[REPO]
    assert "**acme**: lift the cap of `acme-sdk`: `<1.3` → `<1.5`" in pull["body"]
    assert (
        "| version | 3.11 |\n|---|---|\n| 1.3.1 | ✅ passed |\n| 1.4.0 | ✅ passed |"
        in pull["body"]
    )

    # range-updates = false: the same run proposes no edit
    config.write_text(config.read_text() + "range-updates = false\n")
    args = parser.parse_args(["--config", str(config), "--offline", "--days", "0", "--dry-run"])
    assert pullrequest.run(args) == 0
    out = capsys.readouterr().out
    assert "cap-lift" not in out and "Declared ranges" not in out
