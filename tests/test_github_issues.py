"""The GitHub client and the deduplicated issues, against a local fake GitHub API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakegithub import FakeGitHub

from compat.cli import main
from compat.github import GitHub, GitHubError
from compat.issues import Draft, compat_failures, excerpt, file_issues, priority
from compat.results import Result

REPO = "me/mylib"


def client(fake: FakeGitHub, waits: list[float] | None = None, **kw) -> GitHub:
    return GitHub(sleep=(waits.append if waits is not None else lambda s: None), **kw)


# -- the client ---------------------------------------------------------------------------------


def test_pagination_follows_link_headers(fake: FakeGitHub):
    for i in range(250):
        fake.add_release("acme/sdk", f"v1.{i}.0")
    tags = [r["tag_name"] for r in client(fake).releases("acme/sdk")]
    assert len(tags) == 250 and tags[0] == "v1.249.0" and tags[-1] == "v1.0.0"
    pages = [r.path for r in fake.requests]
    assert len(pages) == 3 and "per_page=100" in pages[0] and pages[2].endswith("page=3")


def test_environment_selects_api_and_token(fake: FakeGitHub, monkeypatch):
    anonymous = GitHub()
    assert anonymous.api_url == fake.url and not anonymous.authenticated
    monkeypatch.setenv("GH_TOKEN", "gh-secret")
    gh = GitHub()
    assert gh.authenticated and "gh-secret" not in repr(gh)
    list(gh.releases(REPO))
    assert fake.requests[-1].headers["Authorization"] == "Bearer gh-secret"
    monkeypatch.setenv("GITHUB_TOKEN", "gha-secret")  # GITHUB_TOKEN wins
    list(GitHub().releases(REPO))
    assert fake.requests[-1].headers["Authorization"] == "Bearer gha-secret"


def test_rate_limit_once_is_retried(fake: FakeGitHub):
    waits: list[float] = []
    fake.rate_limit_once = True
    fake.add_release(REPO, "v1.0.0")
    assert [r["tag_name"] for r in client(fake, waits).releases(REPO)] == ["v1.0.0"]
    assert len(fake.requests) == 2 and len(waits) == 1


def test_retry_after_is_honoured_and_bounded(fake: FakeGitHub):
    waits: list[float] = []
    fake.rate_limit_once, fake.retry_after = True, "2"
    list(client(fake, waits).releases(REPO))
    assert waits == [2.0]
    fake.rate_limit_once, fake.retry_after = True, "3600"
    with pytest.raises(GitHubError) as info:
        list(client(fake, waits).releases(REPO))
    message = str(info.value)
    assert "rate limit exceeded for anonymous requests" in message
    assert "set GITHUB_TOKEN or GH_TOKEN" in message and "not waiting 3600s" in message


def test_5xx_is_retried_then_reported(fake: FakeGitHub):
    waits: list[float] = []
    fake.fail_5xx = 2
    assert list(client(fake, waits).releases(REPO)) == []
    assert len(waits) == 2
    fake.fail_5xx = 10
    with pytest.raises(
        GitHubError,
        match=r"GitHub answered 502; gave up after 4 attempts \(GET /repos/me/mylib/releases\)",
    ):
        list(client(fake).releases(REPO))


def test_backoff_doubles(fake: FakeGitHub, monkeypatch):
    monkeypatch.setattr(GitHub, "backoff", 0.5)
    waits: list[float] = []
    fake.fail_5xx = 3
    list(client(fake, waits).releases(REPO))
    assert waits == [0.5, 1.0, 2.0]


def test_writes_are_not_retried_on_5xx(fake: FakeGitHub):
    fake.fail_5xx = 1
    with pytest.raises(GitHubError, match="GitHub answered 502"):
        client(fake).create_issue(REPO, "t", "b", [])
    assert fake.issues[REPO] == []


def test_not_found_and_foreign_links(fake: FakeGitHub):
    with pytest.raises(GitHubError, match="404: Not Found .*check the owner/name"):
        list(client(fake).releases("acme/missing"))
    with pytest.raises(GitHubError, match="refusing"):
        client(fake).request("GET", "https://evil.example/repos/x")


def test_unreachable_api(monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")
    monkeypatch.setattr(GitHub, "backoff", 0.0)
    with pytest.raises(GitHubError, match=r"cannot reach http://127.0.0.1:9 .*gave up after 2"):
        list(GitHub(timeout=2).releases(REPO))


# -- text ---------------------------------------------------------------------------------------


HOSTILE = (
    "thanks @octocat and @org/team <script>alert(1)</script> see owner/repo#12 and #3\n"
    "# a heading\n![tracker](https://evil.example/t.png)\n```\nfenced escape\n"
)


def test_excerpt_is_a_fence_nothing_escapes():
    block = excerpt(HOSTILE)
    fence, body = block.split("\n", 1)
    assert fence.startswith("````") and body.endswith(fence.removesuffix("text"))
    assert body.count(fence.removesuffix("text")) == 1  # only the closing fence
    long = "\n".join(f"line {i} @someone" for i in range(100))
    assert excerpt(long, lines=10).count("\n") == 12 and "[…]" in excerpt(long, lines=10)
    assert len(excerpt("x" * 5000 + "\ny", chars=100)) < 200


# -- compatibility failures from results --------------------------------------------------------


def result(label: str, status: str, python: str = "3.12", version: str = "1.2.0", **kw) -> dict:
    return {
        "schema": 1,
        "session": f"compat-acme-{label}-{python}",
        "integration": "acme",
        "label": label,
        "package": "acme-sdk",
        "requested": version,
        "installed": version,
        "python": python,
        "status": status,
        "tests": {"passed": 3, "failed": 1 if status == "failed" else 0, "skipped": 0, "errors": 0},
        "failures": [],
        "deprecations": [],
        "log_tail": "",
        "started": "2026-11-25T14:00:00Z",
        **kw,
    }


def typed(data: dict) -> Result:
    return Result.from_dict(data, "test")


@pytest.mark.parametrize(
    ("label", "status", "expected"),
    [
        ("latest", "failed", "P0"),
        ("latest", "install-failed", "P0"),
        ("latest", "wrong-version", "P0"),
        ("latest", "timeout", "P0"),
        ("min", "failed", "P1"),
        ("1.14", "install-failed", "P1"),
        ("latest", "deprecated", "P2"),
        ("min", "deprecated", "P2"),
        ("latest", "passed", None),
        ("latest", "skipped", None),
        ("latest", "not-applicable", None),
        ("latest", "error", None),
    ],
)
def test_priority(label: str, status: str, expected):
    deprecations = [{"category": "DeprecationWarning", "message": "m", "source": "t.py:1"}]
    assert priority(typed(result(label, status, deprecations=deprecations))) == expected
    assert priority(typed(result(label, status, in_declared_range=False))) is None


def test_upstream_internal_deprecations_file_nothing():
    internal = [{"category": "DeprecationWarning", "message": "m", "source": "acme/x.py:1",
                 "attribution": "internal"}]  # fmt: skip
    assert priority(typed(result("latest", "passed", deprecations=internal))) is None


def test_failures_grouped_by_python_with_messages():
    failure = {
        "test": "tests/test_smoke.py::test_acme_client",
        "message": "AttributeError: <Client> has no 'fetch' @bob",
    }
    drafts = compat_failures(
        typed(r)
        for r in [
            result("latest", "failed", "3.11", version="2.0.0", failures=[failure]),
            result("latest", "failed", "3.12", version="2.0.0", failures=[failure]),
            result("min", "failed", "3.12", version="1.0.0"),
            result(
                "1.2",
                "deprecated",
                deprecations=[
                    {
                        "category": "DeprecationWarning",
                        "message": "fetch() is deprecated",
                        "source": "acme/client.py:88",
                    }
                ],
            ),
            result("1.1", "passed"),
        ]
    )
    assert [(d.title, d.labels) for d in drafts] == [
        ("[Compat] acme latest 2.0.0 failed", ("compat", "acme", "P0")),
        ("[Compat] acme min 1.0.0 failed", ("compat", "acme", "P1")),
        ("[Compat] acme 1.2 1.2.0 deprecated", ("compat", "acme", "P2")),
    ]
    body = drafts[0].body
    assert "on Python 3.11, 3.12" in body and "blocks users" in body
    assert "`tests/test_smoke.py::test_acme_client`" in body
    assert body.count("AttributeError") == 1  # the same failure on two Pythons is listed once
    assert "<Client>" in body and "<Client>" not in _outside_code(body)  # only inside code
    assert "nox -s compat-acme-latest" in body
    assert "`DeprecationWarning` at `acme/client.py:88`: `fetch() is deprecated`" in drafts[2].body


def test_hostile_messages_stay_inside_code():
    failure = {"test": "tests/t.py::test_x", "message": HOSTILE}
    deprecation = {"category": "DeprecationWarning", "message": HOSTILE, "source": "t.py:1"}
    [failed, deprecated] = compat_failures(
        [
            typed(result("latest", "failed", failures=[failure], message=HOSTILE)),
            typed(result("1.1", "deprecated", deprecations=[deprecation])),
        ]
    )
    for body in (failed.body, deprecated.body):
        outside = _outside_code(body)
        for needle in ("<script", "@octocat", "owner/repo#12", "![tracker]", "\n# a heading"):
            assert needle not in outside, (needle, body)


def _outside_code(markdown: str) -> str:
    """``markdown`` without fenced blocks and code spans."""
    import re

    text = re.sub(r"(?ms)^ *(`{3,})[^\n]*\n.*?^ *\1`*\s*$", "", markdown)
    return re.sub(r"(`+)(?:(?!\1).)+\1", "", text)


def test_install_failure_shows_log_tail_in_an_unbreakable_fence():
    [draft] = compat_failures(
        [typed(result("latest", "install-failed", log_tail="```\nerror: no solution @x\n"))]
    )
    assert "````\n```\nerror: no solution @x\n````" in draft.body


# -- filing: dedup, comments, bound --------------------------------------------------------------


def drafts(n: int, body: str = "body") -> list[Draft]:
    return [
        Draft(f"[Compat] acme min 1.{i}.0 failed", body, ("compat", "acme", "P1")) for i in range(n)
    ]


def test_dedup_comment_only_when_changed(fake: FakeGitHub):
    gh = client(fake)
    [created] = file_issues(gh, REPO, drafts(1))
    assert (created.action, created.number) == ("created", 1)
    assert fake.issues[REPO][0]["labels"] == [{"name": n} for n in ("compat", "acme", "P1")]
    [again] = file_issues(gh, REPO, drafts(1))
    assert again.action == "unchanged" and len(fake.writes()) == 1
    [changed] = file_issues(gh, REPO, drafts(1, "new body"))
    assert changed.action == "commented" and fake.comments[(REPO, 1)][-1]["body"] == "new body"
    [same] = file_issues(gh, REPO, drafts(1, "new body"))  # compared with the last comment
    assert same.action == "unchanged" and len(fake.writes()) == 2
    assert len(fake.issues[REPO]) == 1


def test_dedup_finds_issues_by_title_when_the_label_was_removed(fake: FakeGitHub):
    fake.add_issue(REPO, "[Compat] acme min 1.0.0 failed", "body", labels=["bug"])
    [outcome] = file_issues(client(fake), REPO, drafts(1))
    assert outcome.action == "unchanged"
    assert any(r.path.startswith("/search/issues") for r in fake.requests)


def test_bound_on_new_issues(fake: FakeGitHub, capsys):
    outcomes = file_issues(client(fake), REPO, drafts(5), max_new=2)
    assert [o.action for o in outcomes] == [
        "created",
        "created",
        "left-out",
        "left-out",
        "left-out",
    ]
    assert len(fake.issues[REPO]) == 2


def test_dry_run_writes_nothing(fake: FakeGitHub):
    fake.add_issue(REPO, "[Compat] acme min 1.0.0 failed", "old", labels=["compat"])
    outcomes = file_issues(client(fake), REPO, drafts(2), dry_run=True)
    assert [o.action for o in outcomes] == ["would comment", "would create"]
    assert fake.writes() == []
    assert [o.action for o in file_issues(None, None, drafts(1), dry_run=True)] == ["would create"]


# -- `compat issues` ----------------------------------------------------------------------------


@pytest.fixture
def results_config(tmp_path: Path) -> Path:
    results = tmp_path / ".compat" / "results"
    results.mkdir(parents=True)
    for r in [
        result("latest", "failed", "3.12", version="2.0.0"),
        result("latest", "failed", "3.11", version="2.0.0"),
        result("min", "passed", version="1.0.0"),
        result(
            "1.1", "deprecated", version="1.1.3",
            deprecations=[{"category": "DeprecationWarning", "message": "m", "source": "t.py:1"}],
        ),
    ]:  # fmt: skip
        (results / f"{r['session']}.json").write_text(json.dumps(r))
    (results / "notes.json").write_text("[1, 2]")  # not a result file name: ignored
    config = tmp_path / "compat.toml"
    (tmp_path / "tests/integration").mkdir(parents=True)
    (tmp_path / "tests/integration/test_smoke.py").write_text("")
    config.write_text('[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0.0"\n')
    return config


def test_compat_issues_cli(results_config: Path, fake: FakeGitHub, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_TOKEN", "tok")
    code = main(["issues", "--config", str(results_config), "--repo", REPO, "--max", "1"])
    out = capsys.readouterr().out
    assert code == 1  # latest fails
    assert "created       [Compat] acme latest 2.0.0 failed #1" in out
    assert "left-out      [Compat] acme 1.1 1.1.3 deprecated" in out
    assert "1 issue(s) left out: at most 1 new issues per run (--max)" in out
    code = main(["issues", "--config", str(results_config), "--repo", REPO, "--json"])
    outcomes = json.loads(capsys.readouterr().out)
    assert [o["action"] for o in outcomes] == ["unchanged", "created"]
    assert [i["title"] for i in fake.issues[REPO]] == [
        "[Compat] acme latest 2.0.0 failed",
        "[Compat] acme 1.1 1.1.3 deprecated",
    ]


def test_compat_issues_dry_run_without_github(results_config: Path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    code = main(["issues", "--config", str(results_config), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 1 and out.count("would create") == 2
    code = main(["issues", "--config", str(results_config)])
    assert code == 2 and "GITHUB_REPOSITORY" in capsys.readouterr().err


def test_an_open_high_alert_is_the_next_breaking_change(fake: FakeGitHub, tmp_path, monkeypatch):
    """`compat metadata` reads open high release alerts for the Next Breaking Change."""
    from compat.results import save

    root = tmp_path / "lib"
    (root / "tests").mkdir(parents=True)
    (root / "tests/test_acme.py").write_text("def test_acme():\n    pass\n")
    (root / "mylib").mkdir()
    (root / "mylib/acme.py").write_text('"""Our acme integration."""\n')
    (root / "pyproject.toml").write_text(
        '[project]\nname = "mylib"\ndependencies = ["acme-sdk>=1.0"]\n'
    )
    (root / "compat.toml").write_text(
        '[settings]\npython = ["3.12"]\ntests = ["tests"]\nindex-url = "http://127.0.0.1:9/simple"\n'
        '[integrations.acme]\npackage = "acme-sdk"\nfile = "mylib/acme.py"\n'
    )
    save(typed(result("latest", "passed", version="1.2.0")), root / ".compat/results")
    body = "**acme-sdk 2.0.0** was published.\n\nReasons:\n- `new major version (1.2.0 → 2.0.0)`\n"
    fake.add_issue(
        REPO, "[Release Alert] acme 2.0.0", body, labels=["release-alert", "priority:high"]
    )
    fake.add_issue(
        REPO, "[Release Alert] acme 1.1.0", body, labels=["release-alert", "priority:high"]
    )
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("COMPAT_INDEX_TIMEOUT", "1")
    assert main(["metadata", "--write", "--offline", "--config", str(root / "compat.toml")]) == 0
    module = (root / "mylib/acme.py").read_text()
    upcoming = module.split("Next Breaking Change:")[1]
    assert "2.0.0" in upcoming and "new major version" in upcoming
    assert "1.1.0" not in upcoming  # older than what the matrix already tested


def test_a_changed_verdict_comments_and_moves_the_priority_label(fake: FakeGitHub):
    """A verified alert updates the open one (an unverified `priority:high` here): a comment,
    the priority label replaced, the maintainers' own labels kept; the same verdict again
    (its key in the last comment) writes nothing."""
    fake.add_issue(
        REPO, "[Release Alert] acme 2.0.0", "old", labels=["release-alert", "acme",
        "priority:high", "triaged"],
    )  # fmt: skip
    draft = Draft(
        "[Release Alert] acme 2.0.0",
        "fails\n<!-- compat-alert: k1 -->\n",
        ("release-alert", "acme", "P0"),
        key="k1",
    )
    [outcome] = file_issues(client(fake), REPO, [draft])
    assert outcome.action == "commented"
    labels = [label["name"] for label in fake.issues[REPO][0]["labels"]]
    assert labels == ["release-alert", "acme", "triaged", "P0"]
    again = Draft(
        draft.title, "fails, said otherwise\n<!-- compat-alert: k1 -->\n", draft.labels, "k1"
    )
    writes = len(fake.writes())
    assert file_issues(client(fake), REPO, [again])[0].action == "unchanged"
    assert len(fake.writes()) == writes
