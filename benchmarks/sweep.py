"""Benchmark: the sweep, first and again, against the hand-kept way; start-up at scale.

Everything is measured in the same run, against a baseline of that run, on a local index
built here (no network). Prints, with the number of cores:

(a) a first sweep (uv cache warm, no stored results) vs plain nox sessions with
    virtualenv+pip run one after another (the hand-kept way), same cells;
(b) a second sweep with nothing changed vs a full sweep with warm environments (``--rerun``)
    (goal: >= 10x faster), without and with the default audit (one reusable cell re-run);
(c) a second sweep (``--refresh``) after the upstream published one new release: how many
    cells ran;
(d) the per-cell overhead over pytest's own time, on a warm cache (goal: median <= 0.3 s);
(e) the disk used by the environments of the sweep vs the plain way's;
(f) start-up at scale (40 packages, 300 releases x 3 files each): `nox -l` and
    `compat plan` vs bare `nox -l` on a warm cache (goal: <= 0.5 s over bare nox);
(g) the cost of recording what the tests read (the audit hook in the cell's processes) over
    pytest's own time, alternating runs with and without it (goal: <= 5%); on the bench
    project, and on this repository's smoke tests when its cells exist (after `nox -s matrix`).

    python benchmarks/sweep.py [--cells 12] [--jobs 2] [--packages 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import pkgindex  # noqa: E402
from pkgindex import IndexServer, Release  # noqa: E402

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")
SMOKE = "import bench_sdk\n\n\ndef test_bench_greet():\n    assert bench_sdk.greet() == 'hi'\n"
BODY = "def greet():\n    return 'hi'\n"


def releases(count: int, start: int = 0) -> list[Release]:
    """Releases over two majors, so that the policy selects one cell per release."""
    versions = [f"{1 + i // 8}.{i % 8}.0" for i in range(start, start + count)]
    return [Release("bench-sdk", v, modules={"bench_sdk/__init__.py": BODY}) for v in versions]


def make_project(root: Path, index: IndexServer, versions: list[str]) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "tests/test_smoke.py").write_text(SMOKE)
    (root / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "1"\n')
    (root / "compat.toml").write_text(
        textwrap.dedent(
            f"""
            [settings]
            python = ["{PY}"]
            index-url = "{index.simple_url}"
            install-project = false
            tests = ["tests/test_smoke.py"]
            test-requires = ["pytest"]

            [settings.policy]
            majors = 9
            minors = 9

            [integrations.bench]
            package = "bench-sdk"
            min = "{versions[0]}"
            """
        )
    )
    sessions = "\n".join(
        f"""
@nox.session(name="plain-{v}", python="{PY}")
def plain_{v.replace(".", "_")}(session):
    session.install("--index-url", INDEX, "bench-sdk=={v}", "pytest")
    session.run("pytest", "-p", "no:cacheprovider", "tests/test_smoke.py", "-k", "bench")
"""
        for v in versions
    )
    (root / "noxfile_plain.py").write_text(
        f"import nox\n\nINDEX = {index.simple_url!r}\n{sessions}"
    )


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


def results(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (root / ".compat/results").glob("*.json")]


def disk_mb(folder: Path) -> float:
    """Disk blocks used under ``folder``, each hard-linked file counted once."""
    seen, total = set(), 0
    for path in folder.rglob("*"):
        stat = path.lstat()
        if (stat.st_dev, stat.st_ino) not in seen:
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_blocks * 512
    return total / 1e6


def sweep_benchmark(args, tmp: Path, env: dict[str, str]) -> None:
    compat = [sys.executable, "-m", "compat", "run", "--all", "-j", str(args.jobs)]
    with IndexServer(tmp / "index") as index:
        published = releases(args.cells)
        index.add(*published)
        index.add_installed(*TOOLS)
        # Index pages stay fresh for 10 minutes, as PyPI's do; (c) asks again (--refresh).
        warm, root = tmp / "warm", tmp / "project"
        for folder in (warm, root):
            make_project(folder, index, [r.version for r in published])
        # Warm uv's and pip's caches in another folder: the first sweep below pays no download.
        timed(compat, warm, env)
        timed([sys.executable, "-m", "nox", "-f", "noxfile_plain.py"], warm, env)

        first = timed(compat, root, env)
        cells = results(root)
        plain = timed([sys.executable, "-m", "nox", "-f", "noxfile_plain.py"], root, env)
        second = timed([*compat, "--audit", "0"], root, env)
        reused = [
            r
            for r in results(root)
            if r["started"] == next(c["started"] for c in cells if c["session"] == r["session"])
        ]
        index.add(*releases(1, start=args.cells))  # a new release of the newest series
        before = {r["session"]: r["started"] for r in results(root)}
        after_release = timed([*compat, "--refresh"], root, env)
        ran = [r["session"] for r in results(root) if before.get(r["session"]) != r["started"]]
        rerun = timed([*compat, "--rerun"], root, env)
        warm_cells = results(root)
        audited = timed(compat, root, env)  # the default: one reusable cell is run again
        venv = next((root / ".compat/venvs").iterdir())
        own = recording_cost(venv / "bin/python", root, ["tests/test_smoke.py"], env)
        compat_disk = disk_mb(root / ".compat/venvs")
        plain_disk = disk_mb(root / ".nox")

    overheads = [r["duration_s"] - (r.get("pytest_s") or 0.0) for r in warm_cells]
    n = len(cells)
    print(f"machine: {os.cpu_count()} cores, Python {PY}; {n} cells, jobs={args.jobs}")
    print(f"(a) first sweep, nox-compat + uv:      {first:7.2f} s  ({first / n:.2f} s/cell)")
    print(f"    hand-kept (plain nox, venv + pip):  {plain:7.2f} s  ({plain / n:.2f} s/cell)")
    print(f"    speed-up (hand-kept / first):       {plain / first:7.2f}x")
    print(f"(b) second sweep, nothing changed:      {second:7.2f} s  ({len(reused)}/{n} unchanged)")
    print(f"    full sweep, warm environments:      {rerun:7.2f} s  (--rerun)")
    print(f"    speed-up (warm full / unchanged):   {rerun / second:7.2f}x   (goal >= 10x)")
    print(f"    with the default audit (1 cell):    {audited:7.2f} s  ({rerun / audited:.2f}x)")
    print(
        f"(c) after one new release:              {after_release:7.2f} s  ran {len(ran)} of {len(before)} cells: {', '.join(sorted(ran))}"
    )
    print(
        f"(d) per-cell overhead over pytest, warm (--rerun, {rerun:.2f} s): median "
        f"{statistics.median(overheads):.2f} s, max {max(overheads):.2f} s   (goal: median <= 0.3 s)"
    )
    print(f"(e) disk of the environments:           nox-compat {compat_disk:7.1f} MB vs hand-kept {plain_disk:7.1f} MB "
          f"({plain_disk / compat_disk:.1f}x less)")  # fmt: skip
    print_recording("(g) recording what the tests read, bench project", own)
    repo = Path(__file__).resolve().parent.parent
    venvs = sorted((repo / ".compat/venvs").glob("openai-latest-*"))
    if venvs:
        cost = recording_cost(
            venvs[0] / "bin/python", repo, ["tests/integration/test_smoke.py", "-k", "openai"], env
        )
        print_recording("    this repository's openai smoke tests", cost)
    else:
        print("    this repository's smoke tests: run `nox -s matrix` first to measure them")


def recording_cost(
    python: Path, root: Path, tests: list[str], env: dict[str, str], repeat: int = 15
):
    """Medians of pytest's wall time in a cell's virtualenv, with and without the recorder."""
    plugin = Path(__file__).resolve().parent.parent / "compat/_plugin"
    base = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as tox runs pytest
    base["PYTHONPATH"] = str(plugin)
    command = [str(python), "-m", "pytest", "-p", "compat_pytest_plugin", "-p", "no:cacheprovider",
               "-q", *tests]  # fmt: skip
    plain, recorded = [], []
    with tempfile.TemporaryDirectory() as logs:
        on = {**base, "COMPAT_INPUTS": logs}
        timed(command, root, base)  # bytecode written once, for both
        for _ in range(repeat):
            plain.append(timed(command, root, base))
            recorded.append(timed(command, root, on))
    return statistics.median(plain), statistics.median(recorded)


def print_recording(title: str, cost: tuple[float, float]) -> None:
    plain, recorded = cost
    extra = (recorded - plain) / plain * 100
    print(f"{title}: pytest {plain:.3f} s, with the recording {recorded:.3f} s "
          f"({extra:+.1f}%; goal <= 5%)")  # fmt: skip


def scale_benchmark(args, tmp: Path, env: dict[str, str]) -> None:
    with IndexServer(tmp / "scale-index") as index:
        wheel = pkgindex.build_wheel(tmp / "w", Release("dummy", "1.0"))
        names = [f"pkg{i:02d}" for i in range(args.packages)]
        for name in names:  # page sizes like those of popular packages on PyPI
            files = index._projects.setdefault(name, {})
            for major in range(1, 7):
                for minor in range(10):
                    for patch in range(5):
                        version = f"{major}.{minor}.{patch}"
                        for filename in (
                            f"{name}-{version}-py3-none-any.whl",
                            f"{name}-{version}-cp311-cp311-manylinux_2_17_x86_64.whl",
                            f"{name}-{version}.tar.gz",
                        ):
                            files[filename] = pkgindex._File(
                                filename, wheel, "0" * 64, 1000, version, ">=3.8", False,
                                "2025-01-01T00:00:00.000000Z",
                            )  # fmt: skip
        root = tmp / "scale"
        (root / "tests/integration").mkdir(parents=True)
        (root / "tests/integration/test_smoke.py").write_text("")
        deps = ",".join(f'"{n}>=1.0.0"' for n in names)
        (root / "pyproject.toml").write_text(
            f'[project]\nname="x"\nversion="1"\ndependencies=[{deps}]\n'
        )
        (root / "compat.toml").write_text(
            f'[settings]\npython=["3.11","3.12"]\nindex-url="{index.simple_url}"\n'
            + "".join(f'[integrations.{n}]\npackage="{n}"\n' for n in names)
        )
        lint = "@nox.session(python=False)\ndef lint(session):\n    pass\n"
        (root / "noxfile.py").write_text(
            f"import nox\nimport compat.nox\n\ncompat.nox.register()\n\n{lint}"
        )
        (root / "noxfile_bare.py").write_text(f"import nox\n\n{lint}")

        def median(command: list[str]) -> float:
            return statistics.median(timed(command, root, env) for _ in range(5))

        cold = timed([sys.executable, "-m", "compat", "plan"], root, env)
        cells = len(json.loads(subprocess.run(
            [sys.executable, "-m", "compat", "plan", "--format", "json"], cwd=root, env=env,
            capture_output=True, text=True, check=True).stdout))  # fmt: skip
        bare = median([sys.executable, "-m", "nox", "-f", "noxfile_bare.py", "-l"])
        listing = median([sys.executable, "-m", "nox", "-l"])
        plan = median([sys.executable, "-m", "compat", "plan"])
        lint_session = median([sys.executable, "-m", "nox", "-s", "lint"])
    print(
        f"(f) start-up at scale: {args.packages} packages, {cells} cells; first `compat plan` {cold:.2f} s"
    )
    print(f"    bare `nox -l`:  {bare:.2f} s")
    print(
        f"    `nox -l`:       {listing:.2f} s   (+{listing - bare:.2f} s over bare nox; goal <= 0.5 s)"
    )
    print(f"    `nox -s lint`:  {lint_session:.2f} s   (+{lint_session - bare:.2f} s)")
    print(f"    `compat plan`:  {plan:.2f} s   (+{plan - bare:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--packages", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "COMPAT_CACHE_DIR": f"{tmp}/cache",
               "UV_CACHE_DIR": f"{tmp}/uv-cache", "PIP_CACHE_DIR": f"{tmp}/pip-cache",
               "PIP_FIND_LINKS": "", "PIP_CONSTRAINT": "", "PIP_CONFIG_FILE": os.devnull,
               "NOX_DEFAULT_VENV_BACKEND": "virtualenv"}  # fmt: skip
        sweep_benchmark(args, tmp, env)
        scale_benchmark(args, tmp, env)


if __name__ == "__main__":
    main()
