"""Benchmark: nox-compat beside the peers a user would otherwise write by hand.

The same cells, from the same plan (``compat plan --format json``), run four ways on a local
index built here (no network):

- nox-compat: ``compat run --all -j N`` (``--rerun`` for the warm every-cell rerun);
- nox + uv by hand: a generated noxfile, one session per integration with
  ``venv_backend="uv"`` and the upstream versions as parameters (nox runs sessions one
  after another; ``-r`` reuses the environments once they exist);
- tox + tox-uv: a generated tox.ini, one environment per cell, ``tox -p N``;
- pytest alone (the limit): the same tests in the environments nox-compat built, one
  pytest process per cell, N at a time.

Scenarios: cold first run (empty uv cache for everybody, no environments), warm every-cell
rerun (environments exist), unchanged (nox-compat may reuse verdicts; the peers cannot
tell, so they run everything again). Each on an index that sends no caching headers (as
many private indexes and proxies do) and on one that does (``max-age=600``, as PyPI's
pages). Prints the median of ``--repeat`` runs, ratios against tox + tox-uv and pytest
alone, the goals of the issue, the requests each tool sent to the index (and the distinct
pages there are), and the processes nox-compat started per cell (counted by an audit hook
in the process that runs it: no instrumentation in the engine).

``--real`` instead times this repository's own matrix (the public index: network): a first
run (it reuses what the committed verdicts allow and builds the rest), then the unchanged
re-sweep (median of ``--repeat``), with nox-compat's processes per cell.

``--versions`` counts the versions tested over all packages: the default 7 over 2 packages
is 4 + 3, so 14 cells on two Pythons, the scenario of the issue that asked for this.

Needs tox and tox-uv (not for ``--real``): ``python -m pip install -e ".[bench]"``.

    python benchmarks/peers.py [--repeat 3] [--jobs 2] [--packages 2] [--versions 7]
                               [--python 3.11 3.12] [--index both|none|max-age] [--real]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pkgindex import IndexServer, Release  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")
NAMES = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")
TEST_REQUIRES = ["pytest"]
TESTS = "tests/test_smoke.py"
SCENARIOS = ("cold", "warm", "unchanged")
TITLES = {
    "cold": "cold first run",
    "warm": "warm, every cell re-run",
    "unchanged": "unchanged",
}
PEERS = ("nox-compat", "nox + uv by hand", "tox + tox-uv")
INSTALL_HINT = 'python -m pip install -e ".[bench]"  (tox and tox-uv)'
TIMEOUT = 900  # seconds for one timed command: a hang ends the benchmark, not the machine

# Runs the `compat` command and records every process it starts (audit event
# "subprocess.Popen"), written as JSON to argv[1] when it exits.
COUNTING = """
import atexit, json, sys
started = []
def hook(event, args):
    if event == "subprocess.Popen":
        argv = args[1]
        started.append([str(a) for a in argv] if isinstance(argv, (list, tuple)) else [str(argv)])
sys.addaudithook(hook)
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(started)))
from compat.cli import main
sys.exit(main(sys.argv[2:]))
"""


# --- the matrix -----------------------------------------------------------------------------


def split(total: int, parts: int) -> list[int]:
    """``total`` versions over ``parts`` packages, as evenly as possible (7 over 2: 4 and 3)."""
    return [total // parts + (i < total % parts) for i in range(parts)]


def universe(packages: int, versions: int) -> tuple[list[Release], dict[str, list[str]]]:
    """The releases to publish, and the versions the policy will select for each package.

    Every SDK depends on two shared libraries (several releases each), so resolutions
    have something to do and the index has pages that no cell pins.
    """
    if not 1 <= packages <= len(NAMES):
        raise SystemExit(f"--packages: 1 to {len(NAMES)}")
    if versions < 2 * packages:  # one version would be both `min` and `latest`: two cells
        raise SystemExit("--versions: at least two per package")
    published: list[Release] = []
    for core in ("1.0.0", "1.1.0", "1.2.0"):
        published.append(Release("bench-core", core, modules={"bench_core/__init__.py": "X = 1\n"}))
    for http in ("2.0.0", "2.1.0"):
        published.append(Release("bench-http", http, modules={"bench_http/__init__.py": "Y = 2\n"}))
    selected = {}
    for name, count in zip(NAMES, split(versions, packages), strict=False):
        body = f"import bench_core, bench_http\n\n\ndef greet(n):\n    return '{name}' * n\n"
        chosen = [f"1.{minor}.0" for minor in range(count)]
        selected[name] = chosen
        for version in chosen:
            published.append(
                Release(f"{name}-sdk", version, modules={f"{name}_sdk/__init__.py": body},
                        requires=["bench-core>=1.0", "bench-http>=2.0"])
            )  # fmt: skip
    return published, selected


def make_project(root: Path, index_url: str, selected: dict[str, list[str]], pythons: list[str]):
    """A project whose compat.toml selects exactly ``selected`` on every Python."""
    (root / "tests").mkdir(parents=True)
    test = "\n\ndef test_{name}_{i}():\n    import {name}_sdk\n\n    assert {name}_sdk.greet({i}) == {name!r} * {i}\n"
    tests = "".join(test.format(name=name, i=i) for name in selected for i in range(3))
    (root / TESTS).write_text(tests.lstrip())
    (root / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "1"\n')
    integrations = "".join(
        f'\n[integrations.{name}]\npackage = "{name}-sdk"\nmin = "{versions[0]}"\n'
        for name, versions in selected.items()
    )
    (root / "compat.toml").write_text(
        textwrap.dedent(
            f"""\
            [settings]
            python = {json.dumps(pythons)}
            index-url = "{index_url}"
            install-project = false
            tests = ["{TESTS}"]
            test-requires = {json.dumps(TEST_REQUIRES)}

            [settings.policy]
            majors = 9
            minors = 9
            """
        )
        + integrations
    )


# --- the peers, generated from the plan -----------------------------------------------------


def _by_integration(cells: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for cell in cells:
        if cell["applicable"]:
            groups.setdefault(cell["integration"], []).append(cell)
    return groups


def _pytest_args(cell: dict) -> list[str]:
    """The cell's tests as nox-compat runs them (without its plugin)."""
    select = ["-k", cell["select"]] if cell["select"] else []
    return ["-p", "no:cacheprovider", *cell["tests"], *select]


def noxfile(cells: list[dict], index_url: str, test_requires: list[str]) -> str:
    """What a user writes by hand: per integration one session, Pythons and versions as
    parameters, environments by uv. (The pin is all a cell requires in this benchmark's
    matrix; ``with`` and ``deps`` would be more parameters.)"""
    out = [
        '"""nox + uv by hand: generated by benchmarks/peers.py from `compat plan`."""',
        "",
        "import nox",
        "",
        f"INDEX = {index_url!r}",
        f"TEST_REQUIRES = {test_requires!r}",
    ]
    for integration, group in _by_integration(cells).items():
        pythons = list(dict.fromkeys(c["python"] for c in group))
        versions = list(dict.fromkeys(c["version"] for c in group))
        package = group[0]["package"]
        out += [
            "",
            "",
            f'@nox.session(python={pythons!r}, venv_backend="uv")',
            f'@nox.parametrize("version", {versions!r})',
            f"def {integration.replace('-', '_')}(session: nox.Session, version: str) -> None:",
            f'    session.install("--index-url", INDEX, f"{package}=={{version}}", *TEST_REQUIRES)',
            f'    session.run("pytest", {", ".join(repr(a) for a in _pytest_args(group[0]))})',
        ]
    return "\n".join(out) + "\n"


def tox_env(cell: dict) -> str:
    """``alpha-1.2.0-py311``: the integration, the version, the Python factor."""
    return f"{cell['integration']}-{cell['version']}-py{cell['python'].replace('.', '')}"


def tox_ini(cells: list[dict], index_url: str, test_requires: list[str]) -> str:
    """tox 4 with tox-uv: one environment per cell, the index given to uv by ``set_env``."""
    chosen = [c for group in _by_integration(cells).values() for c in group]
    lines = [
        "# tox + tox-uv: generated by benchmarks/peers.py from `compat plan`.",
        "[tox]",
        "requires =",
        "    tox>=4",
        "    tox-uv>=1",
        "env_list =",
        *(f"    {tox_env(c)}" for c in chosen),
        "",
        "[testenv]",
        "runner = uv-venv-runner",
        "skip_install = true",
        f"set_env = UV_DEFAULT_INDEX = {index_url}",
    ]
    for cell in chosen:
        lines += [
            "",
            f"[testenv:{tox_env(cell)}]",
            f"base_python = python{cell['python']}",
            "deps =",
            *(f"    {r}" for r in [*cell["requirements"], *test_requires]),
            f"commands = pytest {' '.join(_pytest_args(cell))}",
        ]
    return "\n".join(lines) + "\n"


def peers_installed() -> bool:
    return all(importlib.util.find_spec(m) for m in ("tox", "tox_uv"))


# --- running and counting -------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    pages: int = 0  # requests for index pages (/simple/...)
    files: int = 0  # requests for distribution files and their metadata
    distinct: set[str] = field(default_factory=set)  # the pages asked for
    processes: Counter = field(default_factory=Counter)  # nox-compat's, by kind
    unchanged: int | None = None  # cells nox-compat reused


def timed(
    command: list[str], cwd: Path, env: dict[str, str], index: IndexServer
) -> tuple[Run, str]:
    """Run ``command`` and count what it asked the index for; stops the benchmark on failure."""
    before = len(index.requests)
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    asked = [path.split("?", 1)[0] for _, path, _ in index.requests[before:]]
    pages = [p for p in asked if p.startswith("/simple")]
    return Run(seconds, len(pages), len(asked) - len(pages), set(pages)), done.stdout


def kind(argv: list[str]) -> str:
    """What a process started by nox-compat was for: ``uv pip compile``, ``pytest``, …"""
    program = Path(argv[0]).name
    if program == "uv" and len(argv) > 2 and argv[1] in ("pip", "python"):
        return f"uv {argv[1]} {argv[2]}"
    if program == "uv":
        return f"uv {argv[1]}" if len(argv) > 1 else "uv"
    if "pytest" in argv[1:3]:
        return "pytest"
    return f"{program} {argv[1]}" if len(argv) > 1 and argv[1].startswith("-") else program


def nox_compat(project: Path, env: dict, index: IndexServer, jobs: int, *extra: str) -> Run:
    counts = project / ".processes.json"
    command = [sys.executable, "-c", COUNTING, str(counts), "run", "--all", "-j", str(jobs), *extra]
    run, out = timed(command, project, env, index)
    run.processes = Counter(kind(argv) for argv in json.loads(counts.read_text()))
    found = re.search(r"(\d+) cell\(s\): (\d+) unchanged", out)
    run.unchanged = int(found.group(2)) if found else None
    return run


def pytest_alone(project: Path, cells: list[dict], env: dict, jobs: int) -> Run:
    """The same tests in the environments nox-compat built: one pytest process per cell."""
    from compat.environment import venv_dir, venv_python
    from compat.matrix import load
    from compat.plan import Cell

    matrix = load(project / "compat.toml")
    fields = Cell.__dataclass_fields__
    commands = []
    for data in cells:
        cell = Cell(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in fields}
        )
        if cell.applicable:
            python = venv_python(venv_dir(matrix, cell))
            commands.append([str(python), "-m", "pytest", *_pytest_args(data)])

    def one(command: list[str]) -> int:
        return subprocess.run(
            command, cwd=project, env=env, capture_output=True, timeout=TIMEOUT
        ).returncode

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        codes = list(pool.map(one, commands))
    if any(codes):
        raise SystemExit(f"pytest alone failed in {sum(map(bool, codes))} cell(s)")
    return Run(time.perf_counter() - start)


def sweep_once(mode: str, tmp: Path, index: IndexServer, args, base_env: dict) -> dict:
    """One repeat: every tool cold, warm and unchanged, each from an empty uv cache."""
    load = os.getloadavg()[0]  # other work on the machine makes every number noisier
    project = tmp / "project"
    shutil.rmtree(project, ignore_errors=True)
    make_project(project, index.simple_url, args.selected, args.python)
    plan_env = {**base_env, "COMPAT_CACHE_DIR": str(tmp / "plan-cache")}
    cells = json.loads(subprocess.run(
        [sys.executable, "-m", "compat", "plan", "--format", "json"], cwd=project, env=plan_env,
        capture_output=True, text=True, check=True).stdout)  # fmt: skip
    shutil.rmtree(project / ".compat", ignore_errors=True)  # the plan is nox-compat's own work
    (project / "noxfile.py").write_text(noxfile(cells, index.simple_url, TEST_REQUIRES))
    (project / "tox.ini").write_text(tox_ini(cells, index.simple_url, TEST_REQUIRES))

    def env_of(tool: str) -> dict:
        caches = tmp / "caches" / tool.split()[0]
        shutil.rmtree(caches, ignore_errors=True)  # cold: nothing downloaded, nothing cached
        return {
            **base_env,
            "UV_CACHE_DIR": str(caches / "uv"),
            "COMPAT_CACHE_DIR": str(caches / "compat"),
        }

    nox = [sys.executable, "-m", "nox", "-f", "noxfile.py"]
    tox = [sys.executable, "-m", "tox", "-p", str(args.jobs), "--parallel-no-spinner"]
    envs = {tool: env_of(tool) for tool in PEERS}
    runs: dict[tuple[str, str], Run] = {}
    alone = []
    for scenario in SCENARIOS:  # the tools side by side, so that a busy moment hits them all
        rerun = ["--rerun"] if scenario == "warm" else []
        runs["nox-compat", scenario] = nox_compat(
            project, envs["nox-compat"], index, args.jobs, *rerun
        )
        reuse = [] if scenario == "cold" else ["-r"]
        runs["nox + uv by hand", scenario] = timed(
            [*nox, *reuse], project, envs["nox + uv by hand"], index
        )[0]
        runs["tox + tox-uv", scenario] = timed(tox, project, envs["tox + tox-uv"], index)[0]
        alone.append(pytest_alone(project, cells, envs["nox-compat"], args.jobs).seconds)
    runs["pytest alone", "all"] = Run(statistics.median(alone))
    return {"cells": len([c for c in cells if c["applicable"]]), "runs": runs, "load": load}


# --- the report -----------------------------------------------------------------------------


def median_run(runs: list[Run]) -> Run:
    middle = statistics.median
    merged = Run(middle(r.seconds for r in runs), round(middle(r.pages for r in runs)),
                 round(middle(r.files for r in runs)), set().union(*(r.distinct for r in runs)))  # fmt: skip
    kinds = set().union(*(r.processes for r in runs))
    merged.processes = Counter({k: middle(r.processes[k] for r in runs) for k in kinds})
    unchanged = [r.unchanged for r in runs if r.unchanged is not None]
    merged.unchanged = round(middle(unchanged)) if unchanged else None
    return merged


def goal(text: str, value: float, limit: float) -> str:
    return f"  {text}: {value:.2f} (goal <= {limit:g}) {'met' if value <= limit else 'NOT met'}"


def report(mode: str, repeats: list[dict], args) -> None:
    cells = repeats[0]["cells"]
    keys = repeats[0]["runs"].keys()
    med = {key: median_run([r["runs"][key] for r in repeats]) for key in keys}
    limit = med["pytest alone", "all"].seconds
    header = (
        "index that sends no caching headers"
        if mode == "none"
        else "index that sends Cache-Control: max-age=600 (as PyPI)"
    )
    print(f"\n## {header}: {cells} cells, jobs {args.jobs}, median of {len(repeats)}")
    print(f"(load average before and after: {repeats[0]['load']:.1f}, {os.getloadavg()[0]:.1f})\n")
    print(
        "| scenario | nox-compat | nox + uv by hand | tox + tox-uv | pytest alone (limit) | nox-compat / tox | nox-compat / pytest |"
    )
    print("|---|---|---|---|---|---|---|")
    for scenario in SCENARIOS:
        ours, tox = med["nox-compat", scenario], med["tox + tox-uv", scenario]
        title = TITLES[scenario]
        if scenario == "unchanged" and ours.unchanged is not None:
            title += f" (nox-compat reuses {ours.unchanged} of {cells})"
        times = " | ".join(f"{med[p, scenario].seconds:.2f} s" for p in PEERS)
        print(
            f"| {title} | {times} | {limit:.2f} s | {ours.seconds / tox.seconds:.2f}x | {ours.seconds / limit:.2f}x |"
        )
    distinct = med["nox-compat", "cold"].distinct | med["tox + tox-uv", "cold"].distinct
    print(f"\nindex requests, pages + files ({len(distinct)} distinct pages asked for in all):")
    for scenario in SCENARIOS:
        counts = ", ".join(
            f"{p} {med[p, scenario].pages} + {med[p, scenario].files}" for p in PEERS
        )
        print(f"  {TITLES[scenario]:<24} {counts}")
    print("\nprocesses nox-compat started, per cell (direct children, by kind):")
    for scenario in SCENARIOS:
        processes = med["nox-compat", scenario].processes
        total = sum(processes.values())
        kinds = ", ".join(f"{k} {v / cells:.2f}" for k, v in sorted(processes.items()) if v)
        print(f"  {TITLES[scenario]:<24} {total / cells:.2f}  ({kinds})")
    ours = {s: med["nox-compat", s].seconds for s in SCENARIOS}
    tox = {s: med["tox + tox-uv", s].seconds for s in SCENARIOS}
    pages = med["nox-compat", "unchanged"].pages
    print("\ngoals (nox-compat, same run):")
    print(goal("warm every-cell rerun / tox + tox-uv", ours["warm"] / tox["warm"], 0.8))
    print(goal("warm every-cell rerun / pytest alone", ours["warm"] / limit, 1.5))
    print(goal("unchanged / tox + tox-uv", ours["unchanged"] / tox["unchanged"], 0.3))
    print(goal("cold / tox + tox-uv", ours["cold"] / tox["cold"], 1.0))
    print(goal(f"index page requests per unchanged sweep / distinct pages ({pages} / {len(distinct)})",
               pages / max(1, len(distinct)), 1.0))  # fmt: skip


def real(args, env: dict) -> None:
    """This repository's own matrix on the public index: a first run (reuses what the
    committed verdicts allow, builds the rest), then the unchanged re-sweep (median)."""
    command = [sys.executable, "-c", COUNTING, "", "run", "--all", "-j", str(args.jobs)]
    print(f"\n## this repository's matrix ({REPO}, the public index), jobs {args.jobs}\n")
    with tempfile.TemporaryDirectory() as tmp:
        counts = Path(tmp) / "processes.json"
        command[3] = str(counts)
        times, lines, processes = [], [], []
        for _ in range(1 + args.repeat):
            start = time.perf_counter()
            done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if done.returncode == 2:
                raise SystemExit(f"compat run could not do its job:\n{done.stderr[-3000:]}")
            found = re.search(r"(\d+) cell\(s\): .*", done.stdout)
            lines.append(found.group(0) if found else "?")
            processes.append(Counter(kind(a) for a in json.loads(counts.read_text())))
    cells = int(re.match(r"\d+", lines[-1]).group(0)) if lines[-1][0].isdigit() else 1
    kinds = ", ".join(f"{k} {v / cells:.2f}" for k, v in sorted(processes[-1].items()) if v)
    print(f"  first run:          {times[0]:6.2f} s  ({lines[0]})")
    print(f"  unchanged re-sweep: {statistics.median(times[1:]):6.2f} s  ({lines[-1]}; median of "
          f"{args.repeat}; goal under 10 s)")  # fmt: skip
    print(f"  processes per cell, unchanged: {sum(processes[-1].values()) / cells:.2f} ({kinds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, help="cells at a time (tox -p)"
    )
    parser.add_argument("--packages", type=int, default=2)
    parser.add_argument(
        "--versions", type=int, default=7, help="versions tested, over all packages"
    )
    parser.add_argument("--python", nargs="+", default=["3.11", "3.12"])
    parser.add_argument("--index", choices=["both", "none", "max-age"], default="both",
                        help="an index without caching headers, with them (as PyPI), or both")  # fmt: skip
    parser.add_argument("--real", action="store_true",
                        help="instead: this repository's own matrix (network, slow the first time)")  # fmt: skip
    args = parser.parse_args()
    if args.real:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        real(args, {**env, "UV_PYTHON_DOWNLOADS": "never", "CI": "1"})
        return
    if not peers_installed():
        raise SystemExit(f"tox and tox-uv are not installed: {INSTALL_HINT}")
    published, args.selected = universe(args.packages, args.versions)
    sizes = ", ".join(f"{n}-sdk {len(v)}" for n, v in args.selected.items())
    print(
        f"machine: {os.cpu_count()} cores; versions tested: {sizes}; Python {', '.join(args.python)}"
    )
    modes = ["none", "max-age"] if args.index == "both" else [args.index]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        base = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "PIP_CONFIG_FILE": os.devnull,
                "XDG_CONFIG_HOME": str(tmp / "config"), "CI": "1"}  # fmt: skip
        # PYTHONDONTWRITEBYTECODE: as most users run (tox drops it, nox and nox-compat pass it
        # on: with it, every pytest run compiles pytest again, twice the time of a warm one).
        drop = (
            "UV_DEFAULT_INDEX",
            "UV_INDEX_URL",
            "PIP_INDEX_URL",
            "VIRTUAL_ENV",
            "PYTHONDONTWRITEBYTECODE",
        )
        for var in drop:
            base.pop(var, None)
        for mode in modes:
            with IndexServer(tmp / f"index-{mode}") as index:
                index.cache_headers = mode == "max-age"
                index.add(*published)
                index.add_installed(*TOOLS)
                repeats = [
                    sweep_once(mode, tmp / mode, index, args, base) for _ in range(args.repeat)
                ]
            report(mode, repeats, args)
    print(f"\n(tox and tox-uv come from: {INSTALL_HINT})")


if __name__ == "__main__":
    main()
