"""The targeted API diff of a new release, as the upstream check uses it: against the newest
version that passed in the stored results (else the release before), over the integration's
tests and ``file``. It always leaves a trace: its findings, "no breakage in N uses", or why it
was skipped or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from compat.apidiff.dists import top_level_names, unpacked
from compat.apidiff.model import ApiDiffError, Breakage
from compat.index import IndexClient
from compat.upstream.score import Signal
from compat.uses import collect, segments


@dataclass
class ApiTrace:
    """What the API diff said about one release."""

    status: str  # "broken" | "clean" | "skipped" | "failed"
    summary: str  # one line, e.g. "API diff against 1.0.0: no breakage in 12 uses"
    baseline: str | None = None
    uses: int = 0
    breakages: list[Breakage] = field(default_factory=list)

    def signals(self) -> list[Signal]:
        """``high`` for certain breakages, ``medium`` for possible ones, else a ``low`` trace."""
        out = []
        for rank, level in (("certain", "high"), ("possible", "medium")):
            hits = [b for b in self.breakages if b.rank == rank]
            if hits:
                lines = tuple(f"{b.message} (used at {', '.join(b.used_at)})" for b in hits)
                reason = (
                    f"API diff against {self.baseline}: {len(hits)} {rank} breakage(s) "
                    f"in what you use"
                )
                out.append(Signal(level, reason, lines))
        return out or [Signal("low", self.summary)]

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "summary": self.summary,
            "baseline": self.baseline,
            "uses": self.uses,
            "breakages": [b.to_dict() for b in self.breakages],
        }


def api_trace(
    client: IndexClient, package: str, baseline: Version | None, version: Version, files: list[Path]
) -> ApiTrace:
    """The targeted diff of ``package`` from ``baseline`` to ``version`` over ``files``."""
    if not files:
        return ApiTrace("skipped", "API diff skipped: no tests or file of this integration exist")
    if baseline is None:
        return ApiTrace("skipped", "API diff skipped: no earlier release to compare with")
    from compat.apidiff.diff import targeted_diff  # griffe: only when there is something new

    try:
        diff = targeted_diff(client, package, str(baseline), str(version), files)
    except ApiDiffError as exc:
        return ApiTrace("failed", f"API diff against {baseline} failed: {exc}", str(baseline))
    if not diff.uses_checked:
        return ApiTrace("skipped", f"API diff skipped: the tests use nothing of {package}")
    uses = f"{diff.uses_checked} use{'s' if diff.uses_checked != 1 else ''}"
    if not diff.breakages:
        summary = f"API diff against {baseline}: no breakage in {uses}"
        return ApiTrace("clean", summary, str(baseline), diff.uses_checked)
    summary = f"API diff against {baseline}: {len(diff.breakages)} finding(s) in {uses}"
    return ApiTrace("broken", summary, str(baseline), diff.uses_checked, diff.breakages)


def used_names(client: IndexClient, package: str, version: Version, files: list[Path]):
    """The identifiers ``files`` use of ``package`` (``OpenAI``, ``create``, keywords passed),
    for matching release notes; None when they cannot be read."""
    if not files:
        return None
    try:
        roots = top_level_names(unpacked(client, package, str(version)))
        uses = collect(files, roots)
    except (ApiDiffError, OSError, SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for use in uses:
        if use.kind == "method":
            continue
        names.update(s for s in segments(use.path)[1:] if s != "()")
        names.update(use.keywords)
    return frozenset(names)
