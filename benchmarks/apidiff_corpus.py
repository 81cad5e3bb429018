"""Benchmark: how far `compat apidiff --uses` can be trusted, on real releases from PyPI.

Needs the network the first time (opt-in, like the tests marked ``network``): it downloads
real releases. The corpus (``benchmarks/apidiff_corpus/pairs.toml``) lists release pairs of
widely used packages — breaking and safe, patch, minor and major — each with a small client
module whose ``check_*`` functions use the package without the network. For every pair:

* the ground truth: both releases are installed in uv virtualenvs and every check is run
  against each; a check *breaks* when it passes on the old release and fails on the new;
* the prediction: ``targeted_diff`` of the two releases against the client module; a finding
  counts for the check whose body holds its ``file:line`` (a module-level line counts for
  every check, as a failing import fails them all).

It prints one line per pair, then precision and recall of ``certain`` and of ``certain or
possible`` per check and per pair, and the full-mode findings shown and hidden on the safe
pairs. Wheels, virtualenvs and verdicts are cached (``--cache``), so reruns take seconds and
``--offline`` works once the cache is warm.

    python benchmarks/apidiff_corpus.py [--cache DIR] [--offline] [--only PACKAGE…] [--record]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from packaging.version import Version

from compat.index import IndexClient, default_cache_dir

HERE = Path(__file__).resolve().parent / "apidiff_corpus"
_SITE = re.compile(r"/\S*/site-packages/")  # local virtualenv paths in recorded errors
PYPI = "https://pypi.org/simple"

# Runs inside the virtualenv: imports the client, runs each check, prints {check: outcome}.
RUNNER = """
import ast, importlib.util, json, sys, warnings
warnings.simplefilter("ignore")
path = sys.argv[1]
checks = [n.name for n in ast.parse(open(path).read()).body
          if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")]
spec = importlib.util.spec_from_file_location("client", path)
module = importlib.util.module_from_spec(spec)
try:
    spec.loader.exec_module(module)
except BaseException as exc:
    print(json.dumps({c: f"import: {type(exc).__name__}: {exc}"[:300] for c in checks}))
    sys.exit(0)
out = {}
for name in checks:
    try:
        getattr(module, name)()
        out[name] = "ok"
    except BaseException as exc:
        out[name] = f"{type(exc).__name__}: {exc}"[:300]
print(json.dumps(out))
"""


@dataclass
class Pair:
    package: str
    old: str
    new: str
    client: Path
    python: str = "3.11"
    requires: list[str] = field(default_factory=list)
    breaks: list[str] = field(default_factory=list)
    held_out: bool = False  # added after the engine was tuned on the others

    @property
    def name(self) -> str:
        return f"{self.package} {self.old} → {self.new}"

    @property
    def jump(self) -> str:
        old, new = Version(self.old), Version(self.new)
        if new.major != old.major or (old.major == 0 and new.minor != old.minor):
            return "major"
        return "minor" if new.minor != old.minor else "patch"


@dataclass
class Outcome:
    pair: Pair
    truth: dict[str, bool]  # check -> breaks
    invalid: dict[str, str]  # checks failing on the old release: corpus errors
    certain: set[str]  # checks with a certain finding
    flagged: set[str]  # checks with a certain or possible finding
    seconds: float
    uses: int
    messages: list[str]


def load_pairs(only: list[str] | None) -> list[Pair]:
    data = tomllib.loads((HERE / "pairs.toml").read_text(encoding="utf-8"))
    pairs = []
    for item in data["pair"]:
        item = dict(item, client=HERE / "clients" / item["client"])
        if not only or item["package"] in only:
            pairs.append(Pair(**item))
    return pairs


# -- ground truth ------------------------------------------------------------------------------


def run_checks(pair: Pair, version: str, cache: Path, offline: bool) -> dict[str, str]:
    """Each check's outcome (``ok`` or the error) with ``package==version`` installed."""
    reqs = [f"{pair.package}=={version}", *pair.requires]
    env_key = _digest(pair.python, *reqs)
    key = _digest(env_key, pair.client.read_text(encoding="utf-8"), RUNNER)
    answer = cache / "truth" / f"{key}.json"
    if answer.exists():
        return json.loads(answer.read_text(encoding="utf-8"))
    venv = cache / "venvs" / f"{pair.package}-{version}-py{pair.python}-{env_key[:10]}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        flags = ["--offline"] if offline else []
        _uv("venv", "--quiet", "--clear", "--python", pair.python, str(venv), *flags)
        _uv("pip", "install", "--quiet", "--python", str(python), *reqs, *flags)
        (venv / ".complete").touch()
    env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    done = subprocess.run(
        [str(python), "-c", RUNNER, str(pair.client)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cache,
    )
    if done.returncode != 0:
        raise SystemExit(f"{pair.name}: the runner failed on {version}:\n{done.stderr[-2000:]}")
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    answer.parent.mkdir(parents=True, exist_ok=True)
    answer.write_text(json.dumps(outcome, indent=1), encoding="utf-8")
    return outcome


def _uv(*args: str) -> None:
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never")
    done = subprocess.run(["uv", *args], capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"uv {' '.join(args)} failed:\n{done.stderr[-2000:]}")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


# -- prediction --------------------------------------------------------------------------------


def check_spans(client: Path) -> dict[str, tuple[int, int]]:
    tree = ast.parse(client.read_text(encoding="utf-8"))
    return {
        node.name: (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")
    }


def checks_at(where: str, spans: dict[str, tuple[int, int]]) -> set[str]:
    line = int(where.rsplit(":", 1)[1])
    inside = {name for name, (start, end) in spans.items() if start <= line <= end}
    return inside or set(spans)  # a module-level use: every check depends on it


def evaluate(pair: Pair, index: IndexClient, cache: Path, offline: bool) -> Outcome:
    from compat.apidiff.diff import targeted_diff

    old = run_checks(pair, pair.old, cache, offline)
    new = run_checks(pair, pair.new, cache, offline)
    invalid = {c: outcome for c, outcome in old.items() if outcome != "ok"}
    truth = {c: new.get(c) != "ok" for c in old if c not in invalid}
    start = time.perf_counter()
    result = targeted_diff(index, pair.package, pair.old, pair.new, [pair.client])
    seconds = time.perf_counter() - start
    spans = check_spans(pair.client)
    certain: set[str] = set()
    flagged: set[str] = set()
    for item in result.breakages:
        hit = set().union(*(checks_at(w, spans) for w in item.used_at))
        flagged |= hit
        if item.rank == "certain":
            certain |= hit
    messages = [f"{b.rank}: {b.message}" for b in result.breakages]
    return Outcome(pair, truth, invalid, certain, flagged, seconds, result.uses_checked, messages)


# -- scoring -----------------------------------------------------------------------------------


def ratio(hits: int, total: int) -> str:
    return f"{hits / total:6.1%} ({hits}/{total})" if total else "     - (0/0)"


def score(outcomes: list[Outcome], which: str) -> tuple[str, str, str, str]:
    """Precision and recall of ``which`` ("certain" or "flagged"), per check and per pair."""
    tp = fp = fn = 0
    pair_tp = pair_fp = pair_fn = 0
    for o in outcomes:
        predicted = getattr(o, which)
        for check, breaks in o.truth.items():
            tp += breaks and check in predicted
            fp += not breaks and check in predicted
            fn += breaks and check not in predicted
        breaking = any(o.truth.values())
        said = bool(predicted & set(o.truth))
        pair_tp += breaking and said
        pair_fp += not breaking and said
        pair_fn += breaking and not said
    return (
        ratio(tp, tp + fp),
        ratio(tp, tp + fn),
        ratio(pair_tp, pair_tp + pair_fp),
        ratio(pair_tp, pair_tp + pair_fn),
    )


def print_scores(outcomes: list[Outcome]) -> None:
    print(f"{'':<20} {'precision/check':>18} {'recall/check':>18} "
          f"{'precision/pair':>18} {'recall/pair':>18}")  # fmt: skip
    for label, which in (("certain", "certain"), ("certain or possible", "flagged")):
        print(f"{label:<20} " + " ".join(f"{cell:>18}" for cell in score(outcomes, which)))


def full_mode_noise(pairs: list[Pair], index: IndexClient) -> list[str]:
    """Full-mode findings shown and hidden on the safe pairs."""
    from compat.apidiff.diff import full_diff

    lines = []
    for pair in pairs:
        result = full_diff(index, pair.package, pair.old, pair.new)
        shown = result.breakages
        certain = sum(b.rank == "certain" for b in shown)
        lines.append(
            f"  {pair.name:<34} shown {len(shown):>3} ({certain} certain), "
            f"hidden {len(result.hidden):>4}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=default_cache_dir() / "apidiff-corpus")
    parser.add_argument("--offline", action="store_true", help="use only what is cached")
    parser.add_argument("--only", nargs="+", metavar="PACKAGE", help="only these packages")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every finding")
    parser.add_argument("--no-full", action="store_true", help="skip the full-mode noise table")
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the observed truth to apidiff_corpus/truth.json",
    )
    args = parser.parse_args()
    index = IndexClient(PYPI, offline=args.offline)
    pairs = load_pairs(args.only)
    outcomes = []
    print(f"{'pair':<36} {'jump':<6} {'checks':>6} {'breaks':>6} {'certain':>8} "
          f"{'flagged':>8} {'uses':>5} {'time':>6}")  # fmt: skip
    for pair in pairs:
        o = evaluate(pair, index, args.cache, args.offline)
        outcomes.append(o)
        broken = {c for c, b in o.truth.items() if b}
        mark = "" if broken == set(pair.breaks) else f"  (corpus expected {sorted(pair.breaks)})"
        good_certain = len(o.certain & broken)
        false_certain = len(o.certain - broken)
        print(
            f"{pair.name:<36} {pair.jump:<6} {len(o.truth):>6} {len(broken):>6} "
            f"{good_certain:>3}{'+' + str(false_certain) + '!' if false_certain else '':<5}"
            f"{len(o.flagged & broken):>4}/{len(o.flagged - broken):<3} {o.uses:>5} "
            f"{o.seconds:>5.1f}s{mark}"
        )
        for check, error in o.invalid.items():
            print(f"    corpus error: {check} fails on {pair.old}: {error}")
        if args.verbose:
            for check in sorted(broken):
                print(f"    breaks: {check}: {_new_error(pair, check, args)}")
            for message in o.messages:
                print(f"    {message}")
    print()
    print(f"{len(pairs)} pairs, {sum(len(o.truth) for o in outcomes)} checks, "
          f"{sum(sum(o.truth.values()) for o in outcomes)} of them break")  # fmt: skip
    print_scores(outcomes)
    held_out = [o for o in outcomes if o.pair.held_out]
    if held_out and len(held_out) < len(outcomes):
        print(f"\nheld-out pairs only ({len(held_out)}):")
        print_scores(held_out)
    safe_with_certain = [o.pair.name for o in outcomes if not any(o.truth.values()) and o.certain]
    print(f"safe pairs with a certain finding: {len(safe_with_certain)} {safe_with_certain or ''}")
    times = sorted(o.seconds for o in outcomes)
    print(f"targeted diff time: median {times[len(times) // 2]:.2f}s, max {times[-1]:.2f}s")
    if not args.no_full:
        safe = [o.pair for o in outcomes if not any(o.truth.values())]
        print("\nfull mode on the safe pairs:")
        print("\n".join(full_mode_noise(safe, index)))
    if args.record:
        record(outcomes, args)
    return 0


def _new_error(pair: Pair, check: str, args: argparse.Namespace) -> str:
    return run_checks(pair, pair.new, args.cache, args.offline).get(check, "?")


def record(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    """The observed ground truth, for review: each check's error on the new release."""
    data = {
        o.pair.name: {
            check: _SITE.sub("site-packages/", _new_error(o.pair, check, args))
            if breaks
            else "works"
            for check, breaks in o.truth.items()
        }
        for o in outcomes
    }
    path = HERE / "truth.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
