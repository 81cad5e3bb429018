"""Benchmark: a nox-compat sweep against plain nox (virtualenv + pip), same cells, same run.

Builds a local index with an invented package (12+ releases), then runs the same
cells twice: once with ``compat run --all -j N`` (uv virtualenvs, in parallel),
once as plain nox sessions run one after another with nox's default
virtualenv+pip backend. Prints both times, their ratio, and the per-cell
overhead of the sweep (cell time minus pytest's own time).

    python benchmarks/sweep.py [--cells 12] [--jobs 2]
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

from pkgindex import IndexServer, Release  # noqa: E402

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
TOOLS = ("pytest", "pluggy", "iniconfig", "packaging", "pygments")
SMOKE = "import bench_sdk\n\n\ndef test_bench_greet():\n    assert bench_sdk.greet() == 'hi'\n"


def releases(count: int) -> list[Release]:
    """``count`` releases over two majors, so the policy selects one cell per release."""
    body = "def greet():\n    return 'hi'\n"
    versions = [f"{1 + i // 8}.{i % 8}.0" for i in range(count)]
    return [Release("bench-sdk", v, modules={"bench_sdk/__init__.py": body}) for v in versions]


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
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, IndexServer(Path(tmp) / "index") as index:
        published = releases(args.cells)
        index.add(*published)
        index.add_installed(*TOOLS)
        root = Path(tmp) / "project"
        make_project(root, index, [r.version for r in published])
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "COMPAT_CACHE_DIR": f"{tmp}/cache",
               "UV_CACHE_DIR": f"{tmp}/uv-cache", "PIP_CACHE_DIR": f"{tmp}/pip-cache",
               "PIP_INDEX_URL": index.simple_url, "PIP_FIND_LINKS": "", "PIP_CONSTRAINT": ""}  # fmt: skip
        # Warm both caches once so that neither side pays first downloads in the timing.
        timed([sys.executable, "-m", "compat", "run", "--all", "-j", str(args.jobs)], root, env)
        timed([sys.executable, "-m", "nox", "-f", "noxfile_plain.py"], root, env)

        sweep = timed(
            [sys.executable, "-m", "compat", "run", "--all", "-j", str(args.jobs)], root, env
        )
        plain = timed([sys.executable, "-m", "nox", "-f", "noxfile_plain.py"], root, env)
        results = [json.loads(p.read_text()) for p in (root / ".compat/results").glob("*.json")]

    overheads = [r["duration_s"] - r.get("pytest_s", 0.0) for r in results]
    print(f"cells:                         {len(results)} (jobs={args.jobs}, Python {PY})")
    print(f"plain nox, virtualenv+pip:     {plain:7.2f} s  ({plain / len(results):.2f} s/cell)")
    print(f"nox-compat sweep, uv:          {sweep:7.2f} s  ({sweep / len(results):.2f} s/cell)")
    print(f"speed-up (plain / sweep):      {plain / sweep:7.2f}x")
    print(f"per-cell overhead (cell - pytest): median {statistics.median(overheads):.2f} s, "
          f"max {max(overheads):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
