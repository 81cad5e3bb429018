"""Fault injection: signals to real sweeps, two sweeps at once, steps that leave processes
behind or print without end. Nothing finished is lost, nothing keeps running."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pkgindex import IndexServer
from test_verdicts import PY, acme, project

FAST = "import acme_sdk\n\n\ndef test_acme():\n    assert acme_sdk.greet() == 'hi'\n"
SLOW = (
    "import time\n\nimport acme_sdk\n\n\ndef test_acme():\n"
    "    if acme_sdk.__name__ and getattr(acme_sdk, 'SLOW', False):\n        time.sleep(120)\n"
)


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    index_server.add_installed("pytest", "pluggy", "iniconfig", "packaging", "pygments")
    return index_server


def compat(root: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "compat", *args, "--config", str(root / "compat.toml")],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,
    )  # fmt: skip


def leftovers(root: Path) -> str:
    found = subprocess.run(["pgrep", "-af", str(root / ".compat")], capture_output=True, text=True)
    return found.stdout.strip()


def wait_for(path: Path, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.1)


def slow_matrix(tmp_path: Path, index: IndexServer) -> Path:
    index.add(
        acme("1.0.0"),
        *(acme(f"1.{m}.0", "SLOW = True\ndef greet():\n    return 'hi'\n") for m in (1, 2, 3)),
    )
    return project(tmp_path / "p", index, tests={"tests/test_acme.py": SLOW})


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_sweep_and_keeps_what_finished(index, tmp_path, signum, code) -> None:
    root = slow_matrix(tmp_path, index)
    proc = compat(root, "run", "--all", "-j", "2")
    wait_for(root / f".compat/results/compat-acme-min-{PY}.json")
    time.sleep(1.0)  # the slow cells are in their tests now
    started = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert time.monotonic() - started < 10
    assert "interrupted" in err and "Traceback" not in err
    results = sorted(p.name for p in (root / ".compat/results").glob("*.json"))
    assert results == [f"compat-acme-min-{PY}.json"]  # the finished one, and nothing else
    assert (
        json.loads((root / f".compat/results/compat-acme-min-{PY}.json").read_text())["status"]
        == "passed"
    )
    time.sleep(0.5)
    assert leftovers(root) == ""


def test_nox_matrix_interrupted_renders_no_page(index, tmp_path) -> None:
    root = slow_matrix(tmp_path, index)
    (root / "noxfile.py").write_text("import compat.nox\n\ncompat.nox.register()\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nox", "-s", "matrix", "--", "-j", "2"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for(root / f".compat/results/compat-acme-min-{PY}.json")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert not (root / "docs/compatibility-matrix.md").exists()
    time.sleep(0.5)
    assert leftovers(root) == ""


def test_two_sweeps_at_once(index, tmp_path) -> None:
    index.add(acme("1.0.0"), acme("1.1.0"), acme("1.2.0"))
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": FAST})
    first, second = compat(root, "run", "--all", "-j", "2"), compat(root, "run", "--all", "-j", "2")
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    for path in (root / ".compat/results").glob("*.json"):
        assert json.loads(path.read_text())["status"] == "passed"
    # Every later run still works: no half-made virtualenv was left behind.
    again = compat(root, "run", "--all", "--rerun")
    assert again.wait(timeout=300) == 0


def test_a_step_leaving_a_process_behind_is_cleaned_up(index, tmp_path) -> None:
    index.add(acme("1.0.0"))
    test = (
        "import subprocess\n\n\ndef test_acme():\n"
        "    subprocess.Popen(['sleep', '31.5'])  # holds the output pipe, never waited for\n"
    )
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": test})
    proc = compat(root, "run", "compat-acme-min")
    proc.communicate(timeout=120)
    result = json.loads((root / f".compat/results/compat-acme-min-{PY}.json").read_text())
    assert result["status"] == "passed" and result["pytest_s"] is not None
    assert (
        result["pytest_s"] < 4
    )  # the test step (pytest, then its leftovers killed): no 5 s stall on the pipe
    alive = subprocess.run(["pgrep", "-f", "sleep 31.5"], capture_output=True, text=True)
    assert alive.stdout == ""


def test_endless_output_keeps_a_bounded_tail(index, tmp_path) -> None:
    index.add(acme("1.0.0"))
    test = (
        "import sys\n\n\ndef test_acme():\n"
        "    line = 'x' * 999 + '\\n'\n"
        "    for _ in range(300_000):\n        sys.stdout.write(line)\n"
        "    assert False, 'the end'\n"
    )
    root = project(tmp_path / "p", index, tests={"tests/test_acme.py": test})
    script = (
        "import resource, sys\n"
        "from compat.cli import main\n"
        f"main(['run', 'compat-acme-min', '--config', {str(root / 'compat.toml')!r}])\n"
        "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTEST_ADDOPTS": "-s"},
    )  # fmt: skip
    peak_mb = int(done.stderr.rsplit("peak", 1)[1].split()[0]) / 1024
    assert peak_mb < 150, done.stderr[-2000:]  # 300 MB went through the pipe
    result = json.loads((root / f".compat/results/compat-acme-min-{PY}.json").read_text())
    assert result["status"] == "failed" and len(result["log_tail"]) < 100_000


STEP = """
import os, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from compat import procs
from compat.errors import Interrupted

where, tag = sys.argv[1], sys.argv[2]


def step():
    procs.run(["sleep", tag], cwd=Path("."), env=dict(os.environ),
              deadline=time.monotonic() + 60, doing="sleeping")


def announce():
    while not procs._running:
        time.sleep(0.001)
    print("ready", flush=True)


try:
    with procs.interruptible():
        threading.Thread(target=announce, daemon=True).start()
        if where == "worker":  # as in a sweep: the main thread waits for the cells
            with ThreadPoolExecutor(1) as pool:
                pool.submit(step).result()
        else:  # as in a nox session: the main thread runs the step itself
            step()
except Interrupted as exc:
    sys.exit(exc.exit_code)
"""


@pytest.mark.parametrize("where", ["worker", "main"])
def test_sigint_then_sigterm_in_the_same_instant_stops_at_once(tmp_path, where) -> None:
    """The race a lock in the handler lost: SIGTERM arriving while SIGINT's handler runs.
    Many trials, each with the two signals a few microseconds apart."""
    script = tmp_path / "step.py"
    script.write_text(STEP)
    rng = random.Random(17)
    slow = []
    for trial in range(40):
        tag = f"30.{os.getpid()}{trial:03d}"  # the sleep's own argument: found and cleaned up
        proc = subprocess.Popen(
            [sys.executable, str(script), where, tag],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.random() * 0.01)
        os.kill(proc.pid, signal.SIGINT)
        spin = time.perf_counter() + rng.random() * 0.0002
        while time.perf_counter() < spin:
            pass
        os.kill(proc.pid, signal.SIGTERM)
        started = time.monotonic()
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "hung"
        proc.stdout.close()
        took = time.monotonic() - started
        # 130: the first signal stopped it; -SIGTERM: the second one came after the block ended
        if code not in (130, 143, -signal.SIGTERM) or took > 2:
            slow.append((trial, code, round(took, 2)))
        alive = subprocess.run(["pkill", "-f", f"sleep {tag}"], capture_output=True)
        if alive.returncode == 0:
            slow.append((trial, "left its step running"))
    assert slow == []


def test_a_double_signal_to_a_real_sweep(index, tmp_path) -> None:
    root = slow_matrix(tmp_path, index)
    proc = compat(root, "run", "--all", "-j", "2")
    wait_for(root / f".compat/results/compat-acme-min-{PY}.json")
    time.sleep(1.0)  # the slow cells are in their tests now
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode in (130, 143, -signal.SIGTERM), err
    assert time.monotonic() - started < 10
    assert "Traceback" not in err
    results = sorted(p.name for p in (root / ".compat/results").glob("*.json"))
    assert results == [f"compat-acme-min-{PY}.json"]
    time.sleep(0.5)
    assert leftovers(root) == ""
