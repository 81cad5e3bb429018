"""The GitHub files generated from compat.toml: schema-valid, complete, and drift-checked."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from compat import workflows
from compat.cli import main
from compat.matrix import load
from compat.plan import Cell

REPO = Path(__file__).resolve().parent.parent

TOML = """\
[settings]
python = ["3.11", "3.12"]
tests = ["tests/integration/test_smoke.py", "tests/more/"]
results-dir = "out/results"
timeout = 1000

[integrations.crewai]
package = "crewai"
min = "1.0"
with = ["crewai-tools[mcp]>=0.5", "httpx<0.28"]
file = "mylib/integrations/crewai.py"

[integrations.openai]
package = "openai"
min = "1.0"
python = ["3.9"]
tests = ["tests/test_openai.py::test_chat"]
"""

WORKFLOWS = [workflows.MATRIX_WORKFLOW, workflows.UPSTREAM_WORKFLOW]


def parse(text: str, version: tuple[int, int] = (1, 2)):
    yaml = YAML(typ="safe", pure=True)
    yaml.version = version
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return yaml.load(text)


def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
    )


def paths_of_the_matrix(root: Path) -> None:
    """The tests and the integration module the TOML names (the matrix checks they exist)."""
    for name in ("tests/integration/test_smoke.py", "tests/more/test_x.py", "tests/test_openai.py",
                 "mylib/integrations/crewai.py"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small invented project (not nox-compat) whose compat.toml needs no index."""
    (tmp_path / "compat.toml").write_text(TOML)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mylib"\nversion = "1"\n')
    paths_of_the_matrix(tmp_path)
    return tmp_path


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    """The same matrix in a sub-folder of a git repository: .github goes to the top."""
    (tmp_path / ".git").mkdir()
    sub = tmp_path / "libs" / "mylib"
    sub.mkdir(parents=True)
    (sub / "compat.toml").write_text(TOML)
    paths_of_the_matrix(sub)
    return tmp_path


def generate(config: Path, capsys, *extra: str) -> tuple[int, str, str]:
    rc = main(["workflows", "--config", str(config), *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def test_generated_files_validate_against_the_published_schemas(project, monorepo, capsys):
    assert generate(project / "compat.toml", capsys)[0] == 0
    assert generate(monorepo / "libs/mylib/compat.toml", capsys)[0] == 0
    roots = (project, monorepo)
    result = check_jsonschema(
        "vendor.github-workflows", *(root / name for root in roots for name in WORKFLOWS)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    result = check_jsonschema("vendor.dependabot", *(r / workflows.DEPENDABOT for r in roots))
    assert result.returncode == 0, result.stdout + result.stderr


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("actionlint")
    if binary is None:
        pytest.skip("actionlint is installed with the dev extra on Linux x86_64 only")
    return subprocess.run(
        [binary, "-no-color", *map(str, files)], capture_output=True, text=True, cwd=files[0].parent
    )


def test_generated_workflows_pass_actionlint(project, monorepo, capsys):
    assert generate(project / "compat.toml", capsys)[0] == 0
    assert generate(monorepo / "libs/mylib/compat.toml", capsys)[0] == 0
    files = [root / name for root in (project, monorepo, REPO) for name in WORKFLOWS]
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_reject_a_broken_workflow(project, capsys):
    generate(project / "compat.toml", capsys)
    path = project / workflows.MATRIX_WORKFLOW
    path.write_text(path.read_text().replace("needs.plan.outputs", "needs.plann.outputs"))
    result = actionlint(path)
    assert result.returncode == 1 and 'property "plann" is not defined' in result.stdout


def test_the_schema_check_does_reject_a_broken_workflow(project, capsys):
    generate(project / "compat.toml", capsys)
    path = project / workflows.MATRIX_WORKFLOW
    path.write_text(path.read_text().replace("runs-on:", "runs_on:", 1))
    assert check_jsonschema("vendor.github-workflows", path).returncode == 1


def test_this_repository_files_are_current_and_valid(capsys):
    assert main(["workflows", "--check", "--config", str(REPO / "compat.toml")]) == 0, (
        capsys.readouterr().out
    )
    result = check_jsonschema("vendor.github-workflows", *(REPO / name for name in WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr
    result = check_jsonschema("vendor.dependabot", REPO / workflows.DEPENDABOT)
    assert result.returncode == 0, result.stdout + result.stderr
    groups = parse((REPO / workflows.DEPENDABOT).read_text())["updates"][0]["groups"]
    assert set(groups) == {i.name for i in load(REPO / "compat.toml").integrations}


def test_dependabot_groups_cover_every_integration(project, capsys):
    rc, out, _ = generate(project / "compat.toml", capsys)
    assert rc == 0 and "wrote .github/dependabot.yml" in out
    data = parse((project / workflows.DEPENDABOT).read_text())
    assert data["version"] == 2
    pip, actions = data["updates"]
    assert pip["package-ecosystem"] == "pip" and pip["directory"] == "/"
    assert pip["schedule"] == {
        "interval": "weekly",
        "day": "monday",
        "time": "09:00",
        "timezone": "UTC",
    }
    assert pip["labels"] == ["dependencies"]
    # a library's ranges: Dependabot never raises a floor because something newer exists
    assert pip["versioning-strategy"] == "increase-if-necessary"
    text = (project / workflows.DEPENDABOT).read_text()
    assert "# increase-if-necessary suits a library" in text
    assert pip["groups"] == {
        "crewai": {"patterns": ["crewai", "crewai-tools", "httpx", "crewai*"]},
        "openai": {"patterns": ["openai", "openai*"]},
    }
    assert actions["package-ecosystem"] == "github-actions"
    assert actions["schedule"] == pip["schedule"]


def test_check_exits_1_on_drift_and_0_after_regeneration(project, capsys):
    config = str(project / "compat.toml")
    path = project / workflows.DEPENDABOT
    assert main(["dependabot", "--check", "--config", config]) == 1  # nothing written yet
    assert "+++ b/.github/dependabot.yml" in capsys.readouterr().out
    assert not path.exists()

    assert main(["dependabot", "--config", config]) == 0
    out = capsys.readouterr().out
    assert out == "wrote .github/dependabot.yml\n"  # dependabot alone writes only that file
    assert main(["dependabot", "--check", "--config", config]) == 0
    assert capsys.readouterr().out == ""

    path.write_text(path.read_text().replace("interval: weekly", "interval: daily", 1))
    assert main(["dependabot", "--check", "--config", config]) == 1
    out, err = capsys.readouterr()
    assert "-      interval: daily\n+      interval: weekly\n" in out
    assert "run `compat dependabot`" in err
    assert "interval: daily" in path.read_text()  # --check never writes

    # the TOML changed: the committed files drift until regenerated
    generate(project / "compat.toml", capsys)
    toml = project / "compat.toml"
    toml.write_text(toml.read_text() + '\n[integrations.langchain]\npackage = "x"\nmin = "1.0"\n')
    rc, out, _ = generate(toml, capsys, "--check")
    assert rc == 1 and "+      langchain:" in out and "+| `langchain` |" in out
    assert generate(toml, capsys)[0] == 0
    rc, out, _ = generate(toml, capsys, "--check")
    assert (rc, out) == (0, "")
    assert generate(toml, capsys)[1].count("up to date:") == 4
    assert not list(project.glob(".github/**/*.tmp"))


def test_matrix_workflow_triggers_jobs_and_paths(project, capsys):
    generate(project / "compat.toml", capsys)
    text = (project / workflows.MATRIX_WORKFLOW).read_text()
    assert parse(text) == parse(text, (1, 1))  # no `on:` → True, no "3.10" → 3.1
    data = parse(text)
    on = data["on"]
    assert on["schedule"] == [{"cron": "0 6 * * 1"}] and on["workflow_dispatch"] == {}
    assert on["pull_request"]["paths"] == [
        "compat.toml",
        "pyproject.toml",
        "noxfile.py",
        "tests/integration/test_smoke.py",
        "tests/more/**",
        "tests/test_openai.py",
        "mylib/integrations/crewai.py",
        workflows.MATRIX_WORKFLOW,
    ]
    jobs = data["jobs"]
    plan, cell, report = jobs["plan"], jobs["cell"], jobs["report"]
    assert all(isinstance(job["timeout-minutes"], int) for job in (plan, report, jobs["update"]))
    # ci-jobs groups of only the cells whose committed verdicts would not stand
    assert "compat plan --format github --groups 4 --needed" in plan["steps"][-1]["run"]
    pythons = plan["steps"][1]["with"]["python-version"].splitlines()
    assert set(workflows._pythons(load(project / "compat.toml"))) <= set(pythons)  # every cell's
    assert plan["outputs"]["matrix"] == "${{ steps.plan.outputs.matrix }}"

    # one job per group of cells (see test_cell_groups_*), skipped when there is none
    assert cell["needs"] == "plan" and cell["timeout-minutes"] == "${{ matrix.minutes }}"
    assert cell["if"] == "${{ fromJSON(needs.plan.outputs.matrix).include[0] != null }}"
    assert cell["strategy"] == {
        "fail-fast": False,
        "matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}",
    }
    run = next(step for step in cell["steps"] if step.get("name") == "Run the cells")
    assert run["env"] == {"SESSIONS": "${{ matrix.sessions }}"}  # never expanded into the script
    assert run["run"].splitlines()[-1] == "compat run $SESSIONS --audit all"  # all it was given
    runs = [step.get("run") for step in cell["steps"]]
    assert "python -m pip install nox-compat -e ." in runs  # not nox-compat itself
    setup = next(s for s in cell["steps"] if s.get("uses") == "actions/setup-python@v5")
    assert setup["with"]["python-version"] == "${{ matrix.python }}"
    upload = cell["steps"][-1]
    assert upload["uses"] == "actions/upload-artifact@v4" and upload["if"] == "always()"
    assert upload["with"]["name"] == "compat-results-${{ matrix.group }}"  # report: compat-*
    assert upload["with"]["path"] == "out/results/"

    assert report["needs"] == ["plan", "cell"]
    assert report["permissions"] == {"contents": "read", "issues": "write"}
    download = next(s for s in report["steps"] if s.get("uses") == "actions/download-artifact@v4")
    assert download["with"]["merge-multiple"] is True
    assert download["with"]["path"] == "out/results"
    issues = report["steps"][-1]
    assert issues["run"] == "compat issues"
    assert issues["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    assert "compat report" in [s.get("run") for s in report["steps"]]
    # the tool's own jobs use the newest Python of the matrix (the plan job: last, the default)
    assert plan["steps"][1]["with"]["python-version"].splitlines()[-1] == "3.12"
    assert report["steps"][1]["with"]["python-version"] == "3.12"


def write_generated(config: Path) -> None:
    """The files as `compat workflows` writes them (straight from the generator)."""
    for path, text in workflows.generated(load(config)).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def with_notices(root: Path, path: str = "mylib/_compat notices.py") -> Path:
    config = root / "compat.toml"
    config.write_text(
        config.read_text().replace(
            "timeout = 1000\n",
            f'timeout = 1000\nnotices = "{path}"\nnotices-category = "RuntimeWarning"\n',
        )
    )
    return config


def test_update_job_opens_the_pull_request_with_least_permissions(project):
    write_generated(with_notices(project))
    data = parse((project / workflows.MATRIX_WORKFLOW).read_text())
    assert data["permissions"] == {"contents": "read"}  # the default for every job
    jobs = data["jobs"]
    assert list(jobs) == ["plan", "cell", "report", "update"]
    assert [
        name for name, job in jobs.items() if "write" in job.get("permissions", {}).values()
    ] == [
        "report",
        "update",
    ]
    assert jobs["report"]["permissions"] == {"contents": "read", "issues": "write"}
    # the releases the daily monitor verified reach the pull request: its cache, same paths
    daily = parse((project / workflows.UPSTREAM_WORKFLOW).read_text())["jobs"]
    saved = next(s for j in daily.values() for s in j["steps"] if s.get("uses") == workflows.CACHE)
    restored = next(s for s in jobs["update"]["steps"] if s.get("uses") == workflows.CACHE_RESTORE)
    assert restored["with"]["path"] == saved["with"]["path"]
    assert restored["with"]["restore-keys"] == "compat-upstream-"
    update = jobs["update"]
    assert update["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert update["needs"] == ["plan", "cell"]
    assert "github.event_name != 'pull_request'" in update["if"]  # never on pull requests
    assert "!cancelled()" in update["if"] and "needs.plan.result == 'success'" in update["if"]
    assert update["concurrency"] == {"group": "compat-update-matrix", "cancel-in-progress": False}
    runs = [step.get("run") for step in update["steps"] if "run" in step]
    assert runs[1:] == [
        "compat report || test $? -eq 1",  # incompatible (1) is news for the PR, not an error
        "compat metadata --write",
        "compat notices --write 'mylib/_compat notices.py'",
        "compat pull-request",
    ]
    assert update["steps"][-1]["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    download = next(s for s in update["steps"] if s.get("uses") == workflows.DOWNLOAD)
    assert download["with"] == {
        "pattern": "compat-*",
        "path": "out/results",
        "merge-multiple": True,
    }
    # no third-party action opens the pull request
    uses = {s["uses"] for job in jobs.values() for s in job["steps"] if "uses" in s}
    assert uses == {
        workflows.CHECKOUT,
        workflows.SETUP_PYTHON,
        workflows.UPLOAD,
        workflows.DOWNLOAD,
        workflows.CACHE,  # uv's cache for the cells: with the committed verdicts, cheap reruns
        workflows.CACHE_RESTORE,  # the plan job resolves with it
    }


def test_without_notices_there_is_no_notices_step(project):
    write_generated(project / "compat.toml")
    update = parse((project / workflows.MATRIX_WORKFLOW).read_text())["jobs"]["update"]
    runs = [step.get("run", "") for step in update["steps"]]
    assert not any("compat notices" in run for run in runs)
    assert runs[-1] == "compat pull-request"


def test_update_job_is_valid_in_a_monorepo_and_with_notices(project, monorepo, tmp_path):
    # (both fixtures share tmp_path and so .github: validate copies side by side)
    files = []
    for number, config in enumerate(
        [with_notices(project), with_notices(monorepo / "libs/mylib", "pkg/_notices.py")]
    ):
        path = tmp_path / f"check{number}" / workflows.MATRIX_WORKFLOW
        path.parent.mkdir(parents=True)
        path.write_text(workflows.matrix_workflow(load(config)))
        files.append(path)
    update = parse(files[1].read_text())["jobs"]["update"]
    assert update["defaults"] == {"run": {"working-directory": "libs/mylib"}}
    assert "compat notices --write pkg/_notices.py" in [s.get("run") for s in update["steps"]]
    result = check_jsonschema("vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_upstream_workflow_and_issue_template(project, capsys):
    generate(project / "compat.toml", capsys)
    data = parse((project / workflows.UPSTREAM_WORKFLOW).read_text())
    assert data["on"] == {"schedule": [{"cron": "0 8 * * *"}], "workflow_dispatch": {}}
    assert data["permissions"] == {"contents": "read", "issues": "write"}
    (job,) = data["jobs"].values()
    assert job["steps"][-1]["run"] == "compat upstream --days 1 --verify --create-issues"
    assert job["steps"][-1]["env"] == {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"}
    # the cells of a release run on every Python of the matrix (the tool's one last: default)
    assert job["steps"][1]["with"]["python-version"] == "3.9\n3.11\n3.12\n"
    assert job["timeout-minutes"] == 15 + 3 * 17  # the cells' own timeout (1000 s) and more
    cache = job["steps"][3]["with"]
    assert cache["path"] == "~/.cache/uv\nout/results\n"
    assert cache["restore-keys"] == "compat-upstream-"

    template = (project / workflows.ISSUE_TEMPLATE).read_text()
    _, front, body = template.split("---\n", 2)
    assert set(parse(front)) == {"name", "about", "title", "labels", "assignees"}
    assert "| `crewai` | `crewai` | 1.0 |" in body and "| `openai` | `openai` | 1.0 |" in body
    assert "nox -s compat-<integration>-<label>" in body


def test_monorepo_paths_are_relative_to_the_repository(monorepo, capsys):
    generate(monorepo / "libs/mylib/compat.toml", capsys)
    dependabot = parse((monorepo / workflows.DEPENDABOT).read_text())
    assert dependabot["updates"][0]["directory"] == "/libs/mylib"
    data = parse((monorepo / workflows.MATRIX_WORKFLOW).read_text())
    assert "libs/mylib/compat.toml" in data["on"]["pull_request"]["paths"]
    cell = data["jobs"]["cell"]
    assert cell["defaults"] == {"run": {"working-directory": "libs/mylib"}}
    assert cell["steps"][-1]["with"]["path"] == "libs/mylib/out/results/"
    assert "python -m pip install nox-compat" in [s.get("run") for s in cell["steps"]]


def test_nox_compat_itself_installs_from_the_checkout():
    matrix = load(REPO / "compat.toml")
    assert workflows.install_command(matrix) == 'python -m pip install -e ".[dev]"'


def test_yaml_emitter_round_trips_under_yaml_1_1_and_1_2():
    tricky = [
        "on", "No", "yes", "null", "~", "true", "09:00", "0 9 * * 1", "3.10", "1e3", ".5",
        "*", "&a", "!x", "- x", "a: b", "a #b", "#c", "", " lead", "trail ", "@x", "`x`",
        "[x]", "{x}", "%x", "|", ">", "'q'", '"q"', ".compat/results", "x\ty",
        "${{ matrix.python }}", "${{ !cancelled() }}", "a\nb\n", "a\nb", "a\n\nb\n",
        "ünï", "=", "a\n\n", "\ta\nb", " a\nb", "a\tb\nc", "a \nb", "x\x85y\nz", "\u2028", "abc\n", "a\nb\n\n", "a\r\nb",
    ]  # fmt: skip
    data = {
        "on": {"k": tricky, "nested": [{"a": 1, "b": [True, False, None]}, [], {}]},
        "empty": {},
        "list": [["x", "y"], {"z": "w"}],
        "multi": "line one\n  indented\nline three\n",
    }
    text = workflows.to_yaml(data)
    assert parse(text) == data
    assert parse(text, (1, 1)) == data


def test_bad_config_is_exit_2(tmp_path, capsys):
    (tmp_path / "compat.toml").write_text("[integrations.x]\npackage = 3\n")
    assert main(["dependabot", "--config", str(tmp_path / "compat.toml")]) == 2
    assert "compat: error:" in capsys.readouterr().err
    assert not (tmp_path / ".github").exists()


def cells(*spec: tuple[str, str, str]) -> list[Cell]:
    """Cells from (integration, label, python)."""
    return [
        Cell(integration=i, label=label, package=i, version="1.0", python=py, requirements=(),
             why="")
        for i, label, py in spec
    ]  # fmt: skip


def test_cell_groups_split_the_plan_in_order_into_at_most_n_jobs(project):
    matrix = load(project / "compat.toml")  # timeout 1000 s: 17 minutes a cell
    plan = cells(
        *[("crewai", label, py) for label in ("min", "1.1", "latest") for py in ("3.11", "3.12")],
        ("openai", "min", "3.9"),
        ("openai", "latest", "3.9"),
    )
    groups = workflows.cell_groups(matrix, plan, 3)["include"]
    assert [g["sessions"].split() for g in groups] == [
        ["compat-crewai-min-3.11", "compat-crewai-min-3.12", "compat-crewai-1.1-3.11"],
        ["compat-crewai-1.1-3.12", "compat-crewai-latest-3.11", "compat-crewai-latest-3.12"],
        ["compat-openai-min-3.9", "compat-openai-latest-3.9"],
    ]
    assert [g["group"] for g in groups] == [1, 2, 3]
    assert [g["name"] for g in groups] == [
        "cells 1/3: crewai",
        "cells 2/3: crewai",
        "cells 3/3: openai",
    ]
    # the cells' Pythons, and the tool's own (the newest of the matrix) last: the default
    assert [g["python"] for g in groups] == ["3.11\n3.12", "3.11\n3.12", "3.9\n3.12"]
    assert [g["minutes"] for g in groups] == [3 * 17 + 10, 3 * 17 + 10, 2 * 17 + 10]

    # few cells: at least two a job (one runner start-up); nothing to run: no job at all
    assert [
        len(g["sessions"].split()) for g in workflows.cell_groups(matrix, plan[:2], 4)["include"]
    ] == [2]
    assert [
        len(g["sessions"].split()) for g in workflows.cell_groups(matrix, plan[:5], 4)["include"]
    ] == [2, 2, 1]
    assert workflows.cell_groups(matrix, [], 4) == {"include": []}
    # never past GitHub's six hours
    many = cells(*[("crewai", f"1.{n}", "3.12") for n in range(30)])
    assert workflows.cell_groups(matrix, many, 1)["include"][0]["minutes"] == 360


def test_ci_jobs_setting_decides_the_groups_and_is_validated(project, capsys):
    config = project / "compat.toml"
    assert load(config).settings.ci_jobs == 4
    generate(config, capsys)
    config.write_text(
        config.read_text().replace("timeout = 1000\n", "timeout = 1000\nci-jobs = 2\n")
    )
    rc, out, _ = generate(config, capsys, "--check")
    assert (
        rc == 1 and '+          matrix="$(compat plan --format github --groups 2 --needed)"' in out
    )
    for value, error in [
        ("0", "compat.toml:6: settings.ci-jobs: expected a positive integer, got 0"),
        ("257", "compat.toml:6: settings.ci-jobs: expected at most 256 (GitHub's limit), got 257"),
        ('"4"', "compat.toml:6: settings.ci-jobs: expected an integer, got '4'"),
    ]:
        config.write_text(re.sub(r"ci-jobs = .*", f"ci-jobs = {value}", config.read_text()))
        assert main(["workflows", "--config", str(config)]) == 2
        assert error in capsys.readouterr().err


def test_plan_prints_the_groups_of_the_plans_cells(index_server, tmp_path, capsys):
    from pkgindex import Release

    index_server.add(*(Release("acme-sdk", v) for v in ("1.0.0", "1.1.0", "2.0.0")))
    (tmp_path / "tests/integration").mkdir(parents=True)
    (tmp_path / "tests/integration/test_smoke.py").touch()
    config = tmp_path / "compat.toml"
    config.write_text(
        f'[settings]\npython = ["3.11", "3.12"]\nindex-url = "{index_server.simple_url}"\n'
        '[integrations.acme]\npackage = "acme-sdk"\nmin = "1.0.0"\n'
    )
    assert main(["plan", "--format", "github", "--config", str(config)]) == 0
    sessions = [e["session"] for e in json.loads(capsys.readouterr().out)["include"]]
    assert len(sessions) == 6  # min, 1.1 and latest on two Pythons
    assert main(["plan", "--format", "github", "--groups", "2", "--config", str(config)]) == 0
    groups = json.loads(capsys.readouterr().out)["include"]
    assert [g["sessions"] for g in groups] == [" ".join(sessions[:3]), " ".join(sessions[3:])]
    assert main(["plan", "--groups", "4", "--config", str(config)]) == 2
    assert "--groups goes with --format github" in capsys.readouterr().err
