"""`compat upstream`: the breaking-change score (pure) and end-to-end runs against a local
package index and a local fake GitHub API."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from packaging.version import Version
from pkgindex import IndexServer, Release

from compat.cli import main
from compat.github import GitHub
from compat.upstream.notes import match_releases, tag_version
from compat.upstream.repo import github_repo, metadata_urls
from compat.upstream.score import Signal, names_used, note_signals, score_release

ROOT = Path(__file__).resolve().parents[1]

# -- realistic release notes -------------------------------------------------------------------

WHATS_CHANGED = """\
## What's Changed
* Remove typo in README by @alice in https://github.com/acme/acme-sdk/pull/101
* Fix deprecated docs link by @bob in https://github.com/acme/acme-sdk/pull/102
* Bump httpx from 0.27.0 to 0.28.1 by @dependabot[bot] in https://github.com/acme/acme-sdk/pull/103
* changed the docs about our breaking changes policy by @carol in https://github.com/acme/acme-sdk/pull/104

## New Contributors
* @carol made their first contribution in https://github.com/acme/acme-sdk/pull/104

**Full Changelog**: https://github.com/acme/acme-sdk/compare/v1.2.0...v1.2.1
"""

BREAKING_SECTION = """\
## 2.0.0 (2026-11-20)

Full Changelog: [v1.9.3...v2.0.0](https://github.com/acme/acme-sdk/compare/v1.9.3...v2.0.0)

### ⚠ BREAKING CHANGES

* **client:** `Client.fetch()` now returns a `Response` object instead of a `dict`.
* **auth:** the `api_key` argument is keyword-only.

### Features

* **api:** support streaming uploads ([a1b2c3d](https://github.com/acme/acme-sdk/commit/a1b2c3d))

### Bug Fixes

* **client:** remove deprecated `timeout` alias from the docs ([e4f5a6b](https://github.com/acme/acme-sdk/commit/e4f5a6b))
"""

BANG_COMMIT = """\
## Changes

- 9f8e7d6 docs: fix typo in the quickstart
- a1b2c3d fix!: raise ValueError on unknown model names instead of warning
- feat(tools): add `Tool.from_function`
"""

TOWNCRIER = """\
Acme SDK 0.9.0 (2026-11-20)
===========================

Features
--------

- Add ``Client.stream()``. (#123)

Deprecations and Removals
-------------------------

- Remove the ``acme.legacy`` module, deprecated since 0.6. (#130)
- ``Client.fetch(timeout=...)`` is deprecated; use ``deadline=`` instead. (#131)

Misc
----

- #140
"""

TOWNCRIER_DEPRECATIONS_ONLY = """\
### Deprecations and Removals

- ``Client.fetch(timeout=...)`` is deprecated; use ``deadline=`` instead. (#131)

### Bugfixes

- Fix the removal of temporary files. (#135)
"""

KEEP_A_CHANGELOG = """\
## [1.4.0] - 2026-11-20
### Added
- `Client.close()`.
### Deprecated
- `Client.shutdown()`; use `Client.close()`.
### Removed
- Python 3.8 support.
### Fixed
- Removed a stray print in `Client.fetch`.
"""


# -- scoring: pure unit tests ------------------------------------------------------------------


def test_whats_changed_with_mere_mentions_is_low():
    score = score_release("1.2.1", previous="1.2.0", notes=WHATS_CHANGED)
    assert score.level == "low"
    assert score.signals == ()


def test_breaking_section_naming_what_you_use_is_high_with_those_lines_first():
    score = score_release(
        "1.10.0", previous="1.9.3", notes=BREAKING_SECTION, used=frozenset({"api_key", "x"})
    )
    assert score.level == "high"
    [signal] = score.signals
    assert signal.reason == '"⚠ BREAKING CHANGES" section, naming what your code uses'
    assert signal.lines == (
        "* **auth:** the `api_key` argument is keyword-only.",
        "* **client:** `Client.fetch()` now returns a `Response` object instead of a `dict`.",
    )


def test_breaking_section_naming_nothing_you_use_is_medium():
    score = score_release(
        "1.10.0", previous="1.9.3", notes=BREAKING_SECTION, used=frozenset({"run"})
    )
    assert score.level == "medium"
    assert score.reasons == ['"⚠ BREAKING CHANGES" section; none of it names what your code uses']
    unknown = score_release("1.10.0", previous="1.9.3", notes=BREAKING_SECTION)
    assert (unknown.level, unknown.reasons) == ("medium", ['"⚠ BREAKING CHANGES" section'])


def test_conventional_commit_bang_counts_but_other_commits_do_not():
    score = score_release("1.3.0", previous="1.2.0", notes=BANG_COMMIT, used=frozenset({"x"}))
    assert score.level == "medium"
    [signal] = score.signals
    assert "`!:`" in signal.reason
    assert signal.lines == (
        "- a1b2c3d fix!: raise ValueError on unknown model names instead of warning",
    )


def test_towncrier_deprecations_and_removals_that_removes_is_high_when_you_use_it():
    signals = note_signals(TOWNCRIER, frozenset({"legacy"}))
    assert [(s.level, s.reason) for s in signals] == [
        ("high", '"Deprecations and Removals" section removes APIs, naming what your code uses')
    ]
    assert signals[0].lines == (
        "- Remove the ``acme.legacy`` module, deprecated since 0.6. (#130)",
    )


def test_towncrier_deprecations_only_is_medium():
    signals = note_signals(TOWNCRIER_DEPRECATIONS_ONLY)
    assert [(s.level, s.reason) for s in signals] == [
        ("medium", '"Deprecations and Removals" section')
    ]
    assert "Fix the removal" not in " ".join(signals[0].lines)


def test_keep_a_changelog_deprecated_and_removed_sections():
    signals = note_signals(KEEP_A_CHANGELOG)
    assert [(s.level, s.reason, s.lines) for s in signals] == [
        ("medium", '"Deprecated" section', ("- `Client.shutdown()`; use `Client.close()`.",)),
        ("medium", '"Removed" section', ("- Python 3.8 support.",)),
    ]
    assert score_release("1.4.0", previous="1.3.2", notes=KEEP_A_CHANGELOG).level == "medium"


@pytest.mark.parametrize(
    "notes",
    [
        "## Breaking changes\n\nNone.\n\n## Fixes\n- remove a typo\n",
        "### Breaking Changes\n- N/A\n",
        "## Non-breaking changes\n- tidy up\n",
        "## Removed typos and deprecated links from the README\n- docs\n",
        "* Remove deprecated `foo` parameter by @bar in #12\n",
        "Thanks to everyone who reported breaking behaviour!\n",
    ],
)
def test_what_does_not_count(notes: str):
    assert note_signals(notes) == []


@pytest.mark.parametrize(
    ("notes", "reason"),
    [
        ("- feat(api)!: drop `Client.legacy`\n", "Conventional Commit marked breaking (`!:`)"),
        ("* refactor!: rename `acme.io` to `acme.files` by @x in #3\n", "Conventional Commit"),
        ("feat: new parser\n\nBREAKING CHANGE: the old parser is gone\n", "BREAKING CHANGE"),
        ("- **Breaking:** `run()` is now async\n", "BREAKING CHANGE"),
        ("**Breaking Changes**\n- `run()` is now async\n\n**Bug fixes**\n- x\n", "section"),
        ("Breaking changes\n~~~~~~~~~~~~~~~~\n\n* ``run()`` is now async\n", "section"),
    ],
)
def test_explicit_markers_count(notes: str, reason: str):
    signals = note_signals(notes)
    assert signals and signals[0].level == "medium"
    assert reason in signals[0].reason


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("- feat(api)!: drop `Client.legacy`", True),
        ("* `acme.io` was renamed", True),
        ("- `run()` is now async", True),
        ("- the max_retries default changed", True),
        ("- the old parser is gone", False),
        ("- run faster", False),
    ],
)
def test_what_names_what_you_use(line: str, names: bool):
    assert names_used(line, frozenset({"legacy", "io", "run", "max_retries", "parser"})) is names


def test_bold_heading_section_ends_at_the_next_heading():
    notes = "**Breaking Changes**\n- `run()` is now async\n\n**Bug fixes**\n- fix crash\n"
    [signal] = note_signals(notes)
    assert signal.lines == ("- `run()` is now async",)


@pytest.mark.parametrize(
    ("previous", "version", "expected"),
    [
        ("1.9.3", "2.0.0", ("medium", "new major version (1.9.3 → 2.0.0)")),
        ("0.4.9", "0.5.0", ("medium", "new minor version on 0.x (0.4.9 → 0.5.0)")),
        ("0.4.1", "0.4.2", None),
        ("1.2.0", "1.3.0", None),
        ("2025.10.1", "2026.1.0", None),
    ],
)
def test_version_jump(previous: str, version: str, expected):
    score = score_release(version, previous=previous)
    got = [(s.level, s.reason) for s in score.signals]
    assert got == ([expected] if expected else [])
    assert score.level == (expected[0] if expected else "low")


def test_requires_python_change():
    dropped = score_release(
        "1.3.0",
        previous="1.2.0",
        previous_requires_python=">=3.9",
        requires_python=">=3.10",
        pythons=("3.9", "3.12"),
    )
    assert dropped.level == "medium"
    assert dropped.reasons == [
        "requires-python changed: >=3.9 → >=3.10; drops Python 3.9 that the matrix tests"
    ]
    untouched = score_release(
        "1.3.0", previous_requires_python=">=3.9", requires_python=">=3.10", pythons=("3.12",)
    )
    assert (untouched.level, untouched.reasons) == (
        "low",
        ["requires-python changed: >=3.9 → >=3.10"],
    )
    assert (
        score_release("1.3.0", previous_requires_python=">=3.9", requires_python=">=3.9").signals
        == ()
    )


def test_yanked_and_extra_signals():
    score = score_release("1.3.0", previous="1.2.0", yanked="broken wheel")
    assert (score.level, score.reasons) == ("medium", ["yanked on the index: broken wheel"])
    score = score_release("1.3.0", previous="1.2.0", yanked=True, pinned=True)
    assert (score.level, score.reasons) == ("high", ["yanked on the index; the project pins it"])
    api = ("high", "API diff: `acme.Client.fetch` removed", ["acme.Client.fetch"])
    score = score_release("1.3.0", previous="1.2.0", yanked=True, extra=[api])
    assert score.level == "high"
    assert score.reasons == ["API diff: `acme.Client.fetch` removed", "yanked on the index"]
    assert score.lines == ["acme.Client.fetch"]
    with pytest.raises(ValueError, match="unknown level"):
        Signal("critical", "x")


# -- tags and repositories ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    ["1.2.3", "v1.2.3", "acme-sdk-v1.2.3", "python-v1.2.3", "acme-sdk==1.2.3", "acme_sdk-1.2.3"],
)
def test_tag_forms(tag: str):
    assert tag_version(tag, "acme-sdk")[0] == Version("1.2.3")


@pytest.mark.parametrize(
    "tag", ["acme-cli-v1.2.3", "langchain-openai==1.2.3", "dotnet-v1.2.3", "v1.2"]
)
def test_tags_of_other_packages_do_not_match(tag: str):
    hit = tag_version(tag, "acme-sdk")
    assert hit is None or hit[0] != Version("1.2.3")


def test_package_specific_tag_wins_in_a_monorepo():
    releases = [
        {"tag_name": "v0.3.1", "body": "generic"},
        {"tag_name": "acme-sdk==0.3.1", "body": "specific"},
    ]
    assert (
        match_releases(releases, "acme-sdk", [Version("0.3.1")])[Version("0.3.1")]["body"]
        == "specific"
    )


def test_github_repo_from_project_urls():
    metadata = (
        "Metadata-Version: 2.1\nName: acme-sdk\nVersion: 1.0\n"
        "Home-page: https://acme.dev\n"
        "Project-URL: Documentation, https://docs.acme.dev\n"
        "Project-URL: Issues, https://github.com/acme/acme-issues/issues\n"
        "Project-URL: Source Code, https://github.com/acme/acme-sdk.git\n"
    )
    assert github_repo(metadata_urls(metadata)) == "acme/acme-sdk"
    assert github_repo([("Funding", "https://github.com/sponsors/acme")]) is None
    assert github_repo([("Homepage", "https://acme.dev")]) is None


# -- end to end: local index + fake GitHub ------------------------------------------------------

NOW = datetime.now(timezone.utc)
SOURCE = {"Source": "https://github.com/acme/acme-sdk", "Documentation": "https://acme.dev"}


def ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


@pytest.fixture
def fake_github(monkeypatch) -> FakeGitHub:
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setattr(GitHub, "backoff", 0.0)
        yield fake


@pytest.fixture
def project(tmp_path: Path, index_server: IndexServer, fake_github: FakeGitHub) -> Path:
    """acme-sdk with two releases in the last week, notes on GitHub on the second page."""
    index_server.add(
        Release("acme-sdk", "1.0.0", upload_time="2024-03-01T00:00:00.000000Z"),
        Release("acme-sdk", "1.1.0", upload_time=ago(30), requires_python=">=3.9"),
        Release("acme-sdk", "1.2.0", upload_time=ago(3), requires_python=">=3.9"),
        Release(
            "acme-sdk", "2.0.0", upload_time=ago(1), requires_python=">=3.10", project_urls=SOURCE
        ),
    )
    fake_github.add_release("acme/acme-sdk", "v1.1.0", "old", published_at=ago(30))
    fake_github.add_release("acme/acme-sdk", "v1.2.0", WHATS_CHANGED, published_at=ago(3))
    fake_github.add_release("acme/acme-sdk", "v2.0.0", BREAKING_SECTION, published_at=ago(1))
    for i in range(120):  # another package of the monorepo, released more often
        fake_github.add_release("acme/acme-sdk", f"acme-cli-v0.{i}.0", "cli", published_at=ago(0.5))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_acme.py").write_text(SMOKE)
    config = tmp_path / "compat.toml"
    config.write_text(
        f'[settings]\nindex-url = "{index_server.simple_url}"\npython = ["3.12"]\n'
        'tests = ["tests/test_acme.py"]\n\n'
        '[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0.0"\n'
    )
    return config


# The project's smoke test: it uses `Client.fetch`, which 2.0.0's notes say changed.
SMOKE = (
    "import pytest\n\n\ndef test_acme():\n"
    "    acme = pytest.importorskip('acme_sdk')\n"
    "    assert acme.Client().fetch('x')\n"
)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_upstream_human_output(project: Path, index_server: IndexServer, fake_github, capsys):
    code, out, err = run_cli(capsys, "upstream", "--config", str(project))
    assert code == 1, out + err  # 2.0.0 is high: its breaking notes name Client.fetch
    assert "acme (acme-sdk, github.com/acme/acme-sdk; never tested)" in out
    lines = out.splitlines()
    high = next(line for line in lines if "2.0.0" in line and "HIGH" in line)
    assert ago(1)[:10] in high and "https://github.com/acme/acme-sdk/releases/tag/v2.0.0" in high
    assert "new major version (1.2.0 → 2.0.0)" in out
    assert '"⚠ BREAKING CHANGES" section, naming what your code uses' in out
    assert "API diff against 1.2.0: no breakage in 3 uses" in out
    low = next(line for line in lines if "1.2.0" in line and "LOW" in line)
    assert "releases/tag/v1.2.0" in low
    assert not [line for line in lines if line.split()[1:2] == ["1.1.0"]]  # outside the window
    assert (
        "Summary: 2 new releases from 1 of 1 integration in the last 7 days: "
        "1 high, 0 medium, 1 low" in out
    )
    assert "| *" not in out  # no previews without -v
    # the repository came from the latest wheel's METADATA (no PEP 658 here: downloaded)
    assert any(
        path.endswith("acme_sdk-2.0.0-py3-none-any.whl") for _, path, _ in index_server.requests
    )
    # the notes were on the second page of releases
    assert [r.path for r in fake_github.requests if "releases" in r.path][-1].endswith("page=2")
    assert "Authorization" not in fake_github.requests[0].headers


def test_upstream_verbose_json_and_window(project: Path, capsys):
    code, out, _ = run_cli(capsys, "upstream", "--config", str(project), "-v")
    assert "| * **client:** `Client.fetch()` now returns a `Response` object" in out
    code, out, _ = run_cli(capsys, "upstream", "--config", str(project), "--json", "--days", "2")
    data = json.loads(out)
    assert code == 1
    [acme] = data["integrations"]
    assert acme["repo"] == "acme/acme-sdk" and acme["repo_source"] == "project URLs"
    assert [r["version"] for r in acme["releases"]] == ["2.0.0"]
    release = acme["releases"][0]
    assert release["level"] == "high" and release["tag"] == "v2.0.0"
    assert "requires-python changed: >=3.9 → >=3.10" in release["reasons"]
    assert release["api_diff"]["status"] == "clean"
    assert data["summary"] == {
        "releases": 1,
        "high": 1,
        "medium": 0,
        "low": 0,
        "P0": 0,
        "P1": 0,
        "P2": 0,
        "passing": 0,
        "unverified": 1,
        "already_tested": 0,
        "integrations": 1,
        "integrations_with_releases": 1,
        "errors": 0,
    }


def test_upstream_token_is_sent_but_never_printed(project: Path, fake_github, monkeypatch, capsys):
    monkeypatch.setenv("GH_TOKEN", "ghp_secret123")
    code, out, err = run_cli(capsys, "upstream", "--config", str(project), "-v")
    assert code == 1
    assert {r.headers.get("Authorization") for r in fake_github.requests} == {
        "Bearer ghp_secret123"
    }
    assert "ghp_secret123" not in out + err


def test_upstream_retries_rate_limit_and_5xx(project: Path, fake_github, capsys):
    fake_github.rate_limit_once = True
    fake_github.fail_5xx = 2
    code, out, _ = run_cli(capsys, "upstream", "--config", str(project))
    assert code == 1 and "error" not in out


def test_upstream_github_down_is_exit_2(project: Path, fake_github, capsys):
    fake_github.fail_5xx = 100
    code, out, _ = run_cli(capsys, "upstream", "--config", str(project))
    assert code == 2
    assert (
        "error: release notes of acme/acme-sdk: GitHub answered 502; gave up after 4 attempts"
        in out
    )
    assert "1 integration could not be fully checked" in out
    assert out.count("release notes unavailable (GitHub answered 502)") == 2


def test_upstream_missing_notes_is_not_an_error(project: Path, fake_github, capsys):
    fake_github.releases["acme/acme-sdk"] = [
        r for r in fake_github.releases["acme/acme-sdk"] if "cli" in r["tag_name"]
    ]
    code, out, _ = run_cli(capsys, "upstream", "--config", str(project), "--days", "2")
    assert code == 0  # a major jump alone is medium: nothing says the project breaks
    assert "MEDIUM  2.0.0" in out
    assert "no release notes found on acme/acme-sdk" in out


def test_upstream_nothing_new(project: Path, fake_github, index_server, capsys):
    config = project.read_text().replace('"acme-sdk"', '"acme-sdk"\nrepo = "acme/acme-sdk"')
    project.write_text(config)
    fake_github.requests.clear()
    code, out, _ = run_cli(
        capsys, "upstream", "--config", str(project), "--days", "1", "--integration", "acme"
    )
    # 2.0.0 was uploaded exactly a day before NOW, i.e. just outside a 1-day window at run time
    assert code == 0
    assert "no new releases in the last 1 days" in out
    assert fake_github.requests == []  # nothing new: GitHub is not asked


def test_upstream_index_unreachable_is_exit_2(project: Path, index_server: IndexServer, capsys):
    index_server.fail = True
    code, out, _ = run_cli(capsys, "upstream", "--config", str(project))
    assert code == 2
    assert "no cached copy" in out


def test_upstream_unknown_integration(project: Path, capsys):
    code, _, err = run_cli(capsys, "upstream", "--config", str(project), "--integration", "acmee")
    assert code == 2 and "did you mean 'acme'" in err


def test_upstream_creates_release_alerts_once(project: Path, fake_github, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_REPOSITORY", "me/mylib")
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    fake_github.add_repo("me/mylib")
    code, out, _ = run_cli(capsys, "upstream", "--config", str(project), "--create-issues")
    assert code == 1
    [issue] = fake_github.issues["me/mylib"]
    assert issue["title"] == "[Release Alert] acme 2.0.0"
    assert [label["name"] for label in issue["labels"]] == [
        "release-alert",
        "acme",
        "priority:high",
    ]
    assert "* **client:** `Client.fetch()` now returns" in issue["body"]
    assert "**Unverified**: scored from the release notes and the API diff" in issue["body"]
    assert (
        "nox -s compat-acme-latest" in issue["body"]
        and 'uv pip install "acme-sdk==2.0.0"' in issue["body"]
    )
    assert "created       [Release Alert] acme 2.0.0 #1" in out
    writes = len(fake_github.writes())
    code, out, _ = run_cli(
        capsys, "upstream", "--config", str(project), "--create-issues", "--no-verify"
    )
    assert "unchanged     [Release Alert] acme 2.0.0 #1" in out
    assert "Unverified: scored from release notes and static checks alone" in out
    assert len(fake_github.writes()) == writes  # nothing changed: nothing written


def test_create_issues_needs_a_repository(project: Path, capsys):
    code, _, err = run_cli(capsys, "upstream", "--config", str(project), "--create-issues")
    assert code == 2 and "--repo OWNER/NAME or set GITHUB_REPOSITORY" in err


def test_script_wrapper_takes_the_same_flags(project: Path, fake_github):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "check_upstream_changes.py"),
            "--config",
            str(project),
            "--days",
            "31",
            "-v",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Summary: 3 new releases from 1 of 1 integration in the last 31 days" in done.stdout


@pytest.mark.network
def test_live_repo_discovery_from_pypi(tmp_path: Path):
    from compat.index import IndexClient
    from compat.upstream.repo import find_repo

    client = IndexClient("https://pypi.org/simple", cache_dir=tmp_path)
    assert find_repo(client, client.project("openai")) == "openai/openai-python"


def test_upstream_api_diff_of_what_you_use_scores_high(
    tmp_path: Path, index_server: IndexServer, fake_github: FakeGitHub, capsys
):
    """A patch release with quiet notes still scores high when it removes what the tests use."""
    old = {
        "acme_sdk/__init__.py": "class Widget:\n    def spin(self, speed=1):\n        return speed\n"
    }
    new = {"acme_sdk/__init__.py": "class Gadget:\n    pass\n"}
    index_server.add(
        Release("acme-sdk", "1.0.0", modules=old, upload_time="2024-03-01T00:00:00.000000Z"),
        Release("acme-sdk", "1.0.1", modules=new, upload_time=ago(1), project_urls=SOURCE),
    )
    fake_github.add_release(
        "acme/acme-sdk", "v1.0.1", "## What's Changed\n* tidy up", published_at=ago(1)
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_smoke.py").write_text(
        "from acme_sdk import Widget\n\n\ndef test_acme():\n    assert Widget().spin(speed=2) == 2\n"
    )
    config = tmp_path / "compat.toml"
    config.write_text(
        f'[settings]\nindex-url = "{index_server.simple_url}"\npython = ["3.12"]\n'
        'tests = ["tests/test_smoke.py"]\n\n[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0.0"\n'
    )
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config), "-v")
    assert code == 1, out
    assert "API diff against 1.0.0: 1 certain breakage(s) in what you use" in out
    assert "test_smoke.py:1" in out
    code, out, _ = run_cli(capsys, "upstream", "--config", str(config), "--no-apidiff")
    assert code == 0 and "API diff" not in out
